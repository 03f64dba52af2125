"""The lab's reference models and the three representations Du et al. compare: loss trajectories,
hidden states and per-example gradients.

Why: Du et al. (2025, ACL; sampling_toy.ipynb) train a logistic regression with
``SGDClassifier(loss='log_loss', max_iter=1, warm_start=True, random_state=42)`` and 100 calls of
``partial_fit`` on the whole training set, recording after each epoch every example's loss
-log(p(gold) + 1e-10) (train and validation). Their three representations of example i are
- l_M: that loss trajectory [epochs];
- h_M: the hidden state, which for a logistic model is the raw 2-D input;
- grad l_M: the gradient of the example's loss w.r.t. the final weights, written as
  h_i * y_i * (1 - p_i(gold)) with y in {-1, +1}. The true gradient is minus this (Section 3.2 of
  their ICLR version: g = -(1 - p) y h); the sign flips every row alike, so no selector's choice
  changes, and we keep the notebook's sign. No bias term unless ``gradient_bias`` (then a constant 1
  is appended to h: the gradient w.r.t. the bias is the same factor times 1).

The MLP (our addition, so that the hidden state is a learned layer): 2 -> ``hidden_units`` tanh -> 1
logistic output, mini-batch Adam (batch 32, lr 0.01, Kingma & Ba 2015 defaults otherwise), the same
per-epoch loss recording. Its hidden state is the tanh layer; its gradient is the exact per-example
gradient w.r.t. the output layer's weights, (p(+1) - y01) h = -y (1 - p(gold)) h, again reported with
the notebook's sign. Written in numpy rather than torch: a 600 x 16 network needs no autograd, the
result is bit-reproducible from the seed, and the page avoids torch's import time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit
from sklearn.linear_model import SGDClassifier

from prune_core.simulate.data import LabSplit

LOSS_FLOOR = 1e-10  # the notebook's -log(p + 1e-10)
MLP_BATCH = 32
MLP_LEARNING_RATE = 0.01
REPRESENTATIONS = ("loss", "hidden", "gradient")


@dataclass(frozen=True)
class ReferenceModel:
    """p(+1 | x) = sigmoid(<hidden(x), w> + b), with hidden(x) = x, or tanh(x W + b) for the MLP."""

    kind: str
    out_weights: np.ndarray  # [d]
    out_bias: float
    hidden_weights: np.ndarray | None = None  # [2, H] (MLP only)
    hidden_bias: np.ndarray | None = None  # [H] (MLP only)

    def hidden(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if self.hidden_weights is None:
            return x
        return np.tanh(x @ self.hidden_weights + self.hidden_bias)

    def probability(self, x: np.ndarray) -> np.ndarray:
        """p(label = +1 | x) for every row of x."""
        return expit(self.hidden(x) @ self.out_weights + self.out_bias)


@dataclass(frozen=True)
class Training:
    """A trained reference model with its per-epoch losses (train [n, E], validation [m, E])."""

    model: ReferenceModel
    train_losses: np.ndarray
    validation_losses: np.ndarray
    validation_accuracy: float
    test_accuracy: float


def gold_probability(model: ReferenceModel, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """p(gold label) for labels y in {-1, +1}."""
    p_plus = model.probability(x)
    return np.where(np.asarray(y) > 0, p_plus, 1.0 - p_plus)


def _loss(p_gold: np.ndarray) -> np.ndarray:
    return -np.log(p_gold + LOSS_FLOOR)


def _accuracy(model: ReferenceModel, x: np.ndarray, y: np.ndarray) -> float:
    if len(y) == 0:
        return float("nan")
    return float(np.mean(np.where(model.probability(x) > 0.5, 1, -1) == y))


def train_logistic(split: LabSplit, *, epochs: int = 100, seed: int = 42) -> Training:
    """The notebook's reference model: SGDClassifier(log_loss) with ``epochs`` partial_fit calls."""
    _check_epochs(epochs)
    tr, va = split.train, split.validation
    classifier = SGDClassifier(loss="log_loss", max_iter=1, warm_start=True, random_state=seed)
    classes = np.array([-1, 1])
    gold_tr, gold_va = (tr.y > 0).astype(int), (va.y > 0).astype(int)
    train_losses, val_losses = [], []
    for _ in range(epochs):
        classifier.partial_fit(tr.x, tr.y, classes=classes)
        train_losses.append(_loss(classifier.predict_proba(tr.x)[np.arange(len(tr)), gold_tr]))
        val_losses.append(_loss(classifier.predict_proba(va.x)[np.arange(len(va)), gold_va]))
    weights, bias = classifier.coef_[0].astype(np.float64), float(classifier.intercept_[0])
    model = ReferenceModel("logistic", weights, bias)
    return Training(
        model,
        np.stack(train_losses, axis=1),
        np.stack(val_losses, axis=1),
        _accuracy(model, va.x, va.y),
        _accuracy(model, split.test.x, split.test.y),
    )


