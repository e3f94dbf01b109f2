"""Where each epoch's record goes besides metrics.jsonl (which every run writes).

`--logger tensorboard` writes TensorBoard event files into the run folder (`pip install
'vaekit[tensorboard]'`): per epoch the record's numbers and, every `image_every` epochs,
samples and reconstructions.
"""

from __future__ import annotations

import numbers
from pathlib import Path

import numpy as np
import torch

from .. import devices
from ..errors import VaekitError
from ..plots import grid_image
from ..runs import EPOCH

GROUPS = {"train_": "train/", "valid_": "valid/"}


class Logger:
    """metrics.jsonl only: nothing more to write."""

    def epoch(self, record: dict, step, splits) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass


def tag(key: str) -> str:
    """A record key as a TensorBoard tag: valid_kl -> valid/kl, lr -> run/lr."""
    for prefix, group in GROUPS.items():
        if key.startswith(prefix):
            return group + key[len(prefix):]
    return "run/" + key


class TensorBoard(Logger):
    def __init__(self, run_dir: Path, image_every: int, seed: int):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise VaekitError("--logger tensorboard needs the tensorboard package: pip install "
                              "'vaekit[tensorboard]'") from None
        self.writer, self.every, self.seed = SummaryWriter(str(run_dir)), image_every, seed

    def epoch(self, record: dict, step, splits) -> None:
        epoch = record[EPOCH]
        for key, value in record.items():
            if key in (EPOCH, "step"):
                continue
            if isinstance(value, list):          # per layer, z_1 first
                for i, v in enumerate(value):
                    self.writer.add_scalar(f"{tag(key)}/z{i + 1}", v, epoch)
            elif isinstance(value, dict):         # per resolution, "7x7": ...
                for name, v in value.items():
                    self.writer.add_scalar(f"{tag(key)}/{name}", v, epoch)
            elif isinstance(value, numbers.Real):
                self.writer.add_scalar(tag(key), value, epoch)
        if "skipped_steps" not in record:                   # 0 where the record omits it
            self.writer.add_scalar(tag("skipped_steps"), 0, epoch)
        if splits.dataset.is_image and (epoch % self.every == 0 or epoch == 1):
            self._images(step, splits, epoch)
        self.writer.flush()

    def _images(self, step, splits, epoch: int) -> None:
        """The kind's pictures, drawn without touching training's random numbers."""
        with devices.seeded(step.device, self.seed), torch.no_grad():
            pictures = step.pictures(step.model, splits)
        for name, p in pictures.items():          # as the run's PNGs, legend and row names too
            grid = np.asarray(grid_image(p.images.float(), p.ncol, legend=p.legend, rows=p.rows))
            self.writer.add_image(Path(name).stem, grid, epoch,
                                  dataformats="HW" if grid.ndim == 2 else "HWC")

    def __exit__(self, *exc) -> None:
        self.writer.close()


def make(config, run_dir: Path) -> Logger:
    if config.logger == "tensorboard":
        return TensorBoard(run_dir, config.image_every, config.seed)
    return Logger()
