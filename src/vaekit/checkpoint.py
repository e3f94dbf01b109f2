"""Checkpoints: safetensors for tensors, JSON for everything else. Nothing is unpickled.

A checkpoint is a folder:
    model.safetensors       the model's state_dict
    optimizer.safetensors   optimizer moments, RNG states, per-example state (training only)
    meta.json               config, example shape, epoch, step, metrics, optimizer settings,
                            the data's fingerprint (data/provenance.py; since vaekit 0.4),
                            the SHA-256 of each .safetensors file, and its own SHA-256
It is written into a hidden sibling folder, flushed and renamed into place, so it appears whole
or not at all. Files that do not match their checksums, and weights that do not fit the model,
are refused before any is loaded. Version 1 checkpoints are read through legacy.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from . import devices, runs
from .config import TrainConfig
from .errors import VaekitError
from .legacy import convert_v1, fill_added
from .model import build_model

FORMAT = "vaekit-checkpoint"
VERSION = 2
READABLE = (1, 2)
DATA_FINGERPRINT = "data_fingerprint"      # meta.json: Dataset.fingerprint of the data trained on


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _meta_digest(meta: dict) -> str:
    body = {k: v for k, v in meta.items() if k != "meta_sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _publish(tmp: Path, directory: Path) -> None:
    """Rename `tmp` to `directory`, the old one renamed aside first so that one is always whole."""
    old = runs.aside(directory)
    shutil.rmtree(old, ignore_errors=True)
    if directory.exists():
        os.replace(directory, old)
    os.replace(tmp, directory)
    _fsync(directory.parent)
    shutil.rmtree(old, ignore_errors=True)


def _optimizer_tensors(optimizer: torch.optim.Optimizer) -> tuple[dict, dict]:
    """Split an optimizer's state_dict into tensors (for safetensors) and JSON."""
    sd = optimizer.state_dict()
    tensors, scalars = {}, {}
    for index, state in sd["state"].items():
        for name, value in state.items():
            if torch.is_tensor(value):
                tensors[f"state.{index}.{name}"] = value.contiguous().cpu()
            else:
                scalars[f"{index}.{name}"] = value
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def _optimizer_state_dict(tensors: dict, info: dict) -> dict:
    state: dict = {}
    for key, value in tensors.items():
        if key.startswith("state."):
            _, index, name = key.split(".", 2)
            state.setdefault(int(index), {})[name] = value
    for key, value in info["scalars"].items():
        index, name = key.split(".", 1)
        state.setdefault(int(index), {})[name] = value
    return {"state": state, "param_groups": info["param_groups"]}


