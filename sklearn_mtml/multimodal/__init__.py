"""Multi-modal estimators and tools that need no torch.

* :class:`LateFusionClassifier`, :class:`LateFusionRegressor`: one sklearn estimator per
  modality, combined by cross-validated stacking or weighted averaging;
* :func:`modality_importance` and :class:`ModalityImportanceDisplay`: how much the score
  drops when each modality is removed (works for every estimator with a ``modalities`` spec,
  the neural ones included).

The neural fusion estimators live in :mod:`sklearn_mtml.neural`.
"""

from ._importance import ModalityImportanceDisplay, modality_importance, remove_modality
from ._late_fusion import LateFusionClassifier, LateFusionRegressor, default_modality_estimator

__all__ = [
    "LateFusionClassifier",
    "LateFusionRegressor",
    "ModalityImportanceDisplay",
    "default_modality_estimator",
    "modality_importance",
    "remove_modality",
]
