"""Data: named datasets and user arrays (sources), and tensor batches (batching)."""

from .batching import Batches, binarize, dequantize
from .sources import DATASETS, Dataset, load_dataset, read_idx
from .splits import Splits, prepare

__all__ = ["Batches", "binarize", "dequantize", "DATASETS", "Dataset", "load_dataset",
           "read_idx", "Splits", "prepare"]
