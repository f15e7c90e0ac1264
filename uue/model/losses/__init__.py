"""The training losses, one per file (input format, references and an example in each docstring)."""

from uue.model.losses.multi_positive_infonce import MultiPositiveInfoNCELoss
from uue.model.losses.symmetric_infonce import SymmetricInfoNCELoss
from uue.model.losses.temperature import LearnedTemperature
from uue.model.losses.user_contrastive import UserContrastiveLoss

__all__ = ["LearnedTemperature", "MultiPositiveInfoNCELoss", "SymmetricInfoNCELoss", "UserContrastiveLoss"]
