"""Cardinality-guaranteed dataset pruning with group effect, solved by simulated annealing.

Yang, Xie, Peng, Xu, Sun & Li (2023), "Dataset Pruning: Reducing Training Data by Examining
Generalization Influence", ICLR 2023 (recipe (b) of its Section 3). Removing a set R of examples moves
the parameters by about sum_{z in R} I(z), with I(z) = (1/n) H^{-1} grad l(z) the influence of z on the
(last-layer) parameters. Examples that are influential one by one can cancel as a group, so the paper
chooses the m pruned examples that together move the parameters least:
    minimise || sum_i W_i I(z_i) ||_2  subject to  sum_i W_i = m,  W in {0, 1}^n.
The blog that the seeds cite says the integer programme is solved by simulated annealing.

Recipe (details the paper leaves open are our choices): start from the m examples with the smallest ||I(z)||; a
move swaps one pruned with one kept example, which changes the pruned sum s by I_in - I_out, so the
new norm costs O(p) from ||s||^2, s.I and I.I; accept if the norm does not grow, otherwise with
probability exp(-increase / T); geometric cooling from t0 to t0 * 1e-4 over ``n_steps`` moves; keep the
best state seen (replayed from the list of accepted swaps, so no copy of the state per improvement).
Defaults: n_steps = min(100 000, 100 n) (about 1 s at most), t0 = the median norm increase of 200
random initial swaps (so an average uphill move starts with acceptance exp(-1)). The sum is
recomputed exactly every 10 000 accepted moves to stop rounding drift.

Returned: the k KEPT indices (m = n - k pruned), ordered by descending ||I(z)|| (the same order in
which the start state keeps examples), ties in a seeded random order.
"""

from __future__ import annotations

import math

import numpy as np

from prune_core.select._validate import as_features, check_count, empty_indices, order_descending, row_norms

_RESYNC_EVERY = 10_000
_SUM_BLOCK = 65_536  # rows per float64 block of the pruned sum: no m x p float64 temporary at 1 M rows


def _rows_sum(vectors: np.ndarray, rows) -> np.ndarray:
    """sum of ``vectors[rows]`` in float64, by blocks of rows (one block: the same as a whole-array sum)."""
    rows = np.asarray(rows, dtype=np.int64)
    total = np.zeros(vectors.shape[1])
    for start in range(0, rows.shape[0], _SUM_BLOCK):
        total += vectors[rows[start : start + _SUM_BLOCK]].astype(np.float64).sum(axis=0)
    return total


def _initial_temperature(
    vectors: np.ndarray, pruned: np.ndarray, kept: np.ndarray, total: np.ndarray, rng: np.random.Generator
) -> float:
    base = float(np.linalg.norm(total))
    out_pos = rng.integers(pruned.shape[0], size=200)
    in_pos = rng.integers(kept.shape[0], size=200)
    moved = total[None, :] - vectors[pruned[out_pos]].astype(np.float64) + vectors[kept[in_pos]]
    increases = row_norms(moved) - base
    increases = increases[increases > 0]
    return float(np.median(increases)) if increases.size else 1.0


def group_annealing(
    influence_vectors: np.ndarray,
    k: int,
    *,
    seed: int = 0,
    n_steps: int | None = None,
    t0: float | None = None,
    cooling: float | None = None,
) -> np.ndarray:
    """Keep k examples so that the n - k pruned ones have the smallest summed influence norm.

    ``influence_vectors`` [n, p]: one parameter-influence vector I(z) per example. ``cooling`` is the
    per-move temperature factor (default: t0 reaches t0 * 1e-4 after n_steps moves).
    """
    # float32 stays float32 (a memory map stays mapped): rows are cast to float64 one at a time below,
    # so at n = 1 M no float64 copy of the n x p array (8 GB) is ever made.
    given = np.asarray(influence_vectors)
    dtype = given.dtype.type if given.dtype in (np.float32, np.float64) else np.float64
    vectors = as_features(given, where="group_annealing", dtype=dtype)
    n = vectors.shape[0]
    k = check_count(k, n, where="group_annealing")
    n_steps = min(100_000, 100 * n) if n_steps is None else int(n_steps)
    if n_steps < 0:
        raise ValueError(f"group_annealing: expected n_steps >= 0, found {n_steps}")
    if k == 0:
        return empty_indices()
    norms = row_norms(vectors)
    by_influence = order_descending(norms, seed)
    m = n - k
    if m == 0 or n_steps == 0:
        return by_influence[:k]

    kept, pruned = by_influence[:k].copy(), by_influence[k:].copy()
    rng = np.random.default_rng(seed)
    total = _rows_sum(vectors, pruned)
    temperature = _initial_temperature(vectors, pruned, kept, total, rng) if t0 is None else float(t0)
    factor = (1e-4) ** (1.0 / n_steps) if cooling is None else float(cooling)
    if not (temperature > 0 and 0 < factor <= 1):
        raise ValueError(
            f"group_annealing: expected t0 > 0 and 0 < cooling <= 1, "
            f"found t0 = {temperature}, cooling = {factor}"
        )

    sq_norms = (norms**2).tolist()
    energy_sq = float(total @ total)
    best_sq, swaps, best_at = energy_sq, [], 0
    # Python lists: one move touches a handful of scalars, where numpy scalar indexing costs most.
    kept_list, pruned_list = kept.tolist(), pruned.tolist()
    out_positions = rng.integers(m, size=n_steps).tolist()
    in_positions = rng.integers(k, size=n_steps).tolist()
    thresholds = rng.random(n_steps).tolist()
    for step in range(n_steps):
        out_pos, in_pos = out_positions[step], in_positions[step]
        a, b = pruned_list[out_pos], kept_list[in_pos]
        va, vb = vectors[a].astype(np.float64), vectors[b].astype(np.float64)
        new_sq = (
            energy_sq
            + sq_norms[a]
            + sq_norms[b]
            - 2.0 * float(total @ va)
            + 2.0 * float(total @ vb)
            - 2.0 * float(va @ vb)
        )
        increase = math.sqrt(max(new_sq, 0.0)) - math.sqrt(energy_sq)
        if increase <= 0.0 or thresholds[step] < math.exp(-increase / temperature):
            total += vb - va
            pruned_list[out_pos], kept_list[in_pos] = b, a
            swaps.append((out_pos, in_pos))
            if len(swaps) % _RESYNC_EVERY == 0:
                total = _rows_sum(vectors, pruned_list)
            energy_sq = float(total @ total)
            if energy_sq < best_sq:
                best_sq, best_at = energy_sq, len(swaps)
        temperature *= factor

    # Undo the accepted swaps made after the best state, newest first.
    for out_pos, in_pos in reversed(swaps[best_at:]):
        pruned_list[out_pos], kept_list[in_pos] = kept_list[in_pos], pruned_list[out_pos]
    kept = np.asarray(kept_list, dtype=np.int64)
    position = np.empty(n, dtype=np.int64)
    position[by_influence] = np.arange(n)
    return kept[np.argsort(position[kept])]
