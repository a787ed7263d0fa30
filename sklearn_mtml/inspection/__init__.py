"""Plots and diagnostics of fitted multi-task and multi-modal estimators.

Displays follow scikit-learn's convention: ``XDisplay.from_estimator(...)`` computes and
draws, ``display.plot(ax=...)`` redraws, and the drawn artists are kept as attributes
(``ax_``, ``figure_``, ``lines_``, ...).

* :class:`TaskLossDisplay`: per-task learning curves of a neural estimator's ``history_``;
* :class:`TaskWeightDisplay`: the task-balancing weights per epoch;
* :func:`task_gradient_similarity` and :class:`TaskRelationDisplay`: pairwise cosine
  similarity of the tasks' gradients on the shared parameters, as an annotated heatmap;
* :class:`ModalityImportanceDisplay` and :func:`modality_importance` (also in
  :mod:`sklearn_mtml.multimodal`): the score drop when each modality is removed.

Importing this module does not import torch or matplotlib; both are imported when needed.
"""

from ..multimodal._importance import ModalityImportanceDisplay, modality_importance
from ._history import TaskLossDisplay, TaskWeightDisplay
from ._relation import TaskRelationDisplay, task_gradient_similarity

__all__ = [
    "ModalityImportanceDisplay",
    "TaskLossDisplay",
    "TaskRelationDisplay",
    "TaskWeightDisplay",
    "modality_importance",
    "task_gradient_similarity",
]
