"""The lab's 2-D data: the seed paper's ``make_classification`` set-up, a Gaussian-mixture generator with
plain controls, which labels were flipped, and the 600 / 200 / 200 split.

Why: Du et al. (2025, ACL; sampling_toy.ipynb) draw 1 000 points with
``make_classification(n_features=2, n_informative=2, n_redundant=0, n_clusters_per_class=2,
random_state=42)`` (library defaults class_sep=1.0, flip_y=0.01), map labels to {-1, +1} and split
them 600 / 200 / 200 with ``train_test_split(random_state=42)`` twice. ``flip_y`` reassigns about 1 %
of the labels at random but does not say which; the lab marks them so a user sees which selectors
chase label noise.

How the flipped set is found exactly (``make_classification_with_flips``): sklearn draws, in order,
the cluster means, the points, the flip mask, the replacement labels, the shift and the scale, and
only then the row and column permutation (``shuffle=True``). So the same call with ``shuffle=False``
returns the very same rows, unpermuted; the same call with ``flip_y=0, shuffle=False`` returns the
clean label of each unpermuted row (rows are grouped by cluster, label = cluster mod n_classes, and no
random draw decides it). Matching the shuffled rows to the unshuffled ones (real-valued coordinates
never coincide) gives each row's clean label and cluster. A point counts as flipped when its label
differs from its clean label; sklearn's mask also "reassigns" some points to their own label, and
those are not mislabelled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split

PAPER_SAMPLES = 1000
PAPER_SEED = 42


@dataclass(frozen=True)
class LabData:
    """Points, labels in {-1, +1}, whether each label was flipped, and the blob each point was drawn from."""

    x: np.ndarray  # [n, 2] float64
    y: np.ndarray  # [n] int64 in {-1, +1}
    flipped: np.ndarray  # [n] bool: label differs from the label of the blob the point was drawn from
    blob: np.ndarray  # [n] int64 blob (cluster) id

    def rows(self, index: np.ndarray) -> LabData:
        return LabData(self.x[index], self.y[index], self.flipped[index], self.blob[index])

    def __len__(self) -> int:
        return int(self.y.shape[0])


@dataclass(frozen=True)
class LabSplit:
    """The paper's three splits; ``*_index`` are row positions in the generated data."""

    train: LabData
    validation: LabData
    test: LabData
    train_index: np.ndarray
    validation_index: np.ndarray
    test_index: np.ndarray


def _weights(minority_share: float) -> list[float] | None:
    if not 0.0 < minority_share <= 0.5:
        raise ValueError(f"expected minority_share (share of label +1) in (0, 0.5], found {minority_share!r}")
    return None if minority_share == 0.5 else [1.0 - minority_share, minority_share]


def make_classification_with_flips(
    n_samples: int = PAPER_SAMPLES,
    *,
    blobs_per_class: int = 2,
    class_sep: float = 1.0,
    flip_y: float = 0.01,
    minority_share: float = 0.5,
    seed: int = PAPER_SEED,
) -> LabData:
    """sklearn's ``make_classification`` in 2-D exactly as the paper calls it, plus the flipped set.

    With the defaults, ``x`` and ``(y + 1) / 2`` are identical to ``make_classification(n_samples=1000,
    n_features=2, n_informative=2, n_redundant=0, n_clusters_per_class=2, random_state=42)``.
    ``minority_share`` below 0.5 passes ``weights=[1 - share, share]`` (label +1 is the minority).
    Two informative features allow at most 2 blobs per class.
    """
    if blobs_per_class not in (1, 2):
        raise ValueError(
            f"make_classification with 2 informative features allows 1 or 2 blobs per class, "
            f"found blobs_per_class={blobs_per_class} (the mixture generator allows more)"
        )
    args = {
        "n_samples": int(n_samples),
        "n_features": 2,
        "n_informative": 2,
        "n_redundant": 0,
        "n_clusters_per_class": int(blobs_per_class),
        "class_sep": float(class_sep),
        "weights": _weights(minority_share),
        "random_state": int(seed),
    }
    if flip_y != 0.01:  # the library default: leave it out so the default call is literally the paper's
        args["flip_y"] = float(flip_y)
    x, y01 = make_classification(**args)
    x_plain, _ = make_classification(**args, shuffle=False)
    _, clean_plain = make_classification(**{**args, "flip_y": 0.0}, shuffle=False)
    position = _match_rows(x, x_plain)
    blob_plain = _cluster_of_unshuffled_rows(clean_plain, args["weights"], int(blobs_per_class))
    clean = clean_plain[position]
    return LabData(
        x.astype(np.float64),
        (2 * y01 - 1).astype(np.int64),
        y01 != clean,
        blob_plain[position].astype(np.int64),
    )


