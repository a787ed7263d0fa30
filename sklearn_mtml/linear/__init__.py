"""Classic multi-task estimators: numpy / scipy / scikit-learn only, never torch."""

from ._ridge import MultiTaskRidge

__all__ = ["MultiTaskRidge"]
