"""Classification scores of one model's predictions: accuracy and macro-F1, as Du et al. (2025) report.

Both are scikit-learn's (``accuracy_score``, ``f1_score(average="macro")``), as in Du et al.'s code
: macro-F1 averages over the labels present in the gold labels or the predictions, and a
gold label the model never predicts scores F1 = 0 (``zero_division=0``, no warning). So a subset that
teaches the model to predict one class only (LESS on an imbalanced dataset) shows up
as a low macro-F1 even where its accuracy looks fine.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score, f1_score


def classification_metrics(labels: np.ndarray, predictions: np.ndarray, num_labels: int) -> dict[str, object]:
    """``accuracy``, ``macro_f1`` and ``predicted_counts`` (how often each label was predicted)."""
    y = np.asarray(labels, dtype=np.int64).ravel()
    p = np.asarray(predictions, dtype=np.int64).ravel()
    if y.shape != p.shape:
        raise ValueError(
            f"classification_metrics: expected as many predictions as labels, found {p.size} "
            f"predictions for {y.size} labels"
        )
    if y.size == 0:
        raise ValueError("classification_metrics: expected at least one labelled example, found none")
    for name, values in (("labels", y), ("predictions", p)):
        if values.min() < 0 or values.max() >= num_labels:
            raise ValueError(
                f"classification_metrics: {name} must lie in 0..{num_labels - 1}, found "
                f"{values.min()}..{values.max()}"
            )
    return {
        "accuracy": float(accuracy_score(y, p)),
        "macro_f1": float(f1_score(y, p, average="macro", zero_division=0)),
        "predicted_counts": np.bincount(p, minlength=num_labels).astype(int).tolist(),
    }
