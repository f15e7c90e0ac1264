"""Inference precision chosen by the machine: bf16 where the hardware computes it natively.

``auto`` (the default) resolves to ``bf16`` on CUDA and on CPUs with native bf16 matrix
instructions (x86 ``avx512_bf16`` or ``amx_bf16``, ARM ``bf16``, from ``/proc/cpuinfo``),
``fp32`` everywhere else (a CPU without them emulates bf16 and gets slower, not faster).
bf16 autocast encodes ≈1.75× faster than fp32 at cosine ≥ 0.9999 to it, with the same
quality figures (``benchmarks/encode.py``, ``benchmarks/results/quality_bf16.md``).

Who decides, first match wins: the ``UUE_INFERENCE_PRECISION`` environment variable (what
``uue --precision`` sets, so build workers started from the CLI inherit it), then the
model's ``config.extra["inference_precision"]``, then ``auto``. The resolved precision is
logged once per choice and is part of the encoder fingerprint, so chunk vectors and
index builds computed at one precision are never reused silently at another.
Training always runs in fp32.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import platform

import torch

from uue.model.config import ConfigError

logger = logging.getLogger(__name__)

PRECISIONS = ("auto", "fp32", "bf16")
ENV_VAR = "UUE_INFERENCE_PRECISION"
CPU_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16", "bf16"})  # x86 AVX512-BF16 / AMX, aarch64 BF16


def check_precision(value: object, where: str) -> str:
    """``value`` if it is one of ``PRECISIONS``, else a ``ConfigError`` naming ``where``."""
    if value not in PRECISIONS:
        raise ConfigError(f"{where} must be one of {', '.join(PRECISIONS)}, got {value!r}")
    return str(value)


@functools.lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The CPU feature flags of this machine (Linux ``/proc/cpuinfo``; empty elsewhere)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, sep, value = line.partition(":")
                if sep and key.strip().lower() in ("flags", "features"):
                    return frozenset(value.split())
    except OSError:
        pass
    return frozenset()


def cpu_has_native_bf16() -> bool:
    return bool(CPU_BF16_FLAGS & cpu_flags())


def requested_precision(config_value: object = None) -> str:
    """What was asked for: the environment override, else the model config's value, else ``auto``."""
    configured = "auto" if config_value is None else check_precision(config_value,
                                                                    "ModelConfig.extra.inference_precision")
    env = os.environ.get(ENV_VAR, "").strip()
    return check_precision(env.lower(), f"${ENV_VAR}") if env else configured


def resolve_precision(requested: str, device: torch.device) -> str:
    """``fp32`` or ``bf16`` for ``requested`` on ``device`` (``auto``: see the module docstring)."""
    if requested != "auto":
        return requested
    if device.type == "cuda":
        choice, why = "bf16", "CUDA device"
    elif device.type == "cpu" and cpu_has_native_bf16():
        choice, why = "bf16", f"CPU with native bf16 ({', '.join(sorted(CPU_BF16_FLAGS & cpu_flags()))})"
    else:
        choice, why = "fp32", f"{device.type} without native bf16 ({platform.machine() or 'unknown'})"
    _log_choice(choice, why)
    return choice


@functools.cache
def _log_choice(choice: str, why: str) -> None:
    logger.info("inference precision %s: %s (override: uue --precision fp32|bf16, or $%s)", choice, why, ENV_VAR)


def inference_autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """bf16 autocast when ``precision`` is ``bf16`` on CUDA or CPU, nothing otherwise."""
    if precision == "bf16" and device.type in ("cuda", "cpu"):
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()
