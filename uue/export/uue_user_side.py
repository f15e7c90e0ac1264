"""The user side of an exported UUE model: pool a user's chunk vectors into one user vector.

This file is copied into ``user_side/`` of every export and needs only torch, numpy,
safetensors and sentence-transformers. Statements: ``SentenceTransformer(EXPORT_DIR).encode(texts)``
(the query prompt is applied by default). Users::

    import sys; sys.path.insert(0, "EXPORT_DIR/user_side")   # or copy this file
    from uue_user_side import UserSide
    side = UserSide.load("EXPORT_DIR")
    users = side.encode_users(side.statement_model(), [["first post", "second post"], ["…"]])
    scores = users @ side.statement_vectors(model, texts).T     # cosine (all vectors are unit length)

A user's history is their chunk texts oldest first (the most recent ``num_chunks_per_user``
when that is > 0). ``statement_vectors`` sends statements the model never trained on through
the query map (``query_map.safetensors``), as UUE's own queries do.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file
from torch import nn

USER_SIDE_DIR = "user_side"


class UserSide(nn.Module):
    """Attention (or mean) pooling over chunk vectors → residual adapter → projection → L2 normalise."""

    def __init__(self, config: dict, weights: dict[str, torch.Tensor], directory: Path) -> None:
        super().__init__()
        self.config = config
        self.directory = directory
        self.weights = weights
        self.heads = int(config["attention_heads"])
        map_file = directory / "query_map.safetensors"
        self.query_map = load_file(str(map_file))["query_map"].double().numpy() if map_file.is_file() else None
        trained = directory / "trained_statements.json"
        self.trained = (frozenset(json.loads(trained.read_text(encoding="utf-8"))["statements"])
                        if trained.is_file() else None)

    @classmethod
    def load(cls, export_dir: str | Path) -> UserSide:
        directory = Path(export_dir) / USER_SIDE_DIR
        config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
        return cls(config, load_file(str(directory / "user_side.safetensors")), directory)

    def statement_model(self, device: str = "cpu"):
        from sentence_transformers import SentenceTransformer

        return SentenceTransformer(str(self.directory.parent), device=device, local_files_only=True)

    def chunk_vectors(self, model, texts: list[str], batch_size: int = 64) -> torch.Tensor:
        """Token-pooled, L2-normalised backbone vectors of chunk texts (no prompt, no projection)."""
        transformer, pooling = model[0], model[1]
        old = transformer.max_seq_length
        transformer.max_seq_length = int(self.config["max_chunk_length"])
        out = []
        try:
            with torch.inference_mode():
                for start in range(0, len(texts), batch_size):
                    features = transformer.tokenize(texts[start:start + batch_size])
                    features = {k: v.to(model.device) if hasattr(v, "to") else v for k, v in features.items()}
                    pooled = pooling(transformer(features))["sentence_embedding"]
                    out.append(nn.functional.normalize(pooled.float(), dim=-1).cpu())
        finally:
            transformer.max_seq_length = old
        return torch.cat(out)

    def pool(self, chunks: torch.Tensor) -> torch.Tensor:
        """One user's chunk vectors ``[c, h]`` → their unit user vector ``[d]``."""
        w = self.weights
        if self.config["chunk_pooling"] == "attention":
            c, h = chunks.shape
            d = h // self.heads
            keys = (chunks @ w["chunk_pooling.key.weight"].T + w["chunk_pooling.key.bias"]).view(c, self.heads, d)
            scores = torch.einsum("chd,hd->hc", keys, w["chunk_pooling.query"]) / math.sqrt(d)
            pooled = torch.einsum("hc,chd->hd", torch.softmax(scores, dim=-1), chunks.view(c, self.heads, d))
            pooled = pooled.reshape(h)
        else:
            pooled = chunks.mean(0)
        adapted = pooled + pooled @ w["user_adapter.linear.weight"].T + w["user_adapter.linear.bias"]
        if "projection.weight" in w:
            adapted = adapted @ w["projection.weight"].T
        return nn.functional.normalize(adapted, dim=-1)

    def encode_users(self, model, histories: list[list[str]], batch_size: int = 64) -> np.ndarray:
        """float32 ``[n, d]``: one vector per history (its chunk texts, oldest first)."""
        cap = int(self.config.get("num_chunks_per_user") or 0)
        out = []
        for history in histories:
            texts = list(history[-cap:]) if cap else list(history)
            if not texts:
                raise ValueError("every user needs at least one chunk")
            out.append(self.pool(self.chunk_vectors(model, texts, batch_size)))
        return torch.stack(out).numpy().astype(np.float32)

    def statement_vectors(self, model, texts: list[str]) -> np.ndarray:
        """Statement vectors as UUE scores them against users (query map for untrained statements)."""
        vectors = model.encode(texts, convert_to_numpy=True).astype(np.float64)
        if self.query_map is None or self.trained is None:
            return vectors.astype(np.float32)
        mix = float(self.config.get("open_vocabulary_mix", 0.0))
        for i, text in enumerate(texts):
            if text.strip() not in self.trained:
                mapped = self.query_map @ vectors[i]
                mapped /= np.linalg.norm(mapped) or 1.0
                blended = mix * vectors[i] + (1 - mix) * mapped
                vectors[i] = blended / (np.linalg.norm(blended) or 1.0)
        return vectors.astype(np.float32)
