"""Chunk pooling: many chunk vectors of a user → one user vector.

Input format of both modules: ``chunks[u, c, h]`` (chunk vectors, padded to the user
with the most chunks) and ``mask[u, c]`` (True / 1 where a chunk is real; every user
has at least one). Output: ``[u, h]``.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class MeanPooling(nn.Module):
    """Masked mean of a user's chunk vectors (``use_attention_pooling`` off)."""

    def forward(self, chunks: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        m = mask.unsqueeze(-1).to(chunks.dtype)
        return (chunks * m).sum(1) / m.sum(1).clamp(min=1.0)


class AttentionPooling(nn.Module):
    """Multi-head attention pooling with a learned query per head, masked over padding.

    Each head scores the chunks with its own query against a key projection of the
    chunk vectors and takes a softmax-weighted sum of its slice of the chunk vectors
    (no value projection: the output stays in the backbone's space). The queries start
    at zero, so an untrained model pools by the mean — the zero-shot starting point of
    the pretrained encoder — and training learns which chunks matter.
    """

    def __init__(self, hidden_size: int, num_heads: int = 4, dropout: float = 0.1) -> None:
        super().__init__()
        if num_heads < 1 or hidden_size % num_heads:
            raise ValueError(f"attention_heads ({num_heads}) must divide the backbone width ({hidden_size})")
        self.num_heads = num_heads
        self.head_dim = hidden_size // num_heads
        self.query = nn.Parameter(torch.zeros(num_heads, self.head_dim))
        self.key = nn.Linear(hidden_size, hidden_size)
        self.dropout = nn.Dropout(dropout)

    def forward(self, chunks: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        u, c, h = chunks.shape
        keys = self.key(chunks).view(u, c, self.num_heads, self.head_dim)
        scores = torch.einsum("uchd,hd->uhc", keys, self.query.to(keys.dtype)) / math.sqrt(self.head_dim)
        scores = scores.float().masked_fill(~mask.bool().unsqueeze(1), float("-inf"))
        weights = self.dropout(torch.softmax(scores, dim=-1)).to(chunks.dtype)  # [u, heads, c]
        values = chunks.view(u, c, self.num_heads, self.head_dim)
        return torch.einsum("uhc,uchd->uhd", weights, values).reshape(u, h)
