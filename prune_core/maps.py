"""2-D maps of a representation (UMAP, or PCA as the quick fallback), computed once and cached.

UMAP is far too slow to fit on a page rerun (``import umap`` alone takes ~12 s and the first fit compiles
with numba), so the backend computes the coordinates and the app only reads them.
Hidden states and gradients are L2-normalised and mapped with the cosine
metric; loss trajectories use the raw values and the Euclidean metric; n_neighbors 15, min_dist 0.1,
a fixed random_state. Above ``fit_limit`` examples UMAP is fitted on a seeded sample and the rest is
placed with ``transform``.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np

from prune_core.methods.inputs import REPRESENTATIONS, MissingRepresentation, Representations
from prune_core.store import Run

MAP_METHODS = ("umap", "pca")


@dataclass(frozen=True)
class MapParams:
    method: str = "umap"
    n_neighbors: int = 15
    min_dist: float = 0.1
    seed: int = 0
    fit_limit: int = 50_000

    def to_dict(self) -> dict:
        return asdict(self)


def metric_for(representation: str) -> str:
    return "euclidean" if REPRESENTATIONS[representation].family == "training dynamics" else "cosine"


def pca_2d(features: np.ndarray) -> np.ndarray:
    """Top-2 principal components of the centred data, each axis signed so its largest value is positive."""
    x = np.asarray(features, dtype=np.float64)
    x = x - x.mean(axis=0)
    if x.shape[1] < 2:
        x = np.column_stack([x, np.zeros((len(x), 2 - x.shape[1]))])
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    coords = x @ vt[:2].T
    flip = np.sign(coords[np.abs(coords).argmax(axis=0), [0, 1]])
    return (coords * np.where(flip == 0, 1.0, flip)).astype(np.float32)


def umap_2d(features: np.ndarray, params: MapParams, metric: str) -> np.ndarray:
    import umap  # slow import: only here

    n = len(features)
    neighbors = max(2, min(params.n_neighbors, n - 1))
    reducer = umap.UMAP(
        n_components=2,
        n_neighbors=neighbors,
        min_dist=params.min_dist,
        metric=metric,
        random_state=params.seed,
    )
    if n <= params.fit_limit:
        return reducer.fit_transform(features).astype(np.float32)
    sample = np.sort(np.random.default_rng(params.seed).choice(n, params.fit_limit, replace=False))
    reducer.fit(features[sample])
    return reducer.transform(features).astype(np.float32)


def embed(features: np.ndarray, params: MapParams, metric: str) -> np.ndarray:
    if params.method == "pca" or len(features) < 5:
        return pca_2d(features)
    if params.method == "umap":
        return umap_2d(features, params, metric)
    raise ValueError(f"unknown map method {params.method!r}; expected one of {', '.join(MAP_METHODS)}")


def map_key(representation: str, method: str) -> str:
    return f"maps/{representation}/{method}"


def compute_maps(
    run: Run, representations: list[str] | None = None, params: MapParams = MapParams(), *, log=print
) -> dict[str, str]:
    """Compute and cache the 2-D map of each representation (skipping cached ones); returns statuses."""
    reps = Representations(run)
    report = {}
    for name in representations or list(REPRESENTATIONS):
        stage = f"map:{name}:{params.method}"
        stage_params = {
            "params": params.to_dict(),
            "representation": name,
            "run": run.stage("train").get("params_hash"),
        }
        if run.stage_is_done(stage, stage_params):
            report[name] = "cached"
            continue
        try:
            features = reps.features(name)
        except MissingRepresentation as err:
            report[name] = f"skipped: {err}"
            log(f"[{stage}] skipped: {err}")
            continue
        run.forget_files(run.stage_files(stage))
        run.begin_stage(stage, stage_params)
        started = time.perf_counter()
        try:
            coords = embed(features, params, metric_for(name))
        except Exception as err:
            run.fail_stage(stage, f"{type(err).__name__}: {err}")
            report[name] = f"failed: {err}"
            continue
        run.write_array(
            map_key(name, params.method),
            coords,
            stage=stage,
            meta={"representation": name, "metric": metric_for(name), **params.to_dict()},
        )
        run.finish_stage(stage, time.perf_counter() - started)
        report[name] = "done"
        log(f"[{stage}] done in {time.perf_counter() - started:.1f}s")
    return report
