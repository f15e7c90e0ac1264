"""A learned softmax temperature that cannot stick at a bound."""

from __future__ import annotations

import math

import torch
from torch import nn


class LearnedTemperature(nn.Module):
    """Base of the contrastive losses: ``log_temperature`` is an ``nn.Parameter``.

    The logits are scaled by ``exp(-log_temperature)`` without a clamp in ``forward`` (a
    clamp there has zero gradient at its bound, so a temperature that reached it could
    never leave). Instead the trainer calls ``clamp_()`` after every optimizer step, as
    CLIP does, which keeps it in ``[min_temperature, max_temperature]`` while the gradient
    can always move it back inside.
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
        return float(self.log_temperature.detach().exp())

    def scale(self) -> torch.Tensor:
        return torch.exp(-self.log_temperature)

    @torch.no_grad()
    def clamp_(self) -> None:
        self.log_temperature.clamp_(self.min_log, self.max_log)
