"""Symmetric InfoNCE between users and sampled statements (full / partial training modes)."""

from __future__ import annotations

import torch
from torch import nn

from uue.model.losses.temperature import LearnedTemperature


class SymmetricInfoNCELoss(LearnedTemperature):
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
    target user ``j``). Logits are cosine similarities divided by the learned temperature
    (see ``LearnedTemperature``: the trainer clamps it after each optimizer step).

    Reference: van den Oord et al., "Representation Learning with Contrastive Predictive
    Coding" (2018); Radford et al., "CLIP" (2021) for the symmetric form.

    Example::

        loss_fn = SymmetricInfoNCELoss(0.05)
        loss = loss_fn(users, statements, mask)  # users [B, d], statements [M, d], mask [B, M]
    """

    def forward(self, user_embeddings: torch.Tensor, statement_embeddings: torch.Tensor,
                positive_mask: torch.Tensor) -> torch.Tensor:
        b, m = user_embeddings.shape[0], statement_embeddings.shape[0]
        if m < b or positive_mask.shape != (b, m):
            raise ValueError(f"expected M >= B statements and a [B, M] mask; got B={b}, M={m}, "
                             f"mask {tuple(positive_mask.shape)}")
        logits = (user_embeddings.float() @ statement_embeddings.float().T) * self.scale()  # [B, M]
        eye = torch.zeros(b, m, dtype=torch.bool, device=logits.device)
        eye[:, :b] = torch.eye(b, dtype=torch.bool, device=logits.device)
        blocked = positive_mask.bool() & ~eye  # other true statements: neither target nor negative
        logits = logits.masked_fill(blocked, float("-inf"))
        target = torch.arange(b, device=logits.device)
        user_to_statement = nn.functional.cross_entropy(logits, target)
        statement_to_user = nn.functional.cross_entropy(logits[:, :b].T, target)
        return (user_to_statement + statement_to_user) / 2
