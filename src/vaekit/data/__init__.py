"""Data: sources that keep each example's shape (sources, dataset), preprocessing and batches
(batching), and the train / validation / test splits a model sees (splits)."""

from .batching import Batches, binarize, dequantize
from .dataset import Dataset
from .idx import read_idx
from .sources import DATASETS, load_dataset
from .splits import Splits, prepare

__all__ = ["Batches", "binarize", "dequantize", "DATASETS", "Dataset", "load_dataset",
           "read_idx", "Splits", "prepare"]
