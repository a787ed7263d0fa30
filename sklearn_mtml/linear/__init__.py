"""Classic multi-task estimators: numpy / scipy / scikit-learn only, never torch."""

from ._clustered import ClusteredMultiTaskRegressor
from ._l21 import MultiTaskL21Regressor
from ._low_rank import LowRankMultiTaskRegressor
from ._ridge import MultiTaskRidge
from ._ridge_cv import MultiTaskRidgeCV
from ._shared_pca import SharedPCARegressor

__all__ = [
    "ClusteredMultiTaskRegressor",
    "LowRankMultiTaskRegressor",
    "MultiTaskL21Regressor",
    "MultiTaskRidge",
    "MultiTaskRidgeCV",
    "SharedPCARegressor",
]
