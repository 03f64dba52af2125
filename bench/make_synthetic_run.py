"""Write a synthetic run of N training examples (default 100 000) into a run store, for the dashboard benchmark.

Everything goes through the same code the real backend uses, so the files, keys and metadata match a
real run: ``Run.write_table`` / ``write_array`` for examples, training dynamics and cached 2-D maps
(``maps/<representation>/<umap|pca>``, as ``prune_core.maps`` writes them), and for the methods the real
``MethodRunner`` + ``prune_core.methods.select_stage.save_result`` / ``write_summary`` on every preset, whose
score (or, for set-based methods, keep priority) is drawn from a few latent factors instead of being
computed: difficulty methods share a "difficulty" factor, relevance methods a "relevance" one, so the
correlation and overlap heatmaps show blocks as on real data. No model is trained.

    python bench/make_synthetic_run.py --runs-dir /tmp/bench-runs --n 100000
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from prune_core.methods.inputs import Representations
from prune_core.methods.registry import PRESETS, Method
from prune_core.methods.runner import DEFAULT_BUDGETS, MethodRunner
from prune_core.methods.select_stage import save_result, stage_params, write_summary
from prune_core.store import CheckpointInfo, DatasetInfo, Run, RunStore, keys

WORDS = (
    "film",
    "plot",
    "acting",
    "story",
    "music",
    "scene",
    "cast",
    "ending",
    "script",
    "director",
    "pace",
    "humour",
    "camera",
    "dialogue",
    "character",
    "twist",
    "moment",
    "effects",
    "score",
    "tone",
)
MOODS = (("dull", "flat", "tedious", "clumsy", "lifeless"), ("sharp", "warm", "gripping", "lovely", "witty"))
EPOCHS = 3


def synthetic_examples(n: int, n_validation: int, rng: np.random.Generator) -> pd.DataFrame:
    """Short review-like texts with a binary label; uids ``syn-<row>``."""
    rows = []
    for split, count in (("train", n), ("validation", n_validation)):
        labels = rng.integers(0, 2, count)
        nouns = rng.choice(WORDS, size=(count, 2))
        adjectives = rng.integers(0, 5, count)
        texts = [
            f"the {a} was {MOODS[y][m]} and the {b} too" for (a, b), y, m in zip(nouns, labels, adjectives)
        ]
        rows.append(
            pd.DataFrame(
                {
                    "uid": [f"syn-{split[:1]}{i:06d}" for i in range(count)],
                    "split": split,
                    "label": labels.astype(np.int64),
                    "text": texts,
                }
            )
        )
    frame = pd.concat(rows, ignore_index=True)
    frame["length"] = frame["text"].str.split().str.len().astype(np.int64)
    return frame


def latent_factors(n: int, labels: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Per-example difficulty, relevance and a 2-D embedding with 24 clusters (labels lean by cluster)."""
    clusters = rng.integers(0, 24, n)
    centres = rng.normal(scale=6.0, size=(24, 2))
    embedding = centres[clusters] + rng.normal(scale=1.0, size=(n, 2)) + 1.5 * labels[:, None]
    difficulty = rng.normal(size=n) + 0.4 * (clusters % 3)
    relevance = 0.5 * difficulty + rng.normal(size=n)
    return {
        "difficulty": difficulty,
        "relevance": relevance,
        "embedding": embedding.astype(np.float32),
        "clusters": clusters,
    }


