"""2-D maps of a representation (UMAP, or PCA as the quick fallback), computed once and cached.

UMAP is far too slow to fit on a page rerun (``import umap`` alone takes ~12 s and the first fit compiles
with numba), so the backend computes the coordinates and the app only reads them.
Hidden states and gradients are L2-normalised and mapped with the cosine
metric; loss trajectories use the raw values and the Euclidean metric; n_neighbors 15, min_dist 0.1,
a fixed random_state. Above ``fit_limit`` examples UMAP is fitted on a seeded sample and the rest is
placed with ``transform``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from prune_core.methods.inputs import REPRESENTATIONS, MissingRepresentation, Representations
from prune_core.store import Run, keys

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
        n_jobs=1,  # a seed makes UMAP single-threaded anyway; saying so keeps its warning off the terminal
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


def compute_maps(
    run: Run, representations: list[str] | None = None, params: MapParams = MapParams(), *, log=print
) -> dict[str, str]:
    """Compute and cache the 2-D map of each representation (skipping cached ones); returns statuses.

    Each map is its own stage (``map:<representation>:<method>``). A representation the run lacks is
    skipped before its stage begins (nothing to record: the run may simply not have gradients); a map that
    fails is recorded on its stage and the others go on (``errors="record"``).
    """
    reps = Representations(run)
    report = {}
    for name in representations or list(REPRESENTATIONS):
        stage = run.stage(
            keys.map_stage(name, params.method),
            {
                "params": params.to_dict(),
                "representation": name,
                "run": run.stage_record(keys.TRAIN_STAGE).params_hash,
            },
            errors="record",
        )
        if stage.done:
            report[name] = "cached"
            continue
        try:
            features = reps.features(name)
        except MissingRepresentation as err:
            report[name] = f"skipped: {err}"
            log(f"[{stage.name}] skipped: {err}")
            continue
        with stage:
            run.write_array(
                keys.map_coords(name, params.method),
                embed(features, params, metric_for(name)),
                stage=stage.name,
                meta={"representation": name, "metric": metric_for(name), **params.to_dict()},
            )
        if stage.error:
            report[name] = f"failed: {stage.exception}"
            log(f"[{stage.name}] failed: {stage.error}")
            continue
        report[name] = "done"
        log(f"[{stage.name}] done in {stage.seconds:.1f}s")
    return report
