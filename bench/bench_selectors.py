"""Time every selector and its peak memory at n = 100 000 (or 1 000 000), d = 1024; GTP vs NN-OMP.

Usage: python bench/bench_selectors.py [--n 1000000 --d 1024 --k-frac 0.1 --omp-frac 0.01
                                        --only d2,kcenter --limit 600 --data-dir /tmp/bench-selectors]

Every selector of the one table (prune_core/select/registry.py) runs with its declared parameters in
its own subprocess, which reads the features memory-mapped from ``--data-dir`` (as a run's stored
arrays are read) and reports its seconds and its own peak resident set size (``ru_maxrss``: the
process's high-water mark, memory-mapped pages it touched included). A selector still running after
``--limit`` seconds is stopped and shown as such. Targets (issue 13): <= 5 min each on 2 cores, peak
RSS <= 8 GB.

Synthetic data (seeded): features from a Gaussian mixture (10 components, float32; each row = half its
component's centre + unit Gaussian noise), labels = the component, difficulty scores = distance to the
own component centre plus noise (keep-scores: the same), target = the mean feature row (the
"full-data gradient" of in-domain selection), validation = the first 1 000 rows with their labels,
influence vectors = the features. In this data nearest neighbours sit in 1 024-dimensional isotropic
noise, the hardest case for an approximate k-NN index: the recall row says how hard.

Then the k-NN graph's approximate path (graph.knn_graph above EXACT_MAX_N rows) with its recall against
the exact graph on a sample, and GTP (CoSaMP + NNLS, single and two-round distributed) against
GradMatch's NN-OMP at k = ``--omp-frac`` of n on the mean-row target: seconds, peak RSS and the relative
residual ||A w - b|| / ||b||; the ratio lines carry the target (>= 10x faster at a residual within 1.1x).
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from numpy.lib.format import open_memmap

from prune_core.select import SELECTORS, cosamp_nnls, distributed_cosamp, knn_graph, nn_omp
from prune_core.select._knn import amx_available
from prune_core.select.graph import EXACT_MAX_N

TARGET_SECONDS = 300.0
TARGET_RSS_GB = 8.0
ARRAYS = ("features", "labels", "scores", "target", "validation", "validation_labels")
PURSUITS = {
    "nn_omp (GradMatch)": lambda x, b, k: nn_omp(x, b, k),
    "cosamp_nnls (GTP)": lambda x, b, k: cosamp_nnls(x, b, k),
    "distributed_cosamp (GTP, 4 shards)": lambda x, b, k: distributed_cosamp(x, b, k),
}


def write_synthetic(folder: Path, n: int, d: int, seed: int, components: int = 10) -> None:
    """The benchmark's arrays as .npy files, features written block by block (never whole in memory)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((components, d)).astype(np.float32)
    labels = rng.integers(0, components, n)
    features = open_memmap(folder / "features.npy", mode="w+", dtype=np.float32, shape=(n, d))
    distance = np.empty(n)
    total = np.zeros(d)
    for start in range(0, n, 10_000):
        block = slice(start, start + 10_000)
        noise = rng.standard_normal((len(labels[block]), d), dtype=np.float32)
        features[block] = 0.5 * centres[labels[block]] + noise
        distance[block] = np.linalg.norm(noise, axis=1)
        total += features[block].sum(axis=0, dtype=np.float64)
    scores = distance + 0.1 * rng.standard_normal(n)
    np.save(folder / "validation.npy", np.asarray(features[:1000]))
    features.flush()
    del features
    np.save(folder / "labels.npy", labels)
    np.save(folder / "scores.npy", scores)
    np.save(folder / "target.npy", total / n)
    np.save(folder / "validation_labels.npy", labels[:1000])
    (folder / "shape.json").write_text(json.dumps({"n": n, "d": d, "seed": seed}))


def load(folder: Path) -> dict[str, np.ndarray]:
    data = {name: np.load(folder / f"{name}.npy", mmap_mode="r") for name in ARRAYS}
    data["difficulty"] = data["scores"]
    data["influence"] = data["features"]
    return data


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # Linux reports KiB


def relative_residual(
    features: np.ndarray, target: np.ndarray, indices: np.ndarray, weights: np.ndarray
) -> float:
    fit = np.asarray(features[np.sort(indices)]).T.astype(np.float64) @ weights[np.argsort(indices)]
    return float(np.linalg.norm(fit - target) / np.linalg.norm(target))


def child(args: argparse.Namespace) -> None:
    """One measurement in this process; prints one JSON line."""
    data = load(Path(args.data_dir))
    n = data["features"].shape[0]
    what, name = args.child.split(":", 1)
    start = time.perf_counter()
    out: dict = {}
    if what == "selector":
        info = SELECTORS[name]
        k = max(1, int(args.k_frac * n))
        chosen = info.run(n=n, k=k, seed=args.seed, **{key: data[key] for key in info.inputs})
        out.update(k=k, size=int(len(chosen)))
    elif what == "knn":
        report: dict = {}
        graph = knn_graph(data["features"], 10, report=report)
        out.update(k=10, size=int(graph[0].shape[0]), **report)
        out["seconds_with_recall"] = time.perf_counter() - start
    else:
        k = max(1, int(args.omp_frac * n))
        target = np.asarray(data["target"])
        indices, weights = PURSUITS[name](data["features"], target, k)
        out["seconds"] = time.perf_counter() - start  # the residual check below is not the solver's time
        out.update(
            k=k,
            size=int(len(indices)),
            nonzero=int(np.sum(weights > 0)),
            residual=relative_residual(data["features"], target, indices[: len(weights)], weights),
        )
    out.setdefault("seconds", time.perf_counter() - start)
    out["rss_gb"] = peak_rss_gb()
    print(json.dumps(out), flush=True)


