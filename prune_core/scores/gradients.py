"""Scores from per-example gradients (and other per-checkpoint features): GraNd, memorisation,
TracIn, LESS and the generic relevance dot product behind ``less-tl`` / ``less-hs``.

Gradients arrive as projected float16 matrices, one per checkpoint, often memory-mapped; every
function walks them in float64 row blocks and never builds an n x m train-by-validation matrix: a
validation set enters only through its summed (or per-group mean) vector, which gives the same
numbers because the inner product is linear (Du et al. 2025, algorithms/gradient.py does the same).
All scores are oriented higher = keep and pass through ``nan_to_min``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from prune_core.scores.arrays import (
    as_checkpoints,
    as_weights,
    block_f64,
    nan_to_min,
    row_blocks,
)


def _unit_rows(block: np.ndarray) -> np.ndarray:
    """Rows divided by their L2 norm; a zero row stays zero (its norm is taken as 1, as LESS does)."""
    norms = np.linalg.norm(block, axis=1, keepdims=True)
    return block / np.where(norms == 0, 1.0, norms)


def _paired(train, val, train_name: str, val_name: str) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Train and validation matrices per checkpoint, checked to have matching counts and widths."""
    tr, va = as_checkpoints(train, train_name), as_checkpoints(val, val_name)
    if len(tr) != len(va):
        raise ValueError(
            f"{train_name} has {len(tr)} checkpoints but {val_name} has {len(va)}; "
            f"expected one validation matrix per training checkpoint"
        )
    for c, (a, b) in enumerate(zip(tr, va)):
        if a.shape[1] != b.shape[1]:
            raise ValueError(
                f"checkpoint {c}: {train_name} has width {a.shape[1]} but {val_name} has "
                f"{b.shape[1]}; both must come from the same projection (same seed and dim)"
            )
    return tr, va


def _group_vectors(
    val: np.ndarray, codes: np.ndarray, n_groups: int, *, normalize: bool, mean: bool
) -> np.ndarray:
    """[n_groups, d]: the sum (or mean) of the validation rows of each group, rows normalised if asked."""
    out = np.zeros((n_groups, val.shape[1]), dtype=np.float64)
    for rows in row_blocks(val.shape[0], val.shape[1]):
        block = block_f64(val, rows)
        if normalize:
            block = _unit_rows(block)
        member = np.zeros((n_groups, block.shape[0]), dtype=np.float64)
        member[codes[rows], np.arange(block.shape[0])] = 1.0
        out += member @ block
    if mean:
        out /= np.bincount(codes, minlength=n_groups)[:, None]
    return out


def _summed(val: np.ndarray, *, normalize: bool) -> np.ndarray:
    """[1, d]: the sum of all validation rows (one group), rows normalised if asked."""
    return _group_vectors(val, np.zeros(val.shape[0], dtype=np.int64), 1, normalize=normalize, mean=False)


def _relevance(
    train: list[np.ndarray], targets: list[np.ndarray], weights: np.ndarray, *, normalize: bool
) -> np.ndarray:
    """[n, n_groups]: sum_c weights_c * <train_c[i] (normalised if asked), targets_c[g]>."""
    n = train[0].shape[0]
    out = np.zeros((n, targets[0].shape[0]), dtype=np.float64)
    for mat, target, w in zip(train, targets, weights):
        if w == 0:
            continue
        for rows in row_blocks(n, mat.shape[1]):
            block = block_f64(mat, rows)
            if normalize:
                block = _unit_rows(block)
            out[rows] += w * (block @ target.T)
    return out


