"""Reference models and the three representations: loss trajectories, hidden states, gradients."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit

from prune_core.simulate import (
    LabConfig,
    ReferenceModel,
    build_world,
    example_gradients,
    gaussian_mixture,
    hard_to_learn_scores,
    make_classification_with_flips,
    paper_split,
    probability_grid,
    train_logistic,
    train_mlp,
)


@pytest.fixture(scope="module")
def paper_split_():
    return paper_split(make_classification_with_flips())


@pytest.fixture(scope="module")
def paper_training(paper_split_):
    return train_logistic(paper_split_)


def test_logistic_model_reproduces_the_notebooks_validation_accuracy(paper_training):
    assert paper_training.validation_accuracy == 0.875  # printed by sampling_toy.ipynb


def test_loss_trajectories_have_one_column_per_epoch_and_end_at_the_final_models_loss(
    paper_split_, paper_training
):
    train = paper_split_.train
    assert paper_training.train_losses.shape == (600, 100)
    assert paper_training.validation_losses.shape == (200, 100)
    p_plus = paper_training.model.probability(train.x)
    p_gold = np.where(train.y > 0, p_plus, 1 - p_plus)
    assert paper_training.train_losses[:, -1] == pytest.approx(-np.log(p_gold + 1e-10), rel=1e-12)


def test_logistic_training_is_deterministic_per_seed(paper_split_):
    a, b = train_logistic(paper_split_, epochs=5, seed=1), train_logistic(paper_split_, epochs=5, seed=1)
    assert np.array_equal(a.train_losses, b.train_losses)


def test_hidden_state_of_the_logistic_model_is_the_raw_input(paper_split_, paper_training):
    assert np.array_equal(paper_training.model.hidden(paper_split_.train.x), paper_split_.train.x)


def test_gradient_is_x_times_y_times_one_minus_gold_probability_on_a_hand_example():
    model = ReferenceModel("logistic", np.array([1.0, 0.0]), 0.0)
    x, y = np.array([[2.0, 3.0], [2.0, 3.0]]), np.array([1, -1])
    p = expit(2.0)  # p(+1) for both rows
    expected = np.array([[2 * (1 - p), 3 * (1 - p)], [-2 * p, -3 * p]])
    assert example_gradients(model, x, y) == pytest.approx(expected)
    with_bias = example_gradients(model, x, y, bias=True)
    assert with_bias[:, 2] == pytest.approx([1 - p, -p])


def _loss(model: ReferenceModel, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    p_plus = model.probability(x)
    return -np.log(np.where(y > 0, p_plus, 1 - p_plus))


def test_mlp_gradient_is_minus_the_loss_gradient_wrt_the_output_weights():
    rng = np.random.default_rng(0)
    model = ReferenceModel("mlp", rng.normal(size=4), 0.3, rng.normal(size=(2, 4)), rng.normal(size=4))
    x, y = rng.normal(size=(5, 2)), np.array([1, -1, 1, 1, -1])
    step, numeric = 1e-6, np.zeros((5, 4))

    def loss_with(out_weights: np.ndarray) -> np.ndarray:
        return _loss(ReferenceModel("mlp", out_weights, 0.3, model.hidden_weights, model.hidden_bias), x, y)

    for j in range(4):
        up, down = model.out_weights.copy(), model.out_weights.copy()
        up[j] += step
        down[j] -= step
        numeric[:, j] = (loss_with(up) - loss_with(down)) / (2 * step)
    assert example_gradients(model, x, y) == pytest.approx(-numeric, abs=1e-7)


def test_mlp_hidden_state_is_its_learned_tanh_layer():
    world = build_world(LabConfig(model="mlp", hidden_units=8, epochs=20))
    model, train = world.training.model, world.split.train
    hidden = world.representations["hidden"].train
    assert hidden.shape == (600, 8)
    assert np.array_equal(hidden, np.tanh(train.x @ model.hidden_weights + model.hidden_bias))
    assert world.representations["gradient"].train.shape == (600, 8)


def test_mlp_separates_alternating_blobs_that_a_logistic_model_cannot():
    split = paper_split(gaussian_mixture(1000, blobs_per_class=3, separation=2.0, label_noise=0.0, seed=0))
    assert train_mlp(split, epochs=100, seed=0).validation_accuracy > 0.9
    assert train_logistic(split, epochs=100, seed=0).validation_accuracy < 0.75


def test_mlp_training_is_deterministic_per_seed(paper_split_):
    a, b = train_mlp(paper_split_, epochs=3, seed=4), train_mlp(paper_split_, epochs=3, seed=4)
    assert np.array_equal(a.model.out_weights, b.model.out_weights)


def test_hard_to_learn_score_is_one_plus_mean_inverse_gold_probability():
    losses = -np.log(np.array([[0.5, 0.25], [1.0, 1.0]]))
    assert hard_to_learn_scores(losses) == pytest.approx([1 + (2 + 4) / 2, 2.0])


def test_probability_grid_covers_the_points_with_a_margin():
    model = ReferenceModel("logistic", np.array([1.0, 0.0]), 0.0)
    xs, ys, p = probability_grid(model, np.array([[0.0, 0.0], [2.0, 1.0]]), resolution=5, margin=0.5)
    assert (xs[0], xs[-1], ys[0], ys[-1]) == (-0.5, 2.5, -0.5, 1.5)
    assert p.shape == (5, 5)
    assert p[0] == pytest.approx(expit(xs))  # p(+1) depends on the first coordinate only


def test_unknown_model_kind_is_refused():
    with pytest.raises(ValueError, match="LabConfig.model: expected one of .* found 'svm'"):
        LabConfig(model="svm")
