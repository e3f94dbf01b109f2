"""Data: sources that keep each example's shape (sources, dataset), preprocessing and batches
(batching), and the train / validation / test splits a model sees (splits)."""

from .batching import Batches, binarize, dequantize
from .dataset import Dataset, reduce_bits
from .idx import read_idx
from .sources import DATASETS, load_dataset
from .splits import Splits, prepare

__all__ = ["reduce_bits", "Batches", "binarize", "dequantize", "DATASETS", "Dataset", "load_dataset",
           "read_idx", "Splits", "prepare"]