def grand(grad_norms: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
    """GraNd: the mean, over checkpoints or runs, of each example's exact gradient norm (higher = keep).

    Paul, Ganguli & Dziugaite (2021), NeurIPS: GraNd_t(x, y) = E_runs ||grad_w l(f_{w_t}(x), y)||_2.
    Norms are taken before projection (the backend stores them as ``grad_norm``), so no JL error enters.
    """
    runs = [grad_norms] if isinstance(grad_norms, np.ndarray) and grad_norms.ndim == 1 else list(grad_norms)
    if not runs:
        raise ValueError("grand: expected one [n] vector of gradient norms or a list of them, found none")
    arrs = [np.asarray(r, dtype=np.float64) for r in runs]
    for r, a in enumerate(arrs):
        if a.ndim != 1 or a.shape != arrs[0].shape:
            raise ValueError(
                f"grand grad_norms[{r}]: expected shape {arrs[0].shape} (one norm per example), "
                f"found {a.shape}"
            )
        if np.any(a < 0):
            raise ValueError(
                f"grand grad_norms[{r}]: expected norms >= 0, found {a.min()} at row {int(np.nanargmin(a))}"
            )
    return nan_to_min(np.mean(arrs, axis=0))


def memorization(grads: Sequence[np.ndarray], lrs: Sequence[float]) -> np.ndarray:
    """TracIn self-influence sum_c lr_c * ||G_c[i]||^2, the memorisation proxy of Du et al. (higher = keep).

    Pruthi et al. (2020) define self-influence TracIn(z, z); Du et al. (2025, algorithms/gradient.py,
    method "memorization") use it in place of Feldman & Zhang's (2020) leave-out memorisation, which
    needs thousands of retrainings. Not normalised: with unit rows every score would equal sum(lrs).
    It is dominated by the loss magnitude, so mislabelled examples score highest.
    """
    mats = as_checkpoints(grads, "memorization grads")
    w = as_weights(lrs, "memorization lrs", count=len(mats))
    out = np.zeros(mats[0].shape[0], dtype=np.float64)
    for mat, lr in zip(mats, w):
        for rows in row_blocks(mat.shape[0], mat.shape[1]):
            out[rows] += lr * (block_f64(mat, rows) ** 2).sum(axis=1)
    return nan_to_min(out)


def tracin(
    train_grads: Sequence[np.ndarray], val_grads: Sequence[np.ndarray], lrs: Sequence[float]
) -> np.ndarray:
    """TracInCP relevance to a validation set: sum_c lr_c <G_c[i], sum_j V_c[j]> (higher = more helpful).

    Pruthi et al. (2020), "Estimating Training Data Influence by Tracing Gradient Descent", NeurIPS:
    TracIn(z, z') = sum_c eta_c <grad l(theta_c, z), grad l(theta_c, z')>, summed over the validation
    set z'. A positive score means a step on z lowered the validation loss.
    """
    tr, va = _paired(train_grads, val_grads, "tracin train_grads", "tracin val_grads")
    w = as_weights(lrs, "tracin lrs", count=len(tr))
    return nan_to_min(_relevance(tr, [_summed(v, normalize=False) for v in va], w, normalize=False)[:, 0])


def less(
    train_adam: Sequence[np.ndarray],
    val_sgd: Sequence[np.ndarray],
    lrs: Sequence[float],
    val_groups: np.ndarray | None = None,
    normalize: bool = True,
) -> np.ndarray:
    """LESS: max over validation groups of the mean lr-weighted cosine to that group's gradients.

    Xia et al. (2024), "LESS: Selecting Influential Data for Targeted Instruction Tuning", ICML:
        Inf(z) = max_g mean_{z' in V_g} sum_c wbar_c cos(Gamma(z, theta_c), grad l(z', theta_c)),
    with Adam-preconditioned train gradients Gamma, SGD validation gradients, and the checkpoints'
    average learning rates renormalised to sum to 1 (LESS matching.py). Rows are L2-normalised (a zero
    norm is taken as 1) unless ``normalize=False``; then the score is the raw lr-weighted dot product
    with the group's mean gradient. Du et al. (2025) sum over validation examples and skip the
    renormalisation; with one group that is a positive rescaling, so the ranking is the same. Cost:
    O(n d) per group per checkpoint, through each group's mean validation vector.
    """
    tr, va = _paired(train_adam, val_sgd, "less train_adam", "less val_sgd")
    w = as_weights(lrs, "less lrs", count=len(tr))
    if w.sum() <= 0:
        raise ValueError(f"less lrs: expected a positive total learning rate, found {w.tolist()}")
    m = va[0].shape[0]
    if m == 0:
        raise ValueError("less val_sgd: expected at least one validation example, found 0 rows")
    for c, v in enumerate(va):
        if v.shape[0] != m:
            raise ValueError(f"less val_sgd[{c}]: expected {m} rows like val_sgd[0], found {v.shape[0]}")
    if val_groups is None:
        codes, n_groups = np.zeros(m, dtype=np.int64), 1
    else:
        groups = np.asarray(val_groups)
        if groups.shape != (m,):
            raise ValueError(
                f"less val_groups: expected one group per validation example (shape ({m},)), "
                f"found shape {groups.shape}"
            )
        uniques, codes = np.unique(groups, return_inverse=True)
        n_groups = len(uniques)
    targets = [_group_vectors(v, codes, n_groups, normalize=normalize, mean=True) for v in va]
    per_group = _relevance(tr, targets, w / w.sum(), normalize=normalize)
    return nan_to_min(per_group.max(axis=1))


def reverse_less(
    train_adam: Sequence[np.ndarray],
    val_sgd: Sequence[np.ndarray],
    lrs: Sequence[float],
    val_groups: np.ndarray | None = None,
    normalize: bool = True,
) -> np.ndarray:
    """Minus the LESS score: keeps the least relevant examples (Du et al.'s sanity baseline)."""
    return nan_to_min(-less(train_adam, val_sgd, lrs, val_groups=val_groups, normalize=normalize))


def relevance_dot(
    train_feats: Sequence[np.ndarray],
    val_feats: Sequence[np.ndarray],
    weights: Sequence[float] | None = None,
    normalize: bool = False,
) -> np.ndarray:
    """Generic relevance sum_c w_c <f_c[i], sum_j v_c[j]>, the ``less-tl`` / ``less-hs`` score of Du et al.

    Du et al. (2025): ``less-tl`` pairs each example's offline loss trajectory [E] with
    the sum of the validation trajectories (one "checkpoint" whose features are the epochs);
    ``less-hs`` does the same with last-layer hidden states, L2-normalised when ``normalize`` is set
    (then the score is a sum of cosines). Weights default to 1 per checkpoint, as the released CLI
    passes no learning rates for these two.
    """
    tr, va = _paired(train_feats, val_feats, "relevance_dot train_feats", "relevance_dot val_feats")
    w = np.ones(len(tr)) if weights is None else as_weights(weights, "relevance_dot weights", count=len(tr))
    targets = [_summed(v, normalize=normalize) for v in va]
    return nan_to_min(_relevance(tr, targets, w, normalize=normalize)[:, 0])
