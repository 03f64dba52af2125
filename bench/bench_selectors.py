"""Time every selector at n = 100 000, d = 1024 and compare GTP (CoSaMP) with GradMatch (OMP).

Usage: python bench/bench_selectors.py [--n 100000 --d 1024 --k-frac 0.1 --omp-k 100 --only d2,kcenter]

Every selector of the one table (prune_core/select/registry.py) is timed with its declared parameters.
Synthetic data (seeded): features from a Gaussian mixture (10 components, float32), labels = the
component, difficulty scores = distance to the own component centre plus noise (keep-scores: the
same), target = the mean feature row (the "full-data gradient" of in-domain selection), validation =
1 000 rows of the features with their labels, influence vectors = the features.
Prints one row per selector (seconds, k, realised size, pass/fail against the 30 s target), the
k-means engine against sklearn, then CoSaMP vs OMP at the same k: the time ratio (target >= 10x) and
both relative residuals ||A w - b|| / ||b|| (target: comparable). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from prune_core.select import (  # noqa: E402
    SELECTORS,
    cosamp_nnls,
    d2,
    distributed_cosamp,
    facility_location,
    kmeans,
    knn_graph,
    label_balanced,
    nn_omp,
    on_subset,
    top_k,
)
from prune_core.select._knn import amx_available, resolve_precision  # noqa: E402

TARGET_SECONDS = 30.0


def synthetic(n: int, d: int, seed: int, components: int = 10) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((components, d)).astype(np.float32)
    labels = rng.integers(0, components, n)
    features = np.empty((n, d), dtype=np.float32)
    for start in range(0, n, 10_000):
        block = slice(start, start + 10_000)
        noise = rng.standard_normal((len(labels[block]), d), dtype=np.float32)
        features[block] = 0.5 * centres[labels[block]] + noise
    distance = np.linalg.norm(features - 0.5 * centres[labels], axis=1)
    scores = distance + 0.1 * rng.standard_normal(n)
    return {
        "features": features,
        "labels": labels,
        "scores": scores,
        "difficulty": scores,
        "target": features.mean(axis=0, dtype=np.float64),
        "validation": features[:1000],
        "validation_labels": labels[:1000],
        "influence": features,
    }


def timed(call):
    start = time.perf_counter()
    result = call()
    return time.perf_counter() - start, result


def row(name: str, seconds: float, k: int, size: int, note: str = "") -> None:
    verdict = "pass" if seconds <= TARGET_SECONDS else "FAIL"
    print(f"{name:<26}{seconds:>9.2f}{k:>9}{size:>10}   {verdict:<5} {note}", flush=True)


def relative_residual(
    features: np.ndarray, target: np.ndarray, indices: np.ndarray, weights: np.ndarray
) -> float:
    fit = features[indices].T.astype(np.float64) @ weights
    return float(np.linalg.norm(fit - target) / np.linalg.norm(target))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--d", type=int, default=1024)
    parser.add_argument("--k-frac", type=float, default=0.1)
    parser.add_argument("--omp-k", type=int, default=100, help="k for the CoSaMP vs OMP comparison")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", default="", help="comma-separated selector names (default: all)")
    args = parser.parse_args()

    data = synthetic(args.n, args.d, args.seed)
    n, k = args.n, max(1, int(args.k_frac * args.n))
    print(f"load average before: {os.getloadavg()[0]:.2f} (other processes share the cores)")
    print(
        f"n = {n}, d = {args.d}, k = {k} ({args.k_frac:.0%}), cpu cores = {os.cpu_count()}, "
        f"torch threads = {torch.get_num_threads()}, AMX bfloat16 = {amx_available()}, "
        f"k-NN precision (auto) = {resolve_precision('auto', n, args.d)}"
    )
    print(f"\n{'selector':<26}{'seconds':>9}{'k':>9}{'realised':>10}   target {TARGET_SECONDS:.0f} s")
    print("-" * 72)

    wanted = [s for s in args.only.split(",") if s] or sorted(SELECTORS)
    for name in wanted:
        info = SELECTORS[name]
        seconds, chosen = timed(
            lambda info=info: info.run(n=n, k=k, seed=args.seed, **{key: data[key] for key in info.inputs})
        )
        row(name, seconds, k, len(chosen), "(nested: top of a score)" if info.kind == "score" else "")
    if not args.only:
        seconds, graph = timed(lambda: knn_graph(data["features"], 10))
        row("knn_graph (m = 10)", seconds, n, graph[0].shape[0], "shared by d2 / craig")
        seconds, chosen = timed(lambda: d2(data["difficulty"], None, k, graph=graph))
        row("d2, graph given", seconds, k, len(chosen), "selection alone")
        seconds, chosen = timed(lambda: facility_location(data["features"], k, graph=graph))
        row("craig, graph given", seconds, k, len(chosen), "selection alone")
        seconds, chosen = timed(lambda: label_balanced(on_subset(top_k, data["scores"]), data["labels"], k))
        row("label_balanced(top_k)", seconds, k, len(chosen))

    print("\nk-means engine (K = 10, 20 iterations)")
    ours, _ = timed(lambda: kmeans(data["features"], 10, seed=args.seed))
    try:
        from sklearn.cluster import KMeans

        engine = KMeans(10, n_init=1, max_iter=20, random_state=args.seed)
        theirs, _ = timed(lambda: engine.fit(data["features"]))
        print(
            f"  prune_core kmeans {ours:.2f} s, sklearn KMeans(n_init=1) {theirs:.2f} s, "
            f"ratio sklearn / ours = {theirs / ours:.2f}"
        )
    except ImportError:
        print(f"  prune_core kmeans {ours:.2f} s (sklearn not installed)")

    rng = np.random.default_rng(args.seed + 1)
    planted = rng.choice(n, args.omp_k, replace=False)
    sparse_target = data["features"][planted].T.astype(np.float64) @ (0.5 + rng.random(args.omp_k))
    sparse_target += 0.01 * np.linalg.norm(sparse_target) / np.sqrt(args.d) * rng.standard_normal(args.d)
    for label, target in (
        ("mean row (in-domain full-data gradient)", data["target"]),
        (f"planted: {args.omp_k} atoms x U(0.5, 1.5) + 1 % noise", sparse_target),
    ):
        compare_pursuits(data["features"], target, args.omp_k, label)
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


def compare_pursuits(features: np.ndarray, target: np.ndarray, k: int, label: str) -> None:
    print(
        f"\nGTP (CoSaMP + NNLS) vs GradMatch (NN-OMP) at k = {k}, same dictionary "
        f"[{features.shape[0]} atoms x {features.shape[1]}], target = {label}"
    )
    print(f"  {'solver':<32}{'seconds':>9}{'rel. residual':>15}{'non-zero w':>12}")
    results = {}
    for name, solver in (
        ("nn_omp (GradMatch)", nn_omp),
        ("cosamp_nnls (GTP)", cosamp_nnls),
        ("distributed_cosamp (4 shards)", distributed_cosamp),
    ):
        seconds, (indices, weights) = timed(lambda solver=solver: solver(features, target, k))
        results[name] = (seconds, relative_residual(features, target, indices, weights))
        print(f"  {name:<32}{seconds:>9.2f}{results[name][1]:>15.4f}{int(np.sum(weights > 0)):>12}")
    (t_omp, r_omp), (t_cos, r_cos) = results["nn_omp (GradMatch)"], results["cosamp_nnls (GTP)"]
    ratio = t_omp / t_cos
    print(
        f"  speed-up OMP / CoSaMP = {ratio:.1f}x (target >= 10x: {'pass' if ratio >= 10 else 'FAIL'}); "
        f"residual CoSaMP / OMP = {r_cos / max(r_omp, 1e-12):.2f}"
    )


if __name__ == "__main__":
    main()
