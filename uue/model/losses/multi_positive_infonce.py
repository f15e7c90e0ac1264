"""Multi-positive InfoNCE of users against a whole statement pool (locked training mode)."""

from __future__ import annotations

import torch

from uue.model.losses.temperature import LearnedTemperature


class MultiPositiveInfoNCELoss(LearnedTemperature):
    """Each user against every statement of the pool, both ways, with several positives.

    Input format:

    - ``user_embeddings``: float ``[B, d]``, L2-normalised.
    - ``statement_embeddings``: float ``[P, d]``, L2-normalised: the whole pool (with a
      locked statement tower these are fixed, so every statement is a negative and the
      hardest negatives are always included: the limit of hard-negative mining).
    - ``positive_mask``: bool ``[B, P]``, True where statement ``p`` is true of user ``i``.

    For each true pair ``(i, p)`` the loss is a cross-entropy of ``p`` against user ``i``'s
    negatives (user → statements) and of ``i`` against the batch users ``p`` is not true
    of (statement → users); the user's other true statements and the statement's other
    true users are neither target nor negative. The mean over all true pairs is returned.
    Users without a true statement contribute nothing.

    Reference: Khosla et al., "Supervised Contrastive Learning" (2020), for several
    positives per anchor; Zhai et al., "LiT" (2022), for training against locked targets.

    Example::

        loss_fn = MultiPositiveInfoNCELoss(0.05)
        loss = loss_fn(users, pool_vectors, mask)  # [B, d], [P, d], [B, P]
    """

    def forward(self, user_embeddings: torch.Tensor, statement_embeddings: torch.Tensor,
                positive_mask: torch.Tensor) -> torch.Tensor:
        b, p = user_embeddings.shape[0], statement_embeddings.shape[0]
        if positive_mask.shape != (b, p):
            raise ValueError(f"expected a [B, P] = [{b}, {p}] mask, got {tuple(positive_mask.shape)}")
        mask = positive_mask.bool()
        if not mask.any():
            return user_embeddings.sum() * 0.0
        logits = (user_embeddings.float() @ statement_embeddings.float().T) * self.scale()  # [B, P]
        negatives_of_user = torch.logsumexp(logits.masked_fill(mask, float("-inf")), dim=1)  # [B]
        negatives_of_statement = torch.logsumexp(logits.masked_fill(mask, float("-inf")), dim=0)  # [P]
        rows, cols = mask.nonzero(as_tuple=True)
        true = logits[rows, cols]
        to_statement = torch.logaddexp(true, negatives_of_user[rows]) - true
        to_user = torch.logaddexp(true, negatives_of_statement[cols]) - true
        return (to_statement.mean() + to_user.mean()) / 2
