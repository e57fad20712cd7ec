"""Data sets: a registry of named sources and seeded, stratified train/val/test splits."""

from .config import DataConfig, datasets_table, load_data
from .convert import as_splits
from .sources import Raw, read_idx, sources
from .splits import Splits, stratified_split
from .stream import StreamData

datasets = sources  # the registry of data sets, by name

__all__ = ["DataConfig", "Raw", "Splits", "StreamData", "as_splits", "datasets", "datasets_table", "load_data", "read_idx",
           "sources", "stratified_split"]
