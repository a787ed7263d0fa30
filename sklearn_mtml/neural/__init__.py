"""sklearn estimators that compose a skorch ``NeuralNet`` (imports torch)."""

from ._base import BaseMultiTaskNet, MaskedTaskLoss
from ._multimodal import MultiModalClassifier, MultiModalRegressor
from ._multitask import MultiTaskNet, MultiTaskNetClassifier, MultiTaskNetRegressor

__all__ = [
    "BaseMultiTaskNet",
    "MaskedTaskLoss",
    "MultiModalClassifier",
    "MultiModalRegressor",
    "MultiTaskNet",
    "MultiTaskNetClassifier",
    "MultiTaskNetRegressor",
]