def save(directory: str | Path, model: torch.nn.Module, config: TrainConfig, *, epoch: int,
         step: int, metrics: dict | None = None,
         optimizers: dict[str, torch.optim.Optimizer] | None = None,
         trainer_state: dict | None = None, trainer_tensors: dict | None = None,
         rng_states: list | None = None, data_fingerprint: str | None = None) -> Path:
    """Write a checkpoint folder atomically; `optimizers` by name, `rng_states` of every process,
    `data_fingerprint` the trained-on data's (Dataset.fingerprint)."""
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = directory.with_name(f".{directory.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    weights = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    files = {"model.safetensors": weights}
    meta = {"format": FORMAT, "version": VERSION, "config": config.to_dict(),
            "event_shape": list(model.event_shape), "epoch": epoch, "step": step,
            "metrics": metrics or {}}
    if data_fingerprint is not None:
        meta[DATA_FINGERPRINT] = data_fingerprint
    if optimizers is not None:
        tensors, infos = {}, {}
        for name, opt in optimizers.items():
            state, infos[name] = _optimizer_tensors(opt)
            tensors.update({(f"{name}." if name else "") + k: v for k, v in state.items()})
        for rank, rng_state in enumerate(rng_states or [torch.get_rng_state()]):
            tensors[f"rng.torch.{rank}"] = rng_state
        for name, value in (trainer_tensors or {}).items():
            tensors[f"trainer.{name}"] = value.detach().contiguous().cpu()
        files["optimizer.safetensors"] = tensors
        meta["optimizer"] = infos[""] if "" in infos else {"named": infos}
        meta["trainer"] = trainer_state or {}
    meta["sha256"] = {}
    for name, tensors in files.items():
        save_file(tensors, str(tmp / name))
        _fsync(tmp / name)
        meta["sha256"][name] = _sha256(tmp / name)
    meta["meta_sha256"] = _meta_digest(meta)
    (tmp / runs.CHECKPOINT_META).write_text(json.dumps(meta, indent=1))
    _fsync(tmp / runs.CHECKPOINT_META)
    _publish(tmp, directory)
    return directory


def latest(run_dir: str | Path) -> "Checkpoint":
    """The newest training checkpoint that verifies; damaged newer ones are reported and skipped."""
    run_dir = Path(run_dir)
    for path in runs.Run(run_dir).checkpoints():
        try:
            ckpt = read(path)
            ckpt.verify()
            return ckpt
        except VaekitError as e:
            print(f"vaekit: warning: {e}; using the checkpoint before it", file=sys.stderr)
    if not run_dir.exists():
        raise VaekitError(f"{run_dir}: no such run")
    raise VaekitError(f"{run_dir}: no complete checkpoint to resume from (the run stopped "
                      "before its first one); start it again without --resume")


@dataclass
class Checkpoint:
    path: Path
    meta: dict
    config: TrainConfig
    event_shape: tuple                               # one example's shape: (C, H, W) or (D,)
    rng_states: list = field(default_factory=list)   # torch RNG per process, after load_optimizer
    verified: set = field(default_factory=set)       # files already checked (hashed once)

    def _check(self, name: str) -> Path:
        file = self.path / name
        if name in self.verified:
            return file
        if not file.is_file():
            raise VaekitError(f"{self.path}: checkpoint has no {name}")
        if _sha256(file) != self.meta["sha256"].get(name):
            raise VaekitError(f"{file}: checksum does not match {runs.CHECKPOINT_META}; the "
                              "checkpoint is corrupt or was edited")
        self.verified.add(name)
        return file

    @property
    def data_fingerprint(self) -> str | None:
        """The fingerprint of the data it was trained on (None: a checkpoint before 0.4)."""
        return self.meta.get(DATA_FINGERPRINT)

    def verify(self) -> None:
        for name in self.meta["sha256"]:
            self._check(name)

    def tensors(self, name: str) -> dict:
        file = self._check(name)
        try:
            return load_file(str(file))
        except (SafetensorError, OSError) as e:
            raise VaekitError(f"{file}: unreadable safetensors file ({e})") from None

    def load_optimizer(self, optimizers: dict) -> dict:
        """Restore the optimizers by name and torch's RNG; the trainer's own tensors by name."""
        tensors = self.tensors("optimizer.safetensors")
        states = {k: tensors.pop(k) for k in list(tensors) if k.startswith("rng.torch")}
        self.rng_states = [states[k] for k in sorted(states, key=lambda k: (len(k), k))]
        torch.set_rng_state(self.rng_states[0])
        trainer = {k.split(".", 1)[1]: tensors.pop(k) for k in list(tensors)
                   if k.startswith("trainer.")}
        info = self.meta.get("optimizer", {})
        infos = info["named"] if "named" in info else {"": info}   # one is stored unnamed
        try:
            for name, opt in optimizers.items():
                prefix = f"{name}." if name else ""
                own = {k[len(prefix):]: v for k, v in tensors.items()
                       if k.startswith(prefix + "state.")}
                opt.load_state_dict(_optimizer_state_dict(own, infos[name]))
                _layouts_of_parameters(opt)
        except (KeyError, ValueError) as e:
            raise VaekitError(f"{self.path}: optimizer state does not fit the model ({e})") from None
        return trainer


def _layouts_of_parameters(optimizer: torch.optim.Optimizer) -> None:
    """Each state tensor in its parameter's memory layout (saved contiguous; a channels-last
    weight's moments channels-last again, as they were before the save: same values)."""
    for group in optimizer.param_groups:
        for p in group["params"]:
            state = optimizer.state.get(p, {})
            for key, value in state.items():
                if torch.is_tensor(value) and value.shape == p.shape and \
                        value.stride() != p.stride():
                    state[key] = torch.empty_like(p, dtype=value.dtype).copy_(value)


def read(path: str | Path) -> Checkpoint:
    path = runs.checkpoint_folder(path)
    meta_file = path / runs.CHECKPOINT_META
    try:
        meta = json.loads(meta_file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise VaekitError(f"{meta_file}: corrupt checkpoint metadata ({e})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise VaekitError(f"{path}: not a vaekit checkpoint")
    if meta.get("version") not in READABLE:
        raise VaekitError(f"{path}: checkpoint version {meta.get('version')} is not supported "
                          f"(this vaekit reads versions {list(READABLE)})")
    if "meta_sha256" in meta and meta["meta_sha256"] != _meta_digest(meta):
        raise VaekitError(f"{meta_file}: checksum does not match its contents; the "
                          "checkpoint is corrupt or was edited")
    try:
        if meta["version"] == 1:
            config, shape = convert_v1(meta["config"])
        else:
            config, shape = fill_added(meta["config"]), meta["event_shape"]
        return Checkpoint(path, meta, TrainConfig.from_dict(config), tuple(shape))
    except (KeyError, TypeError, IndexError) as e:
        raise VaekitError(f"{path}: checkpoint config is incomplete ({e})") from None


def load_weights(module: torch.nn.Module, tensors: dict, where: Path) -> None:
    """module.load_state_dict(tensors), or nothing loaded and one line when anything misfits."""
    expected = module.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    sizes = [f"size mismatch for {k}: checkpoint {list(tensors[k].shape)}, model "
             f"{list(v.shape)}" for k, v in expected.items()
             if k in tensors and tensors[k].shape != v.shape]
    problems = sizes + [f"missing {', '.join(missing[:3])}"] * bool(missing) + \
        [f"unexpected {', '.join(unexpected[:3])}"] * bool(unexpected)
    if problems:
        raise VaekitError(f"{where}: weights do not fit the model config ({problems[0]}"
                          f"{f'; and {len(problems) - 1} more' if len(problems) > 1 else ''})")
    module.load_state_dict(tensors)


def load_model(path: str | Path, networks=None, device: str | torch.device = "cpu"):
    """(model in eval mode on `device`, Checkpoint); your own modules again as `networks`."""
    ckpt = read(path)
    model = build_model(ckpt.config.model, ckpt.event_shape, networks)
    load_weights(model, ckpt.tensors("model.safetensors"), ckpt.path)
    return model.to(devices.resolve(device)).eval(), ckpt
