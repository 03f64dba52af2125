"""Low-level file helpers: atomic writes, checksums, stable hashes, timestamps (no pickle anywhere)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np


def stable_hash(obj: Any, length: int = 12) -> str:
    """Short sha256 of a JSON-able object with sorted keys (the key of runs and cached results)."""
    text = json.dumps(obj, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def current_umask() -> int:
    """The process's umask, read without changing it where /proc allows (os.umask can only set it)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # elsewhere: read by setting, then restore at once
    os.umask(mask)
    return mask


def atomic_write(path: Path, write) -> None:
    """Write through ``write(tmp_path)`` then rename: a crash never leaves half a file that looks whole.

    mkstemp creates its file ``-rw-------`` whatever the umask; the file gets the mode an ordinary
    ``open()`` would give it (0o666 minus the umask), so a shared store or a dashboard run as another
    user can read what compute wrote.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        # After writing: some writers (safetensors) replace the file rather than reuse it.
        os.chmod(tmp, 0o666 & ~current_umask())
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """Write a text file (exports, manifests) atomically."""
    atomic_write(Path(path), lambda tmp: tmp.write_text(text, encoding="utf-8"))


def save_npy(path: Path, array: np.ndarray) -> None:
    # Through a handle: given a name, np.save would append ".npy" to our temporary name.
    with open(path, "wb") as handle:
        np.save(handle, array, allow_pickle=False)


def now() -> str:
    """Local time in ISO 8601 with milliseconds (a stage redone within the same second still differs)."""
    return datetime.now().astimezone().isoformat(timespec="milliseconds")
