"""Cross-validation splitters for multi-task data."""

from ._split import TaskKFold, TaskShuffleSplit

__all__ = ["TaskKFold", "TaskShuffleSplit"]
