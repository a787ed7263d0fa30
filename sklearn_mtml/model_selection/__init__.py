"""Cross-validation for multi-task data: task-aware splitters and ``cross_val_predict``."""

from ._split import TaskKFold, TaskShuffleSplit
from ._validation import cross_val_predict

__all__ = ["TaskKFold", "TaskShuffleSplit", "cross_val_predict"]
