"""Checkpoints: safetensors for tensors, JSON for everything else. Nothing is unpickled.

A checkpoint is a folder:
    model.safetensors       the model's state_dict
    optimizer.safetensors   optimizer moments, RNG state and the trainer's per-example state
                            (e.g. variational EM's q parameters; training checkpoints only)
    meta.json               config, epoch, step, metrics, optimizer/scheduler settings, data RNG
                            state, and the SHA-256 of each .safetensors file
Files are written to a temporary name and renamed, meta.json last; a checkpoint whose files
do not match the checksums in meta.json is refused.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .config import TrainConfig
from .errors import VaekitError

FORMAT = "vaekit-checkpoint"
VERSION = 1


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _atomic(path: Path, write) -> None:
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)


def _optimizer_tensors(optimizer: torch.optim.Optimizer) -> tuple[dict, dict]:
    """Split an optimizer's state_dict into tensors (for safetensors) and JSON."""
    sd = optimizer.state_dict()
    tensors, scalars = {}, {}
    for index, state in sd["state"].items():
        for name, value in state.items():
            if torch.is_tensor(value):
                tensors[f"state.{index}.{name}"] = value.contiguous()
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
         step: int, metrics: dict | None = None, optimizer: torch.optim.Optimizer | None = None,
         trainer_state: dict | None = None, trainer_tensors: dict | None = None) -> Path:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    weights = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    _atomic(directory / "model.safetensors", lambda p: save_file(weights, str(p)))
    meta = {"format": FORMAT, "version": VERSION, "config": config.to_dict(), "epoch": epoch,
            "step": step, "metrics": metrics or {},
            "sha256": {"model.safetensors": _sha256(directory / "model.safetensors")}}
    if optimizer is not None:
        tensors, info = _optimizer_tensors(optimizer)
        tensors["rng.torch"] = torch.get_rng_state()
        for name, value in (trainer_tensors or {}).items():
            tensors[f"trainer.{name}"] = value.detach().contiguous()
        _atomic(directory / "optimizer.safetensors", lambda p: save_file(tensors, str(p)))
        meta["optimizer"] = info
        meta["trainer"] = trainer_state or {}
        meta["sha256"]["optimizer.safetensors"] = _sha256(directory / "optimizer.safetensors")
    else:
        (directory / "optimizer.safetensors").unlink(missing_ok=True)
    _atomic(directory / "meta.json", lambda p: p.write_text(json.dumps(meta, indent=1)))
    return directory


@dataclass
class Checkpoint:
    path: Path
    meta: dict
    config: TrainConfig

    def tensors(self, name: str) -> dict:
        file = self.path / name
        if not file.is_file():
            raise VaekitError(f"{self.path}: checkpoint has no {name}")
        if _sha256(file) != self.meta["sha256"].get(name):
            raise VaekitError(f"{file}: checksum does not match meta.json; the checkpoint is "
                              "corrupt or was edited")
        try:
            return load_file(str(file))
        except (SafetensorError, OSError) as e:
            raise VaekitError(f"{file}: unreadable safetensors file ({e})") from None

    def load_optimizer(self, optimizer: torch.optim.Optimizer) -> dict:
        """Restore the optimizer and torch's RNG; returns the trainer's own tensors by name."""
        tensors = self.tensors("optimizer.safetensors")
        torch.set_rng_state(tensors.pop("rng.torch"))
        trainer = {k.split(".", 1)[1]: tensors.pop(k) for k in list(tensors)
                   if k.startswith("trainer.")}
        try:
            optimizer.load_state_dict(_optimizer_state_dict(tensors, self.meta["optimizer"]))
        except (KeyError, ValueError) as e:
            raise VaekitError(f"{self.path}: optimizer state does not fit the model ({e})") from None
        return trainer


def resolve(path: str | Path) -> Path:
    """A run folder means its best checkpoint (or its last if there is no best yet)."""
    path = Path(path)
    if (path / "meta.json").is_file():
        return path
    for sub in ("best", "last"):
        if (path / sub / "meta.json").is_file():
            return path / sub
    if not path.exists():
        raise VaekitError(f"{path}: no such run or checkpoint")
    raise VaekitError(f"{path}: not a vaekit run or checkpoint (no meta.json)")


def read(path: str | Path) -> Checkpoint:
    path = resolve(path)
    try:
        meta = json.loads((path / "meta.json").read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise VaekitError(f"{path / 'meta.json'}: corrupt checkpoint metadata ({e})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise VaekitError(f"{path}: not a vaekit checkpoint")
    if meta.get("version") != VERSION:
        raise VaekitError(f"{path}: checkpoint version {meta.get('version')} is not supported")
    try:
        config = TrainConfig.from_dict(meta["config"])
    except (KeyError, TypeError) as e:
        raise VaekitError(f"{path}: checkpoint config is incomplete ({e})") from None
    return Checkpoint(path, meta, config)


def load_model(path: str | Path):
    """(model in eval mode, Checkpoint) from a run folder or a checkpoint folder."""
    from .baselines import build_model
    ckpt = read(path)
    model = build_model(ckpt.config.model)
    try:
        model.load_state_dict(ckpt.tensors("model.safetensors"))
    except RuntimeError as e:
        lines = [l.strip() for l in str(e).splitlines() if l.strip()]
        detail = next((l for l in lines if l.startswith(("size mismatch", "Missing", "Unexpected"))),
                      lines[0])
        raise VaekitError(f"{ckpt.path}: weights do not fit the model config ({detail})") from None
    return model.eval(), ckpt
