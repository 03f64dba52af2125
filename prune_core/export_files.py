"""Where an export may be written, and writing it without ever losing a file the user owns.

An export is often written next to the user's only copy of a dataset, so the rules are strict:

- ``..`` in the path is refused, and a symlink (a directory or the file itself, one rule for both) may
  only point inside the directory that holds it; the file is then written where the link resolves to.
- An existing target is replaced only with ``overwrite=True`` (``--overwrite``); it must be a regular
  file (a FIFO, device or directory is never written through) and keeps its permission bits.
  New files get ``0o666`` less the process umask, as ``open()`` would give them.
- The bytes go to a temporary file in the target's directory, are flushed to disk, then renamed (or,
  without ``overwrite``, hard-linked so that a file created meanwhile is never clobbered): a crash leaves
  either the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path


class OutputPathError(ValueError):
    """An output path the export refuses (the message names the path and what to do instead)."""


def current_umask() -> int:
    """The process umask (reading it means setting it; it is put back at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def resolve_output(output: str | os.PathLike) -> Path:
    """The real path an export named ``output`` is written to, or OutputPathError.

    One rule for symlinked directories and files alike: every symlink on the path must point inside the
    directory that holds it (``/tmp -> /private/tmp`` is fine, ``out/x.txt -> ../../etc/x`` is not).
    """
    named = Path(output).expanduser()
    if named.name in ("", ".") or str(output).endswith(("/", os.sep)):
        raise OutputPathError(f"output {str(output)!r} must be a file name, not a directory")
    if any(part == ".." for part in named.parts):
        raise OutputPathError(
            f"output path {str(output)!r} climbs out of its directory with '..'; name the directory directly"
        )
    absolute = named if named.is_absolute() else Path.cwd() / named
    prefix = Path(absolute.anchor)
    for part in absolute.parts[1:]:
        prefix = prefix / part
        if prefix.is_symlink():
            holder = prefix.parent.resolve()
            target = prefix.resolve()
            if target != holder and holder not in target.parents:
                raise OutputPathError(
                    f"output {str(output)!r}: {prefix} is a symlink to {target}, outside {holder}; "
                    "name the real location instead"
                )
    return absolute.resolve()


def check_target(path: Path, *, overwrite: bool, flag: str = "--overwrite") -> None:
    """Refuse a non-regular target always, and an existing file unless ``overwrite``."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        info = None
    except NotADirectoryError:
        raise OutputPathError(f"{path.parent} is not a directory; cannot write {path.name} in it") from None
    if info is None:
        return
    if not stat.S_ISREG(info.st_mode):
        raise OutputPathError(f"{path} is {_kind(info.st_mode)}; an export is written only to a regular file")
    if not overwrite:
        raise OutputPathError(f"{path} already exists; pass {flag} to replace it, or choose another name")


def write_bytes_safely(path: Path, data: bytes, *, overwrite: bool, flag: str = "--overwrite") -> None:
    """Write ``data`` to ``path`` atomically, keeping an existing file's mode (see the module docstring)."""
    check_target(path, overwrite=overwrite, flag=flag)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        mode = 0o666 & ~current_umask()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        if overwrite:
            check_target(path, overwrite=True, flag=flag)  # became a FIFO or directory meanwhile?
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)  # fails if the name appeared since the check: never clobbers
            except FileExistsError as err:
                raise OutputPathError(
                    f"{path} already exists; pass {flag} to replace it, or choose another name"
                ) from err
            except OSError:  # a file system without hard links: check again, then rename
                check_target(path, overwrite=False, flag=flag)
                os.replace(tmp, path)
            else:
                os.unlink(tmp)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
