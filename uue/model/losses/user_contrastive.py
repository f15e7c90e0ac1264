"""The user–user term: two disjoint samples of one history are positives."""

from __future__ import annotations

import torch
from torch import nn

from uue.model.losses.temperature import LearnedTemperature


class UserContrastiveLoss(LearnedTemperature):
    """Symmetric InfoNCE between two views of the same users.

    Input format: ``view_a`` and ``view_b``, float ``[B, d]``, L2-normalised; row ``i`` of
    both are pooled from two *disjoint* random samples of user ``i``'s chunks. Row ``i``
    of ``view_b`` is the positive of row ``i`` of ``view_a`` and the batch's other users
    are its negatives (and the other way round). Users who write alike end up close, and
    users without any statement train too.

    Reference: Rocca & Yarkoni, "Language models as user encoders: self-supervised
    learning of user encodings using transformers" (2022); Fan et al., Snap's "USE:
    Dynamic User Modeling with Stateful Sequence Models" (2024).

    Example::

        loss_fn = UserContrastiveLoss(0.05)
        loss = loss_fn(pool(first_half), pool(second_half))
    """

    def forward(self, view_a: torch.Tensor, view_b: torch.Tensor) -> torch.Tensor:
        if view_a.shape != view_b.shape or view_a.shape[0] < 2:
            raise ValueError(f"need two [B, d] views with B >= 2, got {tuple(view_a.shape)} and {tuple(view_b.shape)}")
        logits = (view_a.float() @ view_b.float().T) * self.scale()
        target = torch.arange(view_a.shape[0], device=logits.device)
        return (nn.functional.cross_entropy(logits, target) + nn.functional.cross_entropy(logits.T, target)) / 2
