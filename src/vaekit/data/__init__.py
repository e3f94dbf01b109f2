"""Data: sources that keep each example's shape (sources.py naming them: idx.py, cifar.py,
photos.py, arrays.py, folder.py; dataset.py; downloads and the cache folder in download.py),
preprocessing (draws.py), batches (batching.py), the train / validation / test splits a
model sees (splits.py), and which data a run was trained on (provenance.py)."""

from .batching import Batches
from .dataset import Dataset, reduce_bits
from .draws import binarize, dequantize
from .idx import read_idx
from .sources import DATASETS, load_dataset
from .splits import Splits, prepare

__all__ = ["reduce_bits", "Batches", "binarize", "dequantize", "DATASETS", "Dataset", "load_dataset",
           "read_idx", "Splits", "prepare"]
