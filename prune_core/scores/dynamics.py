"""Difficulty scores from training dynamics: EL2N, forgetting events, AUM and data maps.

Each score summarises, per training example, how the reference model's prediction for it evolved
. All are returned oriented **higher = keep** and pass through
``nan_to_min``. Epochs whose value is missing (NaN, or inf from an overflow) are skipped rather than
poisoning the whole row; an example with no finite epoch at all gets NaN, hence the minimum score.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from prune_core.scores.arrays import as_labels, as_matrix, as_probabilities, nan_to_min


def _finite_mean(values: np.ndarray) -> np.ndarray:
    """Row means over the finite entries only (NaN for a row without any)."""
    finite = np.isfinite(values)
    count = finite.sum(axis=1)
    total = np.where(finite, values, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _finite_std(values: np.ndarray) -> np.ndarray:
    """Row population standard deviations (ddof=0) over the finite entries only."""
    # Non-finite entries stay non-finite after centring and squaring, so they are skipped again.
    return np.sqrt(_finite_mean((values - _finite_mean(values)[:, None]) ** 2))


def _per_epoch(values, name: str) -> np.ndarray:
    """Check an [n, E] matrix with at least one epoch."""
    arr = as_matrix(values, name)
    if arr.shape[1] == 0:
        raise ValueError(f"{name}: expected at least one epoch (column), found shape {arr.shape}")
    return arr


def _dynamics(values, name: str) -> np.ndarray:
    return _per_epoch(values, name).astype(np.float64)


def _correctness(correct, name: str, *, shape: tuple[int, int] | None = None) -> np.ndarray:
    arr = _per_epoch(correct, name)
    if shape is not None and arr.shape != shape:
        raise ValueError(f"{name}: expected shape {shape} (like p_gold), found {arr.shape}")
    if arr.size and not np.isin(arr, (0, 1)).all():
        bad = np.argwhere(~np.isin(arr, (0, 1)))[0]
        raise ValueError(
            f"{name}: expected 0/1 (or bool) values, found {arr[tuple(bad)]!r} at row {bad[0]}, "
            f"epoch {bad[1]}"
        )
    return arr.astype(bool)


def el2n(probs: np.ndarray | Sequence[np.ndarray], labels: np.ndarray) -> np.ndarray:
    """EL2N: the L2 norm of softmax(f(x)) - onehot(y) per example (higher = harder = keep).

    Paul, Ganguli & Dziugaite (2021), "Deep Learning on a Data Diet", NeurIPS: EL2N_t(x, y) =
    E_runs ||p_t(x) - e_y||_2 at an early time t. Pass one [n, C] probability matrix, or a list of them
    (several runs or checkpoints) to get the mean over runs the paper uses. For two classes EL2N equals
    sqrt(2) * (1 - p_gold), so it ranks like 1 - p(gold).
    """
    runs = [probs] if isinstance(probs, np.ndarray) else list(probs)
    if not runs:
        raise ValueError("el2n: expected at least one [n, C] probability matrix, found an empty list")
    first = as_matrix(runs[0], "el2n probs[0]")
    n, n_classes = first.shape
    y = as_labels(labels, "el2n labels", n=n, n_classes=n_classes)
    total = np.zeros(n, dtype=np.float64)
    for r, run in enumerate(runs):
        err = as_probabilities(run, f"el2n probs[{r}]", rows=n, cols=n_classes)
        err[np.arange(n), y] -= 1.0
        total += np.sqrt((err**2).sum(axis=1))
    return nan_to_min(total / len(runs))


def forgetting_counts(correct: np.ndarray, *, never_learned: float | None = None) -> np.ndarray:
    """Number of forgetting events (correct at one epoch, wrong at the next) per example; higher = keep.

    Toneva et al. (2019), "An Empirical Study of Example Forgetting during Deep Neural Network Learning",
    ICLR: an event is acc_{s-1} = 1 -> acc_s = 0 between consecutive presentations. Examples never
    classified correctly are the most forgettable (the paper gives them +inf); here they get
    ``never_learned``, by default E (the number of epochs), which is strictly greater than the largest
    possible count floor(E / 2) yet keeps the score finite for correlations and plots.
    """
    acc = _correctness(correct, "forgetting_counts correct")
    n_epochs = acc.shape[1]
    fill = float(n_epochs if never_learned is None else never_learned)
    if fill <= n_epochs // 2:
        raise ValueError(
            f"forgetting_counts: never_learned must exceed the largest possible count "
            f"{n_epochs // 2} for {n_epochs} epochs, found {fill}"
        )
    events = (acc[:, :-1] & ~acc[:, 1:]).sum(axis=1).astype(np.float64)
    events[~acc.any(axis=1)] = fill
    return nan_to_min(events)


def aum(margin: np.ndarray) -> np.ndarray:
    """Minus the area under the margin (mean over epochs of gold logit - largest other logit).

    Pleiss et al. (2020), "Identifying Mislabeled Data using the Area Under the Margin Ranking",
    NeurIPS: AUM_i = mean_t margin_t(x_i, y_i); a low (negative) AUM marks a hard or mislabelled example.
    Used as a difficulty score (as CCS and D2 pruning do), so the score returned is -AUM: higher = keep.
    """
    return nan_to_min(-_finite_mean(_dynamics(margin, "aum margin")))


def accumulated_probability_margin(prob_margin: np.ndarray) -> np.ndarray:
    """Minus the probability-margin AUM accumulated over epochs: CCS's and D2's difficulty score.

    Zheng et al. (2023), "Coverage-centric Coreset Selection for High Pruning Rates", ICLR (the
    ``accumulated_margin`` score of their generate_importance_score.py) and Maharana et al. (2024), D2
    Pruning, ICLR: at every epoch the margin is p(gold) minus the largest other class *probability*
    (softmax, not logits), summed over epochs. ``prob_margin`` is that [n, E] per-epoch margin. Returned
    as -sum (higher = harder = the difficulty orientation); epochs without a value are skipped.
    """
    m = _dynamics(prob_margin, "accumulated_probability_margin prob_margin")
    total = np.where(np.isfinite(m), m, 0.0).sum(axis=1)
    total[~np.isfinite(m).any(axis=1)] = np.nan
    return nan_to_min(-total)


def datamap(p_gold: np.ndarray, correct: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Data-map coordinates (confidence, variability, correctness) and the three region scores.

    Swayamdipta et al. (2020), "Dataset Cartography", EMNLP: confidence = mean over epochs of p(gold),
    variability = their population standard deviation (ddof=0, as the original and Du et al.),
    correctness = fraction of epochs predicted correctly. Oriented scores (higher = keep):
    ``datamap_hard`` = 1 - confidence (hard-to-learn), ``datamap_ambiguous`` = variability,
    ``datamap_easy`` = confidence. The three coordinates are returned raw (NaN where an example has no
    finite epoch) because they are plotted; the scores pass through ``nan_to_min``.

    Without ``correct`` the correctness is the fraction of epochs with p(gold) > 0.5: exact for two
    classes (ties aside), a lower bound for more (p(gold) > 0.5 implies the argmax is gold).
    """
    p = _dynamics(p_gold, "datamap p_gold")
    if correct is None:
        acc = np.where(np.isfinite(p), (p > 0.5).astype(np.float64), np.nan)
    else:
        acc = _correctness(correct, "datamap correct", shape=p.shape).astype(np.float64)
    confidence = _finite_mean(p)
    variability = _finite_std(p)
    return {
        "confidence": confidence,
        "variability": variability,
        "correctness": _finite_mean(acc),
        "datamap_hard": nan_to_min(1.0 - confidence),
        "datamap_ambiguous": nan_to_min(variability),
        "datamap_easy": nan_to_min(confidence),
    }
