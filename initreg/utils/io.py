"""Atomic file writes (temp file in the same folder + rename) and run metadata."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["atomic_write", "write_text", "write_json", "read_yaml_mapping", "environment_info", "git_hash"]


def atomic_write(path: str | Path, writer: Callable[[str], None]) -> Path:
    """Call ``writer(tmp_path)``, then rename the temp file onto ``path`` (atomic on POSIX).

    A reader sees the old file or the new one, never a half-written one; if ``writer``
    raises (or the process is interrupted), the temp file is removed and ``path`` is
    untouched.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> atomic_write(p, lambda t: pathlib.Path(t).write_text("hi")).read_text()
    'hi'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        writer(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the usual permissions
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(path: str | Path, text: str) -> Path:
    return atomic_write(path, lambda t: Path(t).write_text(text, encoding="utf-8"))


def _default(o: Any) -> Any:
    """JSON for what `json` cannot encode: numpy/torch scalars and arrays, sets, paths."""
    if hasattr(o, "tolist"):  # numpy and torch arrays and scalars (a 0-d tolist() is a Python scalar)
        return o.tolist()
    if hasattr(o, "item"):
        return o.item()
    if isinstance(o, (set, tuple)):
        return list(o)
    if isinstance(o, Path):
        return str(o)
    return str(o)


def write_json(path: str | Path, obj: Any) -> Path:
    return write_text(path, json.dumps(obj, indent=2, default=_default, allow_nan=True) + "\n")


def read_yaml_mapping(path: str | Path, what: str = "config file") -> dict[str, Any]:
    """A YAML file that must hold a mapping; a missing file, bad YAML (with its line and
    column) or another top-level type is a `ConfigError` naming ``what`` and the path.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "run.yaml"
    >>> _ = p.write_text("train:\\n  lr: [0.1\\n")
    >>> read_yaml_mapping(p)
    Traceback (most recent call last):
    ...
    initreg.errors.ConfigError: config file '.../run.yaml' is not valid YAML at line 3, column 1: expected ',' or ']', but got '<stream end>'
    """
    import yaml

    from ..errors import ConfigError

    p = Path(path)
    if not p.exists():
        raise ConfigError(f"{what} {str(p)!r} does not exist")
    if p.is_dir():
        raise ConfigError(f"{what} {str(p)!r} is a folder; give a YAML file")
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError as e:
        raise ConfigError(f"{what} {str(p)!r} is not a UTF-8 text file (byte {e.start}: {e.reason})") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(f"{what} {str(p)!r} is not valid YAML{where}: {problem}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{what} {str(p)!r} must hold a mapping at the top level; got {type(raw).__name__}")
    return raw


def git_hash() -> str | None:
    """The git commit of the initreg source tree, if it is a checkout."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        if out.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def environment_info() -> dict[str, Any]:
    """Versions of Python and the key packages, the git hash, the torch thread count."""
    import numpy
    import torch

    from .. import __version__

    return {"initreg": __version__, "python": platform.python_version(), "torch": str(torch.__version__),
            "numpy": numpy.__version__, "platform": platform.platform(), "torch_threads": torch.get_num_threads(),
            "git": git_hash()}
