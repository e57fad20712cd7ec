"""Small shared helpers: atomic writes, run metadata, statistics."""

from .io import atomic_write, environment_info, git_hash, write_json, write_text
from .stats import mean_ci

__all__ = ["atomic_write", "environment_info", "git_hash", "mean_ci", "write_json", "write_text"]
