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


class ResidualAdapter(nn.Module):
    """``x + W x`` with ``W`` initialised to zero: starts as the identity (the pretrained
    space) and learns a correction that maps pooled histories towards the statements that
    describe them (LiT-style: the statement tower stays locked, the user side adapts)."""

    def __init__(self, hidden_size: int) -> None:
        super().__init__()
        self.linear = nn.Linear(hidden_size, hidden_size, bias=True)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.linear(x)


class StreamingPool:
    """Pools one user's chunk vectors block by block in memory bounded by the block size.

    Mean pooling keeps a running sum; attention pooling keeps, per head, the running
    maximum score, the softmax denominator and the weighted sum (the online-softmax
    recurrence of Milakov & Gimelshein 2018), so a history of any length gives the same
    vector as one ``forward`` over all of it (up to float rounding).
    """

    def __init__(self, pooling: nn.Module) -> None:
        self.pooling = pooling
        self.max: torch.Tensor | None = None  # [heads]
        self.denominator: torch.Tensor | None = None  # [heads]
        self.total: torch.Tensor | None = None  # [heads, head_dim] or [h]
        self.count = 0

    def add(self, chunks: torch.Tensor) -> None:
        """``chunks[c, h]``: the next block of one user's chunk vectors."""
        chunks = chunks.float()
        self.count += chunks.shape[0]
        if isinstance(self.pooling, MeanPooling):
            block = chunks.sum(0)
            self.total = block if self.total is None else self.total + block
            return
        pool: AttentionPooling = self.pooling  # type: ignore[assignment]
        c = chunks.shape[0]
        keys = pool.key(chunks).view(c, pool.num_heads, pool.head_dim)
        scores = torch.einsum("chd,hd->hc", keys, pool.query.float()) / math.sqrt(pool.head_dim)
        values = chunks.view(c, pool.num_heads, pool.head_dim)
        block_max = scores.max(dim=1).values
        new_max = block_max if self.max is None else torch.maximum(self.max, block_max)
        weights = torch.exp(scores - new_max[:, None])  # [heads, c]
        block_total = torch.einsum("hc,chd->hd", weights, values)
        if self.max is None:
            self.denominator, self.total = weights.sum(1), block_total
        else:
            rescale = torch.exp(self.max - new_max)
            self.denominator = self.denominator * rescale + weights.sum(1)
            self.total = self.total * rescale[:, None] + block_total
        self.max = new_max

    def result(self) -> torch.Tensor:
        """The pooled ``[h]`` vector (before any adapter or projection)."""
        if self.total is None:
            raise ValueError("a user needs at least one chunk")
        if isinstance(self.pooling, MeanPooling):
            return self.total / self.count
        return (self.total / self.denominator[:, None]).reshape(-1)
