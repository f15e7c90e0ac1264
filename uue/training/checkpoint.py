"""Training checkpoints: reading a ``checkpoint-epoch-N`` directory, the config a resume
must keep, RNG states as tensors and JSON (saved with ``torch.save``, read with
``torch.load(weights_only=True)``: no pickle), and the weights checksum that identifies a model.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from index.files import sha256_file
from storage.errors import UUEError
from uue.model.config import OPTIONAL_FIELDS, ConfigError, ModelConfig, config_from_sources
from uue.model.dual_encoder import CONFIG_FILE, WEIGHTS_FILE

logger = logging.getLogger(__name__)

STATE_FILE = "training_state.pt"
CHECKPOINT_PREFIX = "checkpoint-epoch-"
STEP_PREFIX = "checkpoint-step-"  # mid-epoch checkpoints (config.save_steps)
# config fields a resume may change (trust_remote_code: the caller's choice, never the checkpoint's)
RESUMABLE = ("num_epochs", "save_total_limit", "save_steps", "trust_remote_code")


@dataclass
class Checkpoint:
    """What a ``checkpoint-epoch-N`` directory says about its run."""

    directory: Path
    config: ModelConfig  # its config.json
    epoch: int
    step: int
    run: dict[str, Any]  # {"max_users": ..., "data": fingerprint}; {} for checkpoints older than these
    state: dict[str, Any]


def read_checkpoint(directory: str | Path, map_location: str | torch.device = "cpu") -> Checkpoint:
    """Load a checkpoint directory's config and training state (no pickle); ``UUEError`` if unusable."""
    directory = Path(directory)
    state_file, config_file = directory / STATE_FILE, directory / CONFIG_FILE
    if not state_file.is_file():
        raise UUEError(f"{directory} is not a training checkpoint (no {STATE_FILE}); pass a "
                       "checkpoint-epoch-N directory to --resume")
    try:
        state = torch.load(state_file, map_location=map_location, weights_only=True, mmap=True)  # tensors read on use
        epoch, step = int(state["epoch"]), int(state["step"])
        run = json.loads(state.get("run", "{}"))
    except Exception as exc:  # truncated, not a torch file, foreign pickle, missing keys
        raise UUEError(f"cannot read the checkpoint state {state_file}: {type(exc).__name__}: {exc}; "
                       "resume from another checkpoint-epoch-N directory") from None
    try:
        config = ModelConfig.load(config_file)
    except FileNotFoundError:
        raise UUEError(f"{directory} has no {CONFIG_FILE}: not a complete checkpoint") from None
    except (ConfigError, TypeError, ValueError, OSError) as exc:
        raise UUEError(f"cannot read the checkpoint config {config_file}: {exc}") from None
    return Checkpoint(directory, config, epoch, step, run, state)


def prune_epoch_checkpoints(output_dir: Path, current: int, keep: int) -> None:
    """Keep the newest ``keep`` epoch checkpoints up to ``current`` (the best model lives at the root)."""
    found = sorted((int(p.name[len(CHECKPOINT_PREFIX):]), p) for p in output_dir.glob(f"{CHECKPOINT_PREFIX}*")
                   if p.name[len(CHECKPOINT_PREFIX):].isdigit() and (p / STATE_FILE).is_file())
    # only this run's epochs so far: a later epoch left by an earlier run (resumed from before it) is
    # overwritten when this run gets there, and never counts as "newer" than the one just written
    found = [(n, p) for n, p in found if n <= current]
    for _, old in found[:-keep]:
        logger.info("removing old checkpoint %s (save_total_limit %d)", old, keep)
        shutil.rmtree(old, ignore_errors=True)


def prune_step_checkpoints(output_dir: Path, up_to: int) -> None:
    """Remove mid-epoch checkpoints of steps <= ``up_to`` (a newer checkpoint supersedes them)."""
    for path in output_dir.glob(f"{STEP_PREFIX}*"):
        number = path.name[len(STEP_PREFIX):]
        if number.isdigit() and int(number) <= up_to:
            shutil.rmtree(path, ignore_errors=True)


def config_conflicts(saved: ModelConfig, wanted: ModelConfig) -> list[str]:
    """Fields where ``wanted`` differs from a checkpoint's ``saved`` config, except ``num_epochs``.

    ``pooling`` / ``query_instruction`` of ``None`` mean "follow the model", which the
    saved config holds resolved: not a conflict.
    """
    out = []
    for f in dataclasses.fields(ModelConfig):
        a, b = getattr(saved, f.name), getattr(wanted, f.name)
        if f.name in RESUMABLE or a == b or (f.name in ("pooling", "query_instruction", *OPTIONAL_FIELDS)
                                              and b is None):
            continue
        out.append(f"{f.name} is {json.dumps(a)} in the checkpoint, not {json.dumps(b)}")
    return out


def weights_checksum(directory: str | Path) -> str:
    """sha256 of a model directory's weights file: the model's identity in the store."""
    return sha256_file(Path(directory) / WEIGHTS_FILE)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_state(rng: np.random.Generator) -> dict[str, Any]:
    mt = np.random.get_state()
    return {"python": random.getstate(), "numpy_generator": json.dumps(rng.bit_generator.state),
            "numpy_global": {"keys": torch.from_numpy(mt[1].astype(np.int64)), "pos": int(mt[2]),
                             "has_gauss": int(mt[3]), "cached_gaussian": float(mt[4])},
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []}


def set_rng_state(rng: np.random.Generator, state: dict[str, Any]) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    rng.bit_generator.state = json.loads(state["numpy_generator"])
    g = state["numpy_global"]
    np.random.set_state(("MT19937", g["keys"].cpu().numpy().astype(np.uint32), g["pos"], g["has_gauss"],
                         g["cached_gaussian"]))
    torch.set_rng_state(state["torch"].cpu())
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def resume_config(resume: str | Path, config_file: str | Path | None = None,
                  overrides: dict[str, Any] | None = None) -> ModelConfig:
    """The config to resume ``resume`` with: the checkpoint's own, where ``overrides`` may only
    raise ``num_epochs``; any other field that differs is refused (``UUEError``)."""
    checkpoint = read_checkpoint(resume)
    config = config_from_sources(config_file, overrides, base=checkpoint.config.to_dict())
    conflicts = config_conflicts(checkpoint.config, config)
    if conflicts:
        raise UUEError(f"--resume continues {resume} exactly with its own config.json, but " + "; ".join(conflicts)
                       + ". Leave those options out (only --epochs and --save-steps may change), or start a new run without --resume")
    return config
