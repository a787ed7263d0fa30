"""Discovery of the package's public estimators."""

from __future__ import annotations

from importlib import import_module

from sklearn.base import BaseEstimator


def all_estimators(include_neural: bool = True) -> list[tuple[str, type]]:
    """List every public estimator of sklearn-mtml as ``(name, class)`` pairs.

    An estimator added to the package's public names is listed (and so covered by the common
    tests) automatically.

    Parameters
    ----------
    include_neural : bool, default=True
        Include the torch-based estimators (importing them imports torch).

    Returns
    -------
    estimators : list of (str, type)
        Sorted by name.

    Examples
    --------
    >>> from sklearn_mtml.utils import all_estimators
    >>> names = [name for name, _ in all_estimators(include_neural=False)]
    >>> "MultiTaskRidge" in names
    True
    """
    package = import_module("sklearn_mtml")
    modules = dict(package._EAGER)
    if include_neural:
        modules.update(package._LAZY)
    found = []
    for module, names in modules.items():
        mod = import_module(module)
        for name in names:
            cls = getattr(mod, name)
            if isinstance(cls, type) and issubclass(cls, BaseEstimator):
                found.append((name, cls))
    return sorted(found)