def train_mlp(split: LabSplit, *, epochs: int = 100, hidden_units: int = 16, seed: int = 42) -> Training:
    """One tanh hidden layer, logistic output, mini-batch Adam; per-epoch losses like the logistic model."""
    _check_epochs(epochs)
    if int(hidden_units) < 1:
        raise ValueError(f"train_mlp: expected hidden_units >= 1, found {hidden_units}")
    rng = np.random.default_rng(seed)
    tr, va = split.train, split.validation
    params = [
        rng.normal(0.0, 1.0 / np.sqrt(2.0), (2, hidden_units)),
        np.zeros(hidden_units),
        rng.normal(0.0, 1.0 / np.sqrt(hidden_units), hidden_units),
        np.zeros(1),
    ]
    adam = _Adam(params)
    target = (tr.y > 0).astype(np.float64)
    train_losses, val_losses = [], []
    for _ in range(epochs):
        order = rng.permutation(len(tr))
        for start in range(0, len(tr), MLP_BATCH):
            batch = order[start : start + MLP_BATCH]
            adam.step(params, _mlp_gradients(params, tr.x[batch], target[batch]))
        model = _mlp_model(params)
        train_losses.append(_loss(gold_probability(model, tr.x, tr.y)))
        val_losses.append(_loss(gold_probability(model, va.x, va.y)))
    model = _mlp_model(params)
    return Training(
        model,
        np.stack(train_losses, axis=1),
        np.stack(val_losses, axis=1),
        _accuracy(model, va.x, va.y),
        _accuracy(model, split.test.x, split.test.y),
    )


def _check_epochs(epochs: int) -> None:
    if isinstance(epochs, bool) or int(epochs) < 1:
        raise ValueError(f"expected epochs >= 1, found {epochs!r}")


def _mlp_model(params: list[np.ndarray]) -> ReferenceModel:
    w1, b1, w2, b2 = (p.copy() for p in params)
    return ReferenceModel("mlp", w2, float(b2[0]), w1, b1)


def _mlp_gradients(params: list[np.ndarray], x: np.ndarray, target: np.ndarray) -> list[np.ndarray]:
    """Mean binary cross-entropy gradients by backpropagation (d loss / d logit = p - y01)."""
    w1, b1, w2, b2 = params
    h = np.tanh(x @ w1 + b1)
    d_logit = (expit(h @ w2 + b2[0]) - target) / x.shape[0]
    d_pre = np.outer(d_logit, w2) * (1.0 - h * h)
    return [x.T @ d_pre, d_pre.sum(axis=0), h.T @ d_logit, np.array([d_logit.sum()])]


class _Adam:
    """Adam (Kingma & Ba 2015) with bias correction, beta1 0.9, beta2 0.999, eps 1e-8."""

    def __init__(self, params: list[np.ndarray], lr: float = MLP_LEARNING_RATE) -> None:
        self.lr, self.t = lr, 0
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]

    def step(self, params: list[np.ndarray], grads: list[np.ndarray]) -> None:
        self.t += 1
        for p, g, m, v in zip(params, grads, self.m, self.v):
            m *= 0.9
            m += 0.1 * g
            v *= 0.999
            v += 0.001 * g * g
            p -= self.lr * (m / (1 - 0.9**self.t)) / (np.sqrt(v / (1 - 0.999**self.t)) + 1e-8)


def train_reference(
    split: LabSplit, *, kind: str = "logistic", epochs: int = 100, hidden_units: int = 16, seed: int = 42
) -> Training:
    """``train_logistic`` (the paper's model) or ``train_mlp``."""
    if kind == "logistic":
        return train_logistic(split, epochs=epochs, seed=seed)
    if kind == "mlp":
        return train_mlp(split, epochs=epochs, hidden_units=hidden_units, seed=seed)
    raise ValueError(f"train_reference: expected kind 'logistic' or 'mlp', found {kind!r}")


def example_gradients(
    model: ReferenceModel, x: np.ndarray, y: np.ndarray, *, bias: bool = False
) -> np.ndarray:
    """The notebook's per-example gradient h y (1 - p(gold)) w.r.t. the output weights (+ bias if asked)."""
    h = model.hidden(x)
    if bias:
        h = np.c_[h, np.ones(h.shape[0])]
    return h * (np.asarray(y) * (1.0 - gold_probability(model, x, y)))[:, None]


@dataclass(frozen=True)
class Representation:
    """One representation of the training and the validation examples."""

    name: str
    train: np.ndarray  # [n, d]
    validation: np.ndarray  # [m, d]


def representations(
    training: Training, split: LabSplit, *, gradient_bias: bool = False
) -> dict[str, Representation]:
    """The three representations of Du et al. keyed by "loss", "hidden", "gradient"."""
    model = training.model
    tr, va = split.train, split.validation
    return {
        "loss": Representation("loss", training.train_losses, training.validation_losses),
        "hidden": Representation("hidden", model.hidden(tr.x), model.hidden(va.x)),
        "gradient": Representation(
            "gradient",
            example_gradients(model, tr.x, tr.y, bias=gradient_bias),
            example_gradients(model, va.x, va.y, bias=gradient_bias),
        ),
    }


def hard_to_learn_scores(train_losses: np.ndarray) -> np.ndarray:
    """The notebook's Difficulty_h2l score 1 + mean_e exp(loss_e) = 1 + mean inverse gold probability."""
    return 1.0 + np.exp(np.asarray(train_losses, dtype=np.float64)).mean(axis=1)


def probability_grid(
    model: ReferenceModel, x: np.ndarray, *, resolution: int = 120, margin: float = 0.5
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """p(+1) on a ``resolution``-square grid covering x plus ``margin``: (xs, ys, p[len(ys), len(xs)])."""
    lo, hi = x.min(axis=0) - margin, x.max(axis=0) + margin
    xs, ys = np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution)
    gx, gy = np.meshgrid(xs, ys)
    return xs, ys, model.probability(np.c_[gx.ravel(), gy.ravel()]).reshape(gy.shape)
