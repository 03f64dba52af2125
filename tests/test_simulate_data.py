"""The lab's data: the paper's make_classification call, the exact flipped set, the mixture, the split."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split

from prune_core.simulate import gaussian_mixture, make_classification_with_flips, paper_split

PAPER_ARGS = {
    "n_samples": 1000,
    "n_features": 2,
    "n_informative": 2,
    "n_redundant": 0,
    "n_clusters_per_class": 2,
    "random_state": 42,
}


class RecordingRandomState(np.random.RandomState):
    """sklearn's own random stream, with the draws that decide the flips and the shuffle written down."""

    def __init__(self, seed: int) -> None:
        super().__init__(seed)
        self.uniforms, self.randints, self.shuffles = [], [], []

    def uniform(self, *args, **kwargs):
        out = super().uniform(*args, **kwargs)
        self.uniforms.append(np.copy(out))
        return out

    def randint(self, *args, **kwargs):
        out = super().randint(*args, **kwargs)
        self.randints.append(np.copy(out))
        return out

    def shuffle(self, x):
        super().shuffle(x)
        self.shuffles.append(np.copy(x))


def test_default_data_is_exactly_the_papers_make_classification_call():
    x, y01 = make_classification(**PAPER_ARGS)
    data = make_classification_with_flips()
    assert np.array_equal(data.x, x)
    assert np.array_equal(data.y, 2 * y01 - 1)  # the notebook maps {0, 1} to {-1, +1}
    assert set(np.unique(data.y)) == {-1, 1}


@pytest.mark.parametrize("flip_y", [0.01, 0.2])
def test_flipped_set_is_exactly_the_labels_sklearns_random_stream_changed(flip_y):
    # Independent derivation: record the flip mask, the replacement labels and the row shuffle as sklearn
    # draws them. Clusters of 250 rows come in order with labels 0, 1, 0, 1 before the flip.
    stream = RecordingRandomState(42)
    x, _ = make_classification(**{**PAPER_ARGS, "random_state": stream}, flip_y=flip_y)
    mask = next(u for u in stream.uniforms if np.shape(u) == (1000,)) < flip_y
    replacement = next(r for r in stream.randints if np.shape(r) == (mask.sum(),))
    clean = np.repeat([0, 1, 0, 1], 250)
    changed = np.zeros(1000, dtype=bool)
    changed[mask] = replacement != clean[mask]
    row_order = next(s for s in stream.shuffles if len(s) == 1000)
    data = make_classification_with_flips(flip_y=flip_y)
    assert np.array_equal(data.x, x)
    assert np.array_equal(data.flipped, changed[row_order])
    assert np.array_equal(data.blob, np.repeat([0, 1, 2, 3], 250)[row_order])


def test_default_data_has_six_flipped_labels_four_of_them_in_training():
    data = make_classification_with_flips()
    split = paper_split(data)
    assert int(data.flipped.sum()) == 6
    assert int(split.train.flipped.sum()) == 4


def test_no_label_is_flipped_without_label_noise():
    data = make_classification_with_flips(flip_y=0.0)
    assert not data.flipped.any()
    assert np.array_equal(data.y > 0, data.blob % 2 == 1)  # every label is its blob's label


def test_unflipped_points_carry_their_blobs_label():
    data = make_classification_with_flips(flip_y=0.3)
    clean = np.where(data.blob % 2 == 1, 1, -1)
    assert np.array_equal(data.y != clean, data.flipped)


def test_minority_share_sets_make_classification_weights():
    data = make_classification_with_flips(minority_share=0.2, flip_y=0.0)
    x, _ = make_classification(**PAPER_ARGS, weights=[0.8, 0.2], flip_y=0.0)
    assert np.array_equal(data.x, x)
    assert int((data.y > 0).sum()) == 200


def test_make_classification_refuses_more_than_two_blobs_per_label():
    with pytest.raises(ValueError, match="1 or 2 blobs per class, found blobs_per_class=3"):
        make_classification_with_flips(blobs_per_class=3)