def _match_rows(shuffled: np.ndarray, plain: np.ndarray) -> np.ndarray:
    """Row of ``plain`` that each row of ``shuffled`` is, after undoing sklearn's column permutation."""
    columns = [
        next(
            (
                j
                for j in range(plain.shape[1])
                if np.array_equal(np.sort(shuffled[:, i]), np.sort(plain[:, j]))
            ),
            None,
        )
        for i in range(shuffled.shape[1])
    ]
    if None in columns or len(set(columns)) != len(columns):
        raise RuntimeError(
            f"make_classification_with_flips: the unshuffled call did not reproduce the "
            f"shuffled columns (matched {columns}); sklearn's random stream has changed"
        )
    plain = plain[:, columns]
    where = {row.tobytes(): i for i, row in enumerate(plain)}
    if len(where) != plain.shape[0]:
        raise RuntimeError(
            "make_classification_with_flips: two generated points coincide exactly, so rows cannot be matched"
        )
    try:
        return np.array([where[row.tobytes()] for row in np.ascontiguousarray(shuffled)], dtype=np.int64)
    except KeyError as err:
        raise RuntimeError(
            "make_classification_with_flips: a shuffled row has no unshuffled twin; sklearn's "
            "random stream has changed"
        ) from err


def _cluster_of_unshuffled_rows(
    clean: np.ndarray, weights: list[float] | None, blobs_per_class: int
) -> np.ndarray:
    """Cluster id of each unshuffled row, from sklearn's own rule for the cluster sizes.

    make_classification gives cluster k (label k mod 2) int(n * weight / blobs_per_class) rows plus one
    of the leftover rows for the first clusters, in consecutive blocks. The clean labels it returned are
    checked against that layout, so a change in sklearn fails loudly instead of mislabelling blobs.
    """
    n, n_clusters = clean.shape[0], 2 * blobs_per_class
    share = weights or [0.5, 0.5]
    sizes = [int(n * share[k % 2] / blobs_per_class) for k in range(n_clusters)]
    for i in range(n - sum(sizes)):
        sizes[i % n_clusters] += 1
    blob = np.repeat(np.arange(n_clusters), sizes)
    if not np.array_equal(blob % 2, clean):
        raise RuntimeError(
            "make_classification_with_flips: the clean labels do not follow sklearn's cluster "
            "layout (label = cluster mod 2 in consecutive blocks); sklearn has changed"
        )
    return blob


def gaussian_mixture(
    n_samples: int = PAPER_SAMPLES,
    *,
    blobs_per_class: int = 2,
    separation: float = 1.0,
    label_noise: float = 0.01,
    minority_share: float = 0.5,
    seed: int = PAPER_SEED,
) -> LabData:
    """Isotropic unit-variance Gaussian blobs on a circle, labels alternating around it.

    Why this layout: ``2 * blobs_per_class`` centres evenly spaced on a circle with neighbouring
    centres ``2 * separation`` apart (the same "side 2 x class_sep" as make_classification's square), and
    neighbours of opposite labels; with more than one blob per class no straight line separates the
    labels, which is where the MLP's learned hidden layer differs from the raw input.
    ``minority_share`` is the share of label +1; each label's points are shared equally (within one)
    among its blobs. ``label_noise``: each label is flipped to the other one independently with that
    probability (so ``flipped`` is known exactly). Rows come in a seeded random order.
    """
    if int(blobs_per_class) < 1:
        raise ValueError(f"expected blobs_per_class >= 1, found {blobs_per_class}")
    if separation <= 0:
        raise ValueError(f"expected separation > 0, found {separation}")
    if not 0.0 <= label_noise <= 1.0:
        raise ValueError(f"expected label_noise in [0, 1], found {label_noise}")
    _weights(minority_share)
    rng = np.random.default_rng(seed)
    n_blobs = 2 * int(blobs_per_class)
    angle = 2 * np.pi * np.arange(n_blobs) / n_blobs
    radius = separation / np.sin(np.pi / n_blobs)  # chord between neighbours = 2 * separation
    centres = radius * np.c_[np.cos(angle), np.sin(angle)]
    n_plus = round(n_samples * minority_share)
    counts = {+1: n_plus, -1: int(n_samples) - n_plus}
    blob = np.concatenate(
        [
            np.arange(n_blobs)[(np.arange(n_blobs) % 2 == (1 if label > 0 else 0))].repeat(
                _equal_shares(counts[label], int(blobs_per_class))
            )
            for label in (-1, +1)
        ]
    )
    clean = np.where(blob % 2 == 1, 1, -1).astype(np.int64)
    x = centres[blob] + rng.standard_normal((blob.size, 2))
    flipped = rng.random(blob.size) < label_noise
    order = rng.permutation(blob.size)
    y = np.where(flipped, -clean, clean)
    return LabData(x[order], y[order], flipped[order], blob[order].astype(np.int64))


def _equal_shares(total: int, parts: int) -> np.ndarray:
    """``total`` split into ``parts`` counts that differ by at most one (larger ones first)."""
    base, extra = divmod(total, parts)
    return np.array([base + (i < extra) for i in range(parts)], dtype=np.int64)


def paper_split(data: LabData, *, seed: int = PAPER_SEED) -> LabSplit:
    """60 % train, then the remaining 40 % halved into validation and test, as the notebook does.

    ``train_test_split(test_size=0.4, random_state=seed)`` then ``train_test_split(test_size=0.5,
    random_state=seed)`` on the rest: 600 / 200 / 200 for 1 000 points.
    """
    index = np.arange(len(data))
    train, rest = train_test_split(index, test_size=0.4, random_state=seed)
    validation, test = train_test_split(rest, test_size=0.5, random_state=seed)
    return LabSplit(
        data.rows(train),
        data.rows(validation),
        data.rows(test),
        train.astype(np.int64),
        validation.astype(np.int64),
        test.astype(np.int64),
    )