def method_priority(method: Method, factors: dict[str, np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """A keep-priority (higher = keep) in the spirit of the method's objective, plus method-specific noise."""
    n = len(factors["difficulty"])
    noise = rng.normal(size=n)
    if method.objective == "difficulty":
        sign = -1.0 if method.id in ("datamap-easy", "moderate") else 1.0
        return sign * factors["difficulty"] + rng.uniform(0.3, 1.5) * noise
    if method.objective == "relevance":
        sign = -1.0 if method.id == "reverse-less" else 1.0
        return sign * factors["relevance"] + rng.uniform(0.3, 1.5) * noise
    if method.objective == "diversity":  # spread over clusters: rank within cluster, then interleave
        within = pd.Series(noise).groupby(factors["clusters"]).rank(ascending=False).to_numpy()
        return -within + 0.01 * noise
    return rng.uniform(size=n)  # baseline


def synthetic_method(method: Method, priority: np.ndarray) -> Method:
    """The preset's description with its computation replaced by the synthetic priority."""
    if method.kind == "score":
        return dataclasses.replace(method, score=lambda reps, params: priority)

    def select(reps, params, positions: np.ndarray, k: int, execution=None) -> np.ndarray:
        return positions[np.argsort(-priority[positions], kind="stable")[:k]]

    replaced = dataclasses.replace(method)  # a copy (``select`` is derived in __post_init__, not an argument)
    object.__setattr__(replaced, "select", select)
    return replaced


def write_dynamics(
    run: Run, factors: dict[str, np.ndarray], labels: np.ndarray, rng: np.random.Generator
) -> None:
    n = len(labels)
    with run.stage(keys.TRAIN_STAGE, {"synthetic": True}) as stage:
        logit = (
            -factors["difficulty"][:, None]
            + np.linspace(0.0, 1.5, EPOCHS)[None, :]
            + 0.5 * rng.normal(size=(n, EPOCHS))
        )
        p_gold = (1 / (1 + np.exp(-logit))).astype(np.float32)
        run.write_array(keys.dynamics("p_gold"), p_gold, stage=stage.name)
        run.write_array(keys.dynamics("correct"), (p_gold > 0.5).astype(np.uint8), stage=stage.name)
        run.write_array(
            keys.dynamics("loss"), (-np.log(np.clip(p_gold, 1e-6, 1))).astype(np.float32), stage=stage.name
        )
        run.write_array(keys.dynamics("margin"), logit.astype(np.float32), stage=stage.name)


def write_maps(run: Run, factors: dict[str, np.ndarray], rng: np.random.Generator) -> None:
    """Cached maps with the keys, stages and metadata of ``prune_core.maps.compute_maps``."""
    embedding = factors["embedding"]
    dyn = np.column_stack([factors["difficulty"], factors["relevance"]]).astype(np.float32)
    for representation, method, coords in (
        ("hs", "umap", embedding),
        ("hs", "pca", embedding * [1.0, 0.5]),
        ("dyn", "umap", dyn),
    ):
        params = {"method": method, "n_neighbors": 15, "min_dist": 0.1, "seed": 0, "fit_limit": 50_000}
        with run.stage(
            keys.map_stage(representation, method),
            {"params": params, "representation": representation, "synthetic": True},
        ) as stage:
            run.write_array(
                keys.map_coords(representation, method),
                np.asarray(coords, dtype=np.float32),
                stage=stage.name,
                meta={
                    "representation": representation,
                    "metric": "euclidean" if representation == "dyn" else "cosine",
                    **params,
                },
            )


def write_methods(run: Run, factors: dict[str, np.ndarray], rng: np.random.Generator, log) -> None:
    runner = MethodRunner(Representations(run), DEFAULT_BUDGETS)
    for method in PRESETS.values():
        params = stage_params(method, DEFAULT_BUDGETS, "exact", "stratified", run)
        with run.stage(keys.select_stage(method.id), params) as stage:
            result = runner.run(synthetic_method(method, method_priority(method, factors, rng)))
            result.method = method
            save_result(run, result, stage.name, "exact", "stratified")
        log(f"[{stage.name}] {stage.seconds:.1f} s")
    write_summary(run)


def make_synthetic_run(runs_dir: str | Path, n: int = 100_000, *, seed: int = 0, log=print) -> Run:
    """Create (or replace) the run ``synthetic-<n>`` in ``runs_dir``; returns it."""
    rng = np.random.default_rng(seed)
    store = RunStore(runs_dir)
    run_id = f"synthetic-{n}"
    if (store.root / run_id).exists():
        store.delete(run_id)
    n_validation = max(100, n // 50)
    examples = synthetic_examples(n, n_validation, rng)
    run = store.create(
        run_id,
        config={
            "dataset": {"train": "synthetic", "limit": None},
            "model": "synthetic",
            "train": {"epochs": EPOCHS, "lr": 5e-5, "batch_size": 32},
        },
        dataset=DatasetInfo(
            fingerprint=f"synthetic-{n}-{seed}",
            label_names=["negative", "positive"],
            sizes={"train": n, "validation": n_validation},
            sources={"train": "synthetic"},
        ),
        model={"name": "synthetic (no model trained)", "parameters": 0, "class": "none", "device": "none"},
        checkpoints=[CheckpointInfo("pretrained", epoch=0)]
        + [
            CheckpointInfo(f"epoch-{e}", epoch=e, lr=5e-5 * (1 - e / (EPOCHS + 1)))
            for e in range(1, EPOCHS + 1)
        ],
    )
    with run.stage(keys.DATA_STAGE, {"synthetic": True, "n": n, "seed": seed}) as stage:
        run.write_table(keys.EXAMPLES, examples, stage=stage.name)
    labels = examples.loc[examples["split"] == "train", "label"].to_numpy()
    factors = latent_factors(n, labels, rng)
    write_dynamics(run, factors, labels, rng)
    write_maps(run, factors, rng)
    write_methods(run, factors, rng, log)
    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs-dir", required=True, help="run store to write into")
    parser.add_argument("--n", type=int, default=100_000, help="training examples")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    run = make_synthetic_run(args.runs_dir, args.n, seed=args.seed, log=lambda m: print(m, file=sys.stderr))
    print(
        f"{run.path}  ({args.n:,} examples, {len(PRESETS)} methods, {run.size_bytes() / 2**20:.0f} MiB, "
        f"{time.perf_counter() - started:.0f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