def measure(args: argparse.Namespace, job: str) -> dict:
    command = [
        sys.executable,
        __file__,
        "--child",
        job,
        "--data-dir",
        args.data_dir,
        "--seed",
        str(args.seed),
    ]
    command += ["--k-frac", str(args.k_frac), "--omp-frac", str(args.omp_frac)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=args.limit, check=False)
    except subprocess.TimeoutExpired:
        return {"stopped": True}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        return {"error": (done.stderr.strip().splitlines() or ["no output"])[-1]}
    return json.loads(lines[-1])


def verdict(result: dict, limit: float) -> str:
    if result.get("stopped"):
        return f"> {limit:.0f} s: stopped, FAIL"
    if "error" in result:
        return f"error: {result['error']}"
    ok = result["seconds"] <= TARGET_SECONDS and result["rss_gb"] <= TARGET_RSS_GB
    return "pass" if ok else "FAIL"


def cells(result: dict) -> str:
    if "seconds" not in result:
        return f"{'-':>9}{'-':>9}"
    return f"{result['seconds']:>9.1f}{result['rss_gb']:>9.2f}"


def cpu_flags() -> str:
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    except OSError:
        return "lscpu not available"
    model = next((line.split(":", 1)[1].strip() for line in text.splitlines() if "Model name" in line), "?")
    flags = sorted({word for word in text.split() if word.startswith("amx")})
    return f"{model}; lscpu AMX flags: {' '.join(flags) if flags else 'none'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--d", type=int, default=1024)
    parser.add_argument("--k-frac", type=float, default=0.1, help="budget of the selector rows")
    parser.add_argument("--omp-frac", type=float, default=0.01, help="budget of GTP vs NN-OMP")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", default="", help="comma-separated selector names (default: all)")
    parser.add_argument(
        "--limit", type=float, default=2 * TARGET_SECONDS, help="seconds before a run is stopped"
    )
    parser.add_argument("--data-dir", default="/tmp/bench-selectors")
    parser.add_argument("--child", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    folder = Path(args.data_dir)
    wanted = {"n": args.n, "d": args.d, "seed": args.seed}
    if not (folder / "shape.json").exists() or json.loads((folder / "shape.json").read_text()) != wanted:
        shutil.rmtree(folder, ignore_errors=True)
        started = time.perf_counter()
        write_synthetic(folder, args.n, args.d, args.seed)
        print(f"wrote the synthetic arrays to {folder} in {time.perf_counter() - started:.0f} s")
    n, k = args.n, max(1, int(args.k_frac * args.n))
    print(f"load average before: {os.getloadavg()[0]:.2f} (other processes share the cores)")
    print(f"CPU: {cpu_flags()}; AMX bfloat16 usable by torch: {amx_available()}")
    print(
        f"n = {n}, d = {args.d}, k = {k} ({args.k_frac:.0%}), cpu cores = {os.cpu_count()}, "
        f"torch threads = {torch.get_num_threads()}, exact k-NN up to {EXACT_MAX_N} rows, "
        f"features memory-mapped ({n * args.d * 4 / 2**30:.1f} GB float32)"
    )
    print(f"\n{'selector':<36}{'seconds':>9}{'peak GB':>9}{'realised':>10}   targets <= 300 s, <= 8 GB")
    print("-" * 90)
    names = [s for s in args.only.split(",") if s] or sorted(SELECTORS)
    for name in names:
        result = measure(args, f"selector:{name}")
        size = f"{result['size']:>10}" if "size" in result else f"{'-':>10}"
        print(f"{name:<36}{cells(result)}{size}   {verdict(result, args.limit)}", flush=True)

    result = measure(args, "knn:graph")
    recall = (
        f"recall@10 = {result['recall']:.3f} on a sample"
        if "recall" in result
        else verdict(result, args.limit)
    )
    print(f"{'knn_graph (m = 10, ' + result.get('path', '?') + ')':<36}{cells(result)}{n:>10}   {recall}")

    k_omp = max(1, int(args.omp_frac * n))
    print(
        f"\nGTP vs GradMatch at k = {k_omp} ({args.omp_frac:.0%} of n), target = the mean row, "
        f"dictionary [{n} x {args.d}]"
    )
    print(f"  {'solver':<36}{'seconds':>9}{'peak GB':>9}{'rel. residual':>15}{'non-zero w':>12}")
    results = {}
    for name in PURSUITS:
        results[name] = measure(args, f"pursuit:{name}")
        res = results[name]
        extra = (
            f"{res['residual']:>15.5f}{res['nonzero']:>12}"
            if "residual" in res
            else f"   {verdict(res, args.limit)}"
        )
        print(f"  {name:<36}{cells(res)}{extra}", flush=True)
    omp = results["nn_omp (GradMatch)"]
    for name in ("cosamp_nnls (GTP)", "distributed_cosamp (GTP, 4 shards)"):
        gtp = results[name]
        if "residual" not in gtp:
            continue
        if "residual" not in omp:
            print(
                f"  {name}: OMP stopped after {args.limit:.0f} s, speed-up > {args.limit / gtp['seconds']:.1f}x"
            )
            continue
        ratio, res_ratio = omp["seconds"] / gtp["seconds"], gtp["residual"] / max(omp["residual"], 1e-12)
        ok = ratio >= 10 and res_ratio <= 1.1
        print(
            f"  {name}: speed-up OMP / GTP = {ratio:.1f}x, residual GTP / OMP = {res_ratio:.2f} "
            f"(target >= 10x at <= 1.1x: {'pass' if ok else 'FAIL'})"
        )
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
