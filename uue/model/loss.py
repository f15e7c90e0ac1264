"""Symmetric InfoNCE with a learnable, clamped temperature and multi-positive masking."""

from __future__ import annotations

import math

import torch
from torch import nn


class SymmetricInfoNCELoss(nn.Module):
    """Contrastive loss between B users and M ≥ B statements.

    Input format:

    - ``user_embeddings``: float ``[B, d]``, L2-normalised, one row per batch user.
    - ``statement_embeddings``: float ``[M, d]``, L2-normalised. Column ``i < B`` is the
      sampled positive statement of user ``i``; columns ``B..M-1`` are extra negatives
      from the statement pool (``num_negative_samples`` per user, shared by the batch).
    - ``positive_mask``: bool ``[B, M]``, True where statement ``j`` is true of user
      ``i`` (the diagonal ``i == j`` must be True). Off-diagonal Trues — a statement
      that is true of two users of the batch — are *not* used as negatives.

    Loss = mean of two cross-entropies: user → statements (over all M columns, target
    column ``i``) and statement → users (each positive column ``j < B`` over the B users,
    target user ``j``). Logits are cosine similarities divided by the temperature
    ``exp(log_temperature)``, clamped to ``[min_temperature, max_temperature]``. The
    log-temperature is an ``nn.Parameter``: give this module's parameters to the optimizer.
    """

    def __init__(self, temperature: float = 0.05, min_temperature: float = 0.01,
                 max_temperature: float = 1.0) -> None:
        super().__init__()
        if not 0 < min_temperature <= temperature <= max_temperature:
            raise ValueError(f"need 0 < min_temperature <= temperature <= max_temperature, got "
                             f"{min_temperature}, {temperature}, {max_temperature}")
        self.log_temperature = nn.Parameter(torch.tensor(math.log(temperature), dtype=torch.float32))
        self.min_log = math.log(min_temperature)
        self.max_log = math.log(max_temperature)

    @property
    def temperature(self) -> float:
        return float(self.log_temperature.detach().clamp(self.min_log, self.max_log).exp())

    def forward(self, user_embeddings: torch.Tensor, statement_embeddings: torch.Tensor,
                positive_mask: torch.Tensor) -> torch.Tensor:
        b, m = user_embeddings.shape[0], statement_embeddings.shape[0]
        if m < b or positive_mask.shape != (b, m):
            raise ValueError(f"expected M >= B statements and a [B, M] mask; got B={b}, M={m}, "
                             f"mask {tuple(positive_mask.shape)}")
        scale = torch.exp(-self.log_temperature.clamp(self.min_log, self.max_log))
        logits = (user_embeddings.float() @ statement_embeddings.float().T) * scale  # [B, M]
        eye = torch.zeros(b, m, dtype=torch.bool, device=logits.device)
        eye[:, :b] = torch.eye(b, dtype=torch.bool, device=logits.device)
        blocked = positive_mask.bool() & ~eye  # other true statements: neither target nor negative
        logits = logits.masked_fill(blocked, float("-inf"))
        target = torch.arange(b, device=logits.device)
        user_to_statement = nn.functional.cross_entropy(logits, target)
        statement_to_user = nn.functional.cross_entropy(logits[:, :b].T, target)
        return (user_to_statement + statement_to_user) / 2
