"""Sparse non-negative gradient matching: NN-OMP (GradMatch) and CoSaMP + NNLS (GTP).

Both choose a set S and weights w >= 0 so that sum_{i in S} w_i a_i reproduces a target b (a full-data
or validation gradient), i.e. min ||A w - b|| with w >= 0 and |supp w| <= k, where the dictionary atoms
a_i are the rows of ``features``.
- GradMatch: Killamsetty, Sivasubramanian, Ramakrishnan, De & Iyer (2021), "GRAD-MATCH: Gradient
  Matching based Data Subset Selection for Efficient Deep Model Training", ICML 2021 (cords omp_solvers.py OrthogonalMP_REG_NNLS). One atom per iteration, NNLS re-solved each time.
- GTP: Deng, Li & Li (2024), "Influential Language Data Selection via Gradient Trajectory Pursuit",
  arXiv:2410.16710, solved by CoSaMP (Needell & Tropp 2009) with NNLS: up to 2s
  atoms enter per iteration, so far fewer passes over the n x d dictionary than OMP's one per atom.

Choices where the references are silent:
- Proxies are ranked by their signed value c_i = <a_i, r>: with w >= 0 a negatively correlated atom
  can never reduce the residual.
- CoSaMP's sparsity s = min(k, max_support) with max_support = d by default: a non-negative least-squares
  solution never needs more than d atoms (Carathéodory), so a larger support adds nothing, and a
  smaller cap can leave a target that needs more atoms unreachable. The earlier cap d // 3 (NNLS on at
  most 3s <= d columns) left GTP at 48x OMP's residual at n = 100 000, d = 1024, k = 1 % (0.048 against
  1e-4), where s = d fits the mean row exactly in 3 iterations (bench/bench_selectors.py).
- When every positive NNLS weight on the merged set survives the pruning to s atoms, the estimate is
  already the NNLS optimum on the kept support and the refit is skipped.
- NN-OMP (GradMatch) has no support cap by default, like both references (cords
  OrthogonalMP_REG_Parallel and DeepCore's orthogonal_matching_pursuit): it runs until k atoms, until
  the relative residual is below ``tol``, or until no atom correlates positively. What the budget still
  lacks is filled at random from the remaining examples (cords' rule: ``fill="random"``, a seeded
  permutation of the rest in index order); ``fill="correlation"`` keeps the earlier rule (descending
  correlation with the final residual). ``ridge`` is GradMatch's lambda.
- ``gradmatch`` matches per class by default, as both references do: each class's target is the sum
  of its examples' gradients (cords), its budget its stratified share of k (largest remainders).
- After pruning to s atoms, CoSaMP re-solves NNLS on the kept support ("CoSaMP with final LS"), and it
  returns its best iterate (CoSaMP's residual is not monotone).
- Measured (bench/bench_selectors.py; n = 100 000, d = 1024, k = 100, 2 cores, with the earlier d // 3
  cap): CoSaMP needs about 4 passes over the dictionary against OMP's 100 and runs 5-8x faster, not the
  17x GTP reports; on this coherent Gaussian-mixture dictionary its residual is 1.1-1.8x OMP's. Its
  cost is the NNLS solves on up to 3s columns (independent of n), OMP's the n x d pass per atom.
- Exactly k indices come back: first the weighted atoms by descending weight, then the fill. CoSaMP's
  fill takes atoms with a positive proxy in the last iteration, by descending proxy, then every
  other atom by descending correlation with the final residual. Filled atoms get weight 0. Ties go to
  a seeded random order.
- Distributed GTP: a seeded random split into ``n_shards`` shards, CoSaMP with budget k on each, and
  CoSaMP again with budget k on the union of the shards' picks (the GreeDi two-round pattern). Each
  shard fits the whole target with its own atoms, so an atom the target needs can lose to shard-local
  substitutes and never reach the union: expect a larger residual than single-machine CoSaMP
  (bench/bench_selectors.py prints both).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import nnls
from threadpoolctl import threadpool_limits

from prune_core.select._nnls import GrowingNNLS
from prune_core.select._validate import as_features, as_labels, check_count, empty_indices, tie_break_rank


def _dictionary(
    features: np.ndarray, target: np.ndarray, k: int, where: str
) -> tuple[np.ndarray, np.ndarray, int]:
    atoms = as_features(features, where=where)
    b = np.asarray(target, dtype=np.float64).ravel()
    if b.shape[0] != atoms.shape[1]:
        raise ValueError(
            f"{where}: target has {b.shape[0]} entries but features have {atoms.shape[1]} "
            f"columns; the target must live in the same space as each example's row"
        )
    if not np.isfinite(b).all():
        raise ValueError(f"{where}: target contains NaN or infinite values")
    return atoms, b, check_count(k, atoms.shape[0], where=where)


def _solve_nnls(atoms: np.ndarray, support: np.ndarray, b: np.ndarray, ridge: float = 0.0) -> np.ndarray:
    """argmin_{w >= 0} ||A_S w - b||^2 + ridge ||w||^2 (columns of A_S are the support's rows).

    Solved on the d x s matrix by scipy's Lawson-Hanson NNLS (single-threaded). A Gram/Cholesky form was
    tried: no faster for 3s close to d, and multi-threaded LAPACK on small matrices slowed it down 10x
    whenever other processes shared the cores.
    """
    a = atoms[support].T.astype(np.float64)
    if ridge > 0.0:
        a = np.vstack([a, np.sqrt(ridge) * np.eye(support.shape[0])])
        b = np.concatenate([b, np.zeros(support.shape[0])])
    weights, _ = nnls(a, b, maxiter=50 * max(1, support.shape[0]))
    return weights


def _residual(atoms: np.ndarray, support: np.ndarray, weights: np.ndarray, b: np.ndarray) -> np.ndarray:
    return b - atoms[support].T.astype(np.float64) @ weights if support.size else b.copy()


def _correlations(atoms: np.ndarray, residual: np.ndarray) -> np.ndarray:
    return (atoms @ residual.astype(np.float32)).astype(np.float64)


def _descending(values: np.ndarray, rank: np.ndarray, count: int | None = None) -> np.ndarray:
    """Positions of the ``count`` largest values, largest first, ties in ``rank`` order.

    Equals the first ``count`` entries of a full sort, found by a partition (O(n)) plus a sort of the
    candidates, so OMP's argmax per iteration does not cost a full sort of n values.
    """
    n = values.shape[0]
    if count is None or count >= n:
        return np.lexsort((rank, -values))
    if count <= 0:
        return empty_indices()
    threshold = values[np.argpartition(-values, count - 1)[:count]].min()
    candidates = np.flatnonzero(values >= threshold)
    return candidates[np.lexsort((rank[candidates], -values[candidates]))][:count]


def _finish(
    support: np.ndarray, weights: np.ndarray, fill: list, k: int, rank: np.ndarray, by_weight: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted atoms by descending weight (or as given), then fill candidates in order, k in all, no repeats.

    ``fill`` holds index arrays, or functions computing one, called only when still needed.
    """
    by_weight = _descending(weights, rank[support]) if by_weight else np.arange(support.shape[0])
    first, first_weights = support[by_weight], weights[by_weight]
    taken = np.zeros(rank.shape[0], dtype=bool)
    taken[first] = True
    extra = []
    needed = k - first.shape[0]
    for candidates in fill:
        if needed <= 0:
            break
        candidates = candidates(k) if callable(candidates) else candidates  # k best hold `needed` untaken
        fresh = candidates[~taken[candidates]][:needed]
        taken[fresh] = True
        extra.append(fresh)
        needed -= fresh.shape[0]
    indices = np.concatenate([first, *extra]).astype(np.int64)[:k]
    out_weights = np.concatenate([first_weights, np.zeros(indices.shape[0] - first.shape[0])])[:k]
    return indices, out_weights


def _sparsity(k: int, n_dims: int, max_support: int | None | str) -> int:
    if max_support == "none":
        return k
    cap = max(1, n_dims) if max_support is None else int(max_support)
    if cap < 1:
        raise ValueError(f"expected max_support >= 1, found {max_support}")
    return min(k, cap)


def _omp_loop(
    atoms: np.ndarray,
    b: np.ndarray,
    s: int,
    stop_norm: float,
    rank: np.ndarray,
    ridge: float,
    growing: GrowingNNLS | None,
) -> tuple[list[int], np.ndarray, np.ndarray]:
    """NN-OMP's iterations: add the atom most correlated with the residual, re-solve, until s atoms,
    ||r|| <= ``stop_norm`` or no positive correlation; (chosen atoms in order, weights, residual)."""
    chosen: list[int] = []
    weights, residual = np.zeros(0), b.copy()
    in_support = np.zeros(atoms.shape[0], dtype=bool)
    while len(chosen) < s and np.linalg.norm(residual) > stop_norm:
        corr = _correlations(atoms, residual)
        corr[in_support] = -np.inf
        best = int(_descending(corr, rank, 1)[0])
        if corr[best] <= 0.0:
            break
        chosen.append(best)
        in_support[best] = True
        if growing is not None:
            growing.add(atoms[best])
            weights, residual = growing.solve(), growing.residual()
            continue
        support = np.asarray(chosen, dtype=np.int64)
        weights = _solve_nnls(atoms, support, b, ridge)
        residual = _residual(atoms, support, weights, b)
    return chosen, weights, residual


def nn_omp(
    features: np.ndarray,
    target: np.ndarray,
    k: int,
    *,
    tol: float = 1e-4,
    ridge: float = 0.0,
    seed: int = 0,
    max_support: int | None = None,
    order: str = "weight",
    fill: str = "random",
) -> tuple[np.ndarray, np.ndarray]:
    """Non-negative orthogonal matching pursuit: (k indices, their weights), weighted atoms first.

    Each iteration adds the atom most positively correlated with the residual and re-solves the
    (ridge-regularised) NNLS on all chosen atoms; stops at min(k, max_support) atoms (no cap when
    ``max_support`` is None), when ||r|| / ||b|| < tol, or when no atom correlates positively with the
    residual. The rest of the budget is filled by ``fill`` ("random" or "correlation"). ``order="insertion"`` lists the support in the
    order OMP added it: OMP is greedy, so its first j atoms are exactly what a run with budget j picks,
    and one run at the largest budget answers every smaller one (the registry uses this).
    """
    if order not in ("weight", "insertion"):
        raise ValueError(f"nn_omp: expected order 'weight' or 'insertion', found {order!r}")
    if fill not in ("random", "correlation"):
        raise ValueError(f"nn_omp: expected fill 'random' or 'correlation', found {fill!r}")
    atoms, b, k = _dictionary(features, target, k, "nn_omp")
    if k == 0:
        return empty_indices(), np.zeros(0)
    n = atoms.shape[0]
    rank = tie_break_rank(n, seed)
    s = _sparsity(k, atoms.shape[1], "none" if max_support is None else max_support)
    target_norm = float(np.linalg.norm(b))
    # With a ridge the NNLS is strictly convex: solve it incrementally (same optimum, select/_nnls.py)
    growing = GrowingNNLS(b, ridge, s, atoms.shape[1]) if ridge > 0.0 else None
    with threadpool_limits(1):  # thousands of small BLAS calls: threads only contend (8x slower on 2 cores)
        chosen, weights, residual = _omp_loop(atoms, b, s, tol * target_norm, rank, ridge, growing)
    support = np.asarray(chosen, dtype=np.int64)
    if fill == "random":  # cords: the rest of the budget drawn uniformly from the examples left
        rest = np.setdiff1d(np.arange(n), support)
        candidates = [np.random.default_rng(seed).permutation(rest)]
    else:
        candidates = [lambda count: _descending(_correlations(atoms, residual), rank, count)]
    return _finish(support, weights, candidates, k, rank, by_weight=order == "weight")


def gradmatch(
    features: np.ndarray,
    labels: np.ndarray | None,
    k: int,
    *,
    ridge: float = 0.5,
    per_class: bool = True,
    tol: float = 1e-4,
    seed: int = 0,
    fill: str = "random",
) -> np.ndarray:
    """GradMatch's subset of exactly k indices: NN-OMP matching the summed gradient, per class by default.

    Per class c (Killamsetty et al. 2021; cords and DeepCore both match per class): NN-OMP with ridge
    ``ridge`` (lambda; cords' default 0.5) selects class c's stratified share of k among its own
    examples to reproduce the sum of their gradients; the classes' picks are merged so that every
    prefix keeps each class's share. ``per_class=False`` matches the whole training gradient at once.
    """
    atoms = as_features(features, where="gradmatch")
    n = atoms.shape[0]
    k = check_count(k, n, where="gradmatch")
    if k == 0:
        return empty_indices()

    def match(members: np.ndarray, count: int) -> np.ndarray:
        if count == 0:
            return empty_indices()
        local = atoms[members]
        picked, _ = nn_omp(
            local, local.sum(axis=0), count, tol=tol, ridge=ridge, seed=seed, order="insertion", fill=fill
        )
        return members[picked]

    if not per_class or labels is None:
        return match(np.arange(n), k)
    from prune_core.select.balance import label_quota

    y = as_labels(labels, n, where="gradmatch")
    quota = label_quota(y, k, mode="stratified", seed=seed)
    orders = [match(np.flatnonzero(y == c), q) for c, q in quota.items()]
    keys = [(np.arange(len(o)) + 0.5) / len(o) for o in orders if len(o)]
    items = [o for o in orders if len(o)]
    keys_all, items_all = np.concatenate(keys), np.concatenate(items)
    return items_all[np.lexsort((items_all, keys_all))].astype(np.int64)


def cosamp_nnls(
    features: np.ndarray,
    target: np.ndarray,
    k: int,
    *,
    max_iter: int = 20,
    tol: float = 1e-4,
    seed: int = 0,
    max_support: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """CoSaMP with non-negative least squares (GTP's solver): (k indices, their weights).

    Per iteration: proxy c = A^T r; J = the 2s largest positive proxies; T = support + J; u = NNLS on T;
    keep the s largest positive u as the new support and re-solve NNLS on it. Stops when the relative
    residual is below ``tol``, the support repeats, or after ``max_iter`` iterations, and returns the
    iterate with the smallest residual.
    """
    atoms, b, k = _dictionary(features, target, k, "cosamp_nnls")
    if k == 0:
        return empty_indices(), np.zeros(0)
    n = atoms.shape[0]
    rank = tie_break_rank(n, seed)
    s = _sparsity(k, atoms.shape[1], max_support)
    target_norm = float(np.linalg.norm(b))
    support, weights = empty_indices(), np.zeros(0)
    residual = b.copy()
    proxy, proxy_is_current = np.zeros(n), False
    best = (target_norm, support, weights, residual)
    for _ in range(max_iter):
        if np.linalg.norm(residual) <= tol * target_norm:
            break
        proxy, proxy_is_current = _correlations(atoms, residual), True
        ranked = _descending(proxy, rank, 2 * s)
        identified = ranked[proxy[ranked] > 0.0]
        merged = np.union1d(support, identified)
        if merged.size == 0:
            break
        estimate = _solve_nnls(atoms, merged, b)
        keep = _descending(estimate, rank[merged])[:s]
        kept = keep[estimate[keep] > 0.0]
        order = np.argsort(merged[kept])
        new_support = merged[kept][order]
        if np.array_equal(new_support, support):
            break
        support = new_support
        if kept.size == np.count_nonzero(estimate > 0.0):
            # every positive weight survived the pruning: the estimate is already the NNLS optimum on
            # the kept support (same KKT conditions), so the refit is skipped (half the NNLS solves)
            weights = estimate[kept][order]
        else:
            weights = _solve_nnls(atoms, support, b) if support.size else np.zeros(0)
        residual, proxy_is_current = _residual(atoms, support, weights, b), False
        if np.linalg.norm(residual) < best[0]:
            best = (float(np.linalg.norm(residual)), support, weights, residual)
    if best[0] < np.linalg.norm(residual):  # CoSaMP's residual is not monotone: return the best iterate
        _, support, weights, residual = best
        proxy_is_current = False

    def positive_proxies(count: int) -> np.ndarray:
        ranked = _descending(proxy, rank, count)
        return ranked[proxy[ranked] > 0.0]

    def residual_correlations(count: int) -> np.ndarray:
        return _descending(proxy if proxy_is_current else _correlations(atoms, residual), rank, count)

    return _finish(support, weights, [positive_proxies, residual_correlations], k, rank)


def shard_picks(atoms: np.ndarray, b: np.ndarray, shard: np.ndarray, k: int, **solver) -> np.ndarray:
    """Round one of distributed GTP on one shard: the rows of ``atoms`` CoSaMP picks from ``shard``."""
    local, _ = cosamp_nnls(atoms[shard], b, min(k, shard.size), **solver)
    return shard[local]


def _map_here(atoms: np.ndarray, b: np.ndarray, shards: list[np.ndarray], k: int, **solver) -> list:
    return [shard_picks(atoms, b, shard, k, **solver) for shard in shards]


def distributed_cosamp(
    features: np.ndarray,
    target: np.ndarray,
    k: int,
    *,
    n_shards: int = 4,
    seed: int = 0,
    max_iter: int = 20,
    tol: float = 1e-4,
    max_support: int | None = None,
    map_shards=None,
) -> tuple[np.ndarray, np.ndarray]:
    """Two-round distributed GTP: CoSaMP on each of ``n_shards`` random shards, then on their union.

    ``map_shards(atoms, b, shards, k, **solver)`` runs round one (:func:`shard_picks` per shard, in
    order); by default here, in one process; ``prune_core/distributed/select.py`` fans it out as Ray tasks.
    """
    atoms, b, k = _dictionary(features, target, k, "distributed_cosamp")
    if n_shards < 1:
        raise ValueError(f"distributed_cosamp: expected n_shards >= 1, found {n_shards}")
    if k == 0:
        return empty_indices(), np.zeros(0)
    shards = np.array_split(np.random.default_rng(seed).permutation(atoms.shape[0]), n_shards)
    solver = {"max_iter": max_iter, "tol": tol, "seed": seed, "max_support": max_support}
    picks = (map_shards or _map_here)(atoms, b, [s for s in shards if s.size], k, **solver)
    union = np.sort(np.concatenate(picks))
    final, weights = cosamp_nnls(atoms[union], b, k, **solver)
    return union[final], weights
