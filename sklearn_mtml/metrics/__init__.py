"""NaN-aware per-task metrics and multi-task scorers (never imports torch).

Each task is scored on its own observed labels: a missing label (``NaN`` / ``None`` /
``pd.NA``) leaves its sample out of that task's score and of no other task's.
"""

from ._per_task import (
    per_task_accuracy,
    per_task_f1,
    per_task_mae,
    per_task_r2,
    per_task_rmse,
    per_task_roc_auc,
    pooled_explained_variance,
)
from ._scorer import make_task_scorer, multitask_scoring, per_task_scores

__all__ = [
    "make_task_scorer",
    "multitask_scoring",
    "per_task_accuracy",
    "per_task_f1",
    "per_task_mae",
    "per_task_r2",
    "per_task_rmse",
    "per_task_roc_auc",
    "per_task_scores",
    "pooled_explained_variance",
]