def test_minority_share_above_one_half_is_refused():
    with pytest.raises(ValueError, match=r"minority_share .* in \(0, 0.5\], found 0.7"):
        gaussian_mixture(minority_share=0.7)


def test_default_split_is_600_200_200_exactly_as_the_notebook_splits():
    data = make_classification_with_flips()
    split = paper_split(data)
    x_train, x_rest, y_train, y_rest = train_test_split(data.x, data.y, test_size=0.4, random_state=42)
    x_val, _, _, y_test = train_test_split(x_rest, y_rest, test_size=0.5, random_state=42)
    assert (len(split.train), len(split.validation), len(split.test)) == (600, 200, 200)
    assert np.array_equal(split.train.x, x_train) and np.array_equal(split.train.y, y_train)
    assert np.array_equal(split.validation.x, x_val) and np.array_equal(split.test.y, y_test)
    every_row = np.concatenate([split.train_index, split.validation_index, split.test_index])
    assert np.array_equal(np.sort(every_row), np.arange(1000))


def test_mixture_draws_the_requested_number_of_blobs_with_alternating_labels():
    data = gaussian_mixture(1200, blobs_per_class=3, label_noise=0.0, seed=1)
    assert np.array_equal(np.unique(data.blob), np.arange(6))
    assert np.array_equal(np.bincount(data.blob), [200] * 6)
    assert np.array_equal(data.y, np.where(data.blob % 2 == 1, 1, -1))


@pytest.mark.parametrize("separation", [1.0, 3.0])
def test_mixture_separation_is_half_the_distance_between_neighbouring_blob_centres(separation):
    data = gaussian_mixture(20_000, blobs_per_class=2, separation=separation, label_noise=0.0, seed=0)
    centres = np.array([data.x[data.blob == b].mean(axis=0) for b in range(4)])
    neighbours = np.linalg.norm(centres - np.roll(centres, -1, axis=0), axis=1)
    assert neighbours == pytest.approx([2 * separation] * 4, abs=0.08)  # unit-variance blobs of 5 000 points


def test_mixture_label_noise_flips_that_share_and_says_which():
    data = gaussian_mixture(20_000, label_noise=0.1, seed=3)
    clean = np.where(data.blob % 2 == 1, 1, -1)
    assert np.array_equal(data.y != clean, data.flipped)
    assert data.flipped.mean() == pytest.approx(0.1, abs=0.01)


def test_mixture_minority_share_is_the_share_of_label_plus_one_before_noise():
    data = gaussian_mixture(1000, minority_share=0.1, label_noise=0.0, seed=0)
    assert int((data.y > 0).sum()) == 100


def test_mixture_is_deterministic_per_seed():
    a, b, c = gaussian_mixture(seed=5), gaussian_mixture(seed=5), gaussian_mixture(seed=6)
    assert np.array_equal(a.x, b.x) and np.array_equal(a.flipped, b.flipped)
    assert not np.array_equal(a.x, c.x)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(50, 400),
    blobs=st.integers(1, 5),
    share=st.floats(0.05, 0.5),
    noise=st.floats(0.0, 1.0),
    seed=st.integers(0, 10_000),
)
def test_mixture_controls_hold_for_any_setting(n, blobs, share, noise, seed):
    data = gaussian_mixture(n, blobs_per_class=blobs, minority_share=share, label_noise=noise, seed=seed)
    clean = np.where(data.blob % 2 == 1, 1, -1)
    assert len(data) == n and data.x.shape == (n, 2)
    assert int((clean > 0).sum()) == round(n * share)
    assert np.array_equal(data.y != clean, data.flipped)
    for parity in (0, 1):  # each label's points are shared equally (within one) among its blobs
        sizes = np.bincount(data.blob, minlength=2 * blobs)[parity::2]
        assert sizes.max() - sizes.min() <= 1
