"""Checks on where results go, made before any work starts.

`validate_out_dir` and `validate_out_file` fail with one `ConfigError` naming the option,
the path and the reason (a file where a folder is needed, no write permission, a read-only
file system, no free space) — instead of an `OSError` after an hour of training.
`safe_name` checks a name that becomes one path component (a run, a sweep, a claim).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from ..errors import ConfigError

__all__ = ["validate_out_dir", "validate_out_file", "safe_name", "MIN_FREE_BYTES"]

MIN_FREE_BYTES = 16 * 2**20  # less than this free on the target file system is "no space"


def _existing_ancestor(p: Path) -> Path:
    """The path itself if it exists, else its nearest existing parent."""
    cur = p
    while not cur.exists():
        if cur.parent == cur:
            break
        cur = cur.parent
    return cur


def _check_writable_dir(d: Path, what: str, shown: Path) -> None:
    """``d`` exists and is a folder: a file can be created in it and there is free space."""
    if not d.is_dir():
        raise ConfigError(f"{what} {str(shown)!r}: {str(d)!r} is a file, not a folder; choose another path")
    try:
        if os.statvfs(d).f_flag & os.ST_RDONLY:
            raise ConfigError(f"{what} {str(shown)!r}: {str(d)!r} is on a read-only file system; choose a writable path")
    except (AttributeError, OSError):  # no statvfs (Windows): the probe below decides
        pass
    try:
        fd, tmp = tempfile.mkstemp(prefix=".initreg-write-check.", dir=d)
    except OSError as e:
        raise ConfigError(f"{what} {str(shown)!r}: cannot write in {str(d)!r}: {e.strerror or e}") from None
    os.close(fd)
    os.unlink(tmp)
    try:
        free = shutil.disk_usage(d).free
    except OSError:
        return
    if free < MIN_FREE_BYTES:
        raise ConfigError(f"{what} {str(shown)!r}: no space left on the file system of {str(d)!r} "
                          f"({free // 2**20} MiB free; at least {MIN_FREE_BYTES // 2**20} MiB needed)")


def validate_out_dir(path: str | Path, what: str = "--out") -> Path:
    """Check that ``path`` is (or can become) a writable folder; nothing is created.

    Raises `ConfigError` if the path, or a parent of it, is an existing file, or if the
    nearest existing folder is not writable, on a read-only file system or full.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> validate_out_dir(d / "new" / "runs") == d / "new" / "runs"
    True
    >>> (d / "f").write_text("x")
    1
    >>> validate_out_dir(d / "f")
    Traceback (most recent call last):
    ...
    initreg.errors.ConfigError: --out '...f': '...f' is a file, not a folder; choose another path
    """
    p = Path(path)
    if str(path) == "":
        raise ConfigError(f"{what} is empty; give a folder")
    _check_writable_dir(_existing_ancestor(p.absolute()), what, p)
    return p


def validate_out_file(path: str | Path, what: str) -> Path:
    """Check that ``path`` can be written as a file: not an existing folder, its folder
    writable (or creatable); nothing is created."""
    p = Path(path)
    if str(path) == "" or p.name in ("", ".", ".."):
        raise ConfigError(f"{what} {str(path)!r} is not a file name")
    if p.is_dir():
        raise ConfigError(f"{what} {str(p)!r} is a folder; give a file name")
    if p.exists() and not os.access(p, os.W_OK):
        raise ConfigError(f"{what} {str(p)!r} exists and is not writable")
    _check_writable_dir(_existing_ancestor(p.absolute().parent), what, p)
    return p


def safe_name(name: str, what: str) -> str:
    """``name`` if it can be one path component: not empty, no separator, not ``.``/``..``,
    no ``..``, no control characters, at most 255 bytes.

    >>> safe_name("lr-x-init", "sweep name")
    'lr-x-init'
    >>> safe_name("../escaped", "sweep name")
    Traceback (most recent call last):
    ...
    initreg.errors.ConfigError: sweep name '../escaped' cannot be used as a folder name: it contains '/'; use letters, digits, '-', '_' or '.'
    """
    if not isinstance(name, str):
        raise ConfigError(f"{what} must be a string; got {name!r}")
    why = None
    if not name.strip():
        why = "it is empty"
    else:
        for sep in ("/", "\\", os.sep, os.altsep):
            if sep and sep in name:
                why = f"it contains {sep!r}"
                break
        else:
            if ".." in name or name == ".":
                why = "it contains '..'" if ".." in name else "'.' is the current folder"
            elif any(ord(c) < 32 or ord(c) == 127 for c in name):
                why = "it contains a control character"
            elif len(name.encode("utf-8", "surrogatepass")) > 255:
                why = f"it is {len(name.encode('utf-8', 'surrogatepass'))} bytes long (at most 255)"
    if why:
        raise ConfigError(f"{what} {name!r} cannot be used as a folder name: {why}; use letters, digits, '-', '_' or '.'")
    return name
