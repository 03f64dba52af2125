"""Row blocks over large feature arrays, and the one private float32 copy a selector may hold.

Why: at n = 1 000 000 and d = 1024 one float32 copy of the features is 4 GB. The stored arrays are read
memory-mapped (prune_core/store/run.py ``read_array``), so a selector that normalises or centres them must
build its working copy from the map block by block, and must not keep a second n x d temporary (an
elementwise ``x / norms`` or ``x - mean`` over the whole array allocates one). Pages of the map that have
been copied are handed back to the kernel (``MADV_DONTNEED`` on a read-only file map only drops them from
this process: the file and the page cache are untouched), so the peak resident size stays near one copy.

Every operation here is row-wise or the same whole-array reduction the unblocked code ran, so the values
are bit-identical to the whole-array versions (tests/test_select_blocks.py compares them).
"""

from __future__ import annotations

import mmap

import numpy as np

BLOCK_ROWS = 16_384  # rows per block: 64 MB of float32 at d = 1024


def row_blocks(n: int, rows: int = BLOCK_ROWS):
    """Consecutive slices covering 0..n, ``rows`` at a time."""
    for start in range(0, n, rows):
        yield slice(start, min(n, start + rows))


def release(array: np.ndarray, rows: slice) -> None:
    """Drop the pages holding ``array[rows]`` from this process's resident set when it is a file map."""
    base = array
    while base is not None and not isinstance(base, np.memmap):
        base = getattr(base, "base", None)
    handle = getattr(base, "_mmap", None)
    if handle is None or not array.flags.c_contiguous or not hasattr(handle, "madvise"):
        return
    row_bytes = array.strides[0]
    begin = array.__array_interface__["data"][0] - base.__array_interface__["data"][0]
    begin += int(getattr(base, "offset", 0)) % mmap.ALLOCATIONGRANULARITY + rows.start * row_bytes
    start = begin - begin % mmap.PAGESIZE + (mmap.PAGESIZE if begin % mmap.PAGESIZE else 0)
    stop = begin + (rows.stop - rows.start) * row_bytes
    stop -= stop % mmap.PAGESIZE
    if stop > start:
        try:
            handle.madvise(mmap.MADV_DONTNEED, start, stop - start)
        except (OSError, ValueError):
            pass  # advice only: a map that refuses it just stays resident


def check_finite(arr: np.ndarray, *, where: str, name: str) -> None:
    """Refuse NaN or infinite entries, checked block by block (no n x d boolean temporary)."""
    bad = []
    for rows in row_blocks(arr.shape[0]):
        finite = np.isfinite(arr[rows]).all(axis=1)
        if not finite.all():
            bad.append(np.flatnonzero(~finite) + rows.start)
    if bad:
        bad_rows = np.concatenate(bad)
        raise ValueError(
            f"{where}: {name} contain NaN or infinite values in {bad_rows.size} rows "
            f"(first rows: {bad_rows[:5].tolist()}); clean the representation first"
        )


def private_copy(features: np.ndarray, *, normalize: bool, rows: np.ndarray | None = None) -> np.ndarray:
    """A new C-contiguous float32 copy of 2-D ``features`` (of its sorted ``rows`` only, when given),
    rows L2-normalised when asked.

    Filled block by block from the source (pages of a memory map are released once copied). The
    normalisation divides each row by its float64-accumulated norm cast to float32, a zero row staying
    zero: the same values as ``_validate.l2_normalize`` on the whole array.
    """
    from prune_core.select._validate import row_norms

    n = features.shape[0] if rows is None else len(rows)
    out = np.empty((n, features.shape[1]), dtype=np.float32)
    for part in row_blocks(n):
        block = out[part]
        if rows is None:
            block[...] = features[part]
            release(features, part)
        else:
            chosen = np.asarray(rows[part], dtype=np.int64)
            block[...] = features[chosen]
            if chosen.size and np.all(chosen[1:] >= chosen[:-1]):
                release(features, slice(int(chosen[0]), int(chosen[-1]) + 1))
        if normalize:
            norms = row_norms(block)
            norms[norms == 0] = 1.0
            block /= norms[:, None].astype(np.float32)
    return out


def centre_in_place(x: np.ndarray) -> np.ndarray:
    """Subtract the mean row from a private float32 copy, in place; returns the float32 mean.

    Same values as ``_linalg.centred`` (mean accumulated in float64 over the whole array, then cast).
    """
    if x.shape[0] == 0:
        return np.zeros(x.shape[1], dtype=np.float32)
    mean = x.mean(axis=0, dtype=np.float64).astype(np.float32)
    for rows in row_blocks(x.shape[0]):
        x[rows] -= mean
    return mean
