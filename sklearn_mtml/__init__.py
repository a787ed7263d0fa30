"""sklearn-mtml: multi-task and multi-modal learning for scikit-learn.

Classic estimators (``sklearn_mtml.linear``) need no torch and are imported eagerly. The
neural estimators (``sklearn_mtml.neural``) are imported lazily on first access, so
``import sklearn_mtml`` does not import torch.
"""

from importlib import import_module

__version__ = "0.1.0.dev0"

# Public estimators by module. Eager modules must not import torch.
_EAGER = {
    "sklearn_mtml.linear": [
        "MultiTaskRidge",
        "MultiTaskL21Regressor",
        "LowRankMultiTaskRegressor",
        "ClusteredMultiTaskRegressor",
        "SharedPCARegressor",
        "MultiTaskRidgeCV",
    ],
    "sklearn_mtml.multimodal": [
        "LateFusionClassifier",
        "LateFusionRegressor",
    ],
}
_LAZY = {
    "sklearn_mtml.neural": [
        "MultiModalClassifier",
        "MultiModalRegressor",
        "MultiTaskNet",
        "MultiTaskNetClassifier",
        "MultiTaskNetRegressor",
    ],
}

_LAZY_NAMES = {name: module for module, names in _LAZY.items() for name in names}

for _module, _names in _EAGER.items():
    _mod = import_module(_module)
    for _name in _names:
        globals()[_name] = getattr(_mod, _name)


def __getattr__(name):
    module = _LAZY_NAMES.get(name)
    if module is None:
        raise AttributeError(f"module 'sklearn_mtml' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(list(globals()) + list(_LAZY_NAMES))


__all__ = [name for names in _EAGER.values() for name in names] + list(_LAZY_NAMES)
