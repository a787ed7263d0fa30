"""Classic multi-task estimators: numpy / scipy / scikit-learn only, never torch."""

from ._l21 import MultiTaskL21Regressor
from ._ridge import MultiTaskRidge

__all__ = ["MultiTaskL21Regressor", "MultiTaskRidge"]
