"""The fast evaluation: a logistic-regression probe on frozen pre-trained hidden states of a subset.

Why: fine-tuning once per (method, budget, seed) is the real test of a subset but costs a fine-tune each;
a linear probe on the pre-trained model's representations (hidden/<split>/pretrained/<pooling>, computed
once by ``compute``) fits in milliseconds, so a large grid of methods and budgets gets a first look in
seconds. It measures how informative the subset's examples and labels are for a linear read-out of
fixed features, not how well the network would fine-tune on them, so use it to rank, then confirm the
interesting cells in fine-tune mode.

The probe is scikit-learn's ``StandardScaler`` (fitted on the subset only) followed by an L2-regularised
``LogisticRegression`` (lbfgs, solved to convergence). That problem is convex and its solver
deterministic: for a fixed subset the seed changes nothing, so seed spread in fast mode comes only from
subsets that depend on the seed (the random band).
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

POOLINGS = ("cls", "mean")


@dataclass(frozen=True)
class ProbeConfig:
    """Everything about the probe that changes its predictions (part of every fast result's cache key)."""

    C: float = 1.0  # inverse L2 strength, scikit-learn's default
    max_iter: int = 2000
    standardize: bool = True
    pooling: str = "cls"  # which stored pooling of the last hidden layer: "cls" or "mean"

    def __post_init__(self) -> None:
        if not self.C > 0:
            raise ValueError(
                f"ProbeConfig.C: expected a positive inverse regularisation strength, found {self.C!r}"
            )
        if self.max_iter < 1:
            raise ValueError(f"ProbeConfig.max_iter: expected >= 1, found {self.max_iter!r}")
        if self.pooling not in POOLINGS:
            raise ValueError(f"ProbeConfig.pooling: expected one of {POOLINGS}, found {self.pooling!r}")

    def to_dict(self) -> dict:
        return asdict(self)


def make_probe(config: ProbeConfig, seed: int) -> Pipeline:
    """The scikit-learn estimator the fast mode fits (exposed so tests can run it directly)."""
    classifier = LogisticRegression(C=config.C, max_iter=config.max_iter, random_state=seed)
    return make_pipeline(StandardScaler(), classifier) if config.standardize else make_pipeline(classifier)


def probe_predictions(
    train_x: np.ndarray, train_y: np.ndarray, eval_x: dict[str, np.ndarray], config: ProbeConfig, seed: int
) -> dict[str, np.ndarray]:
    """Fit the probe on (train_x, train_y) and predict every array of ``eval_x``; returns int64 labels.

    A subset holding one label only (possible at small budgets on an imbalanced dataset) cannot fit a
    logistic regression; the probe then predicts that label everywhere, which is what any classifier
    trained on it would learn, and which the metrics score as the failure it is.
    """
    x = np.asarray(train_x, dtype=np.float32)
    y = np.asarray(train_y, dtype=np.int64).ravel()
    if x.ndim != 2 or x.shape[0] != y.shape[0] or y.size == 0:
        raise ValueError(
            f"probe_predictions: expected features [k, h] and k >= 1 labels, found features "
            f"{x.shape} and {y.shape[0]} labels"
        )
    present = np.unique(y)
    if present.size == 1:
        return {split: np.full(len(values), present[0], dtype=np.int64) for split, values in eval_x.items()}
    probe = make_probe(config, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter bounds the cost; the result is kept
        probe.fit(x, y)
    return {
        split: probe.predict(np.asarray(values, dtype=np.float32)).astype(np.int64)
        for split, values in eval_x.items()
    }
