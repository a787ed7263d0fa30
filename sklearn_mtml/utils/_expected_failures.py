"""Known, justified failures of sklearn's estimator checks: one place, a reason each."""

from __future__ import annotations

# {estimator class name: {check name: reason}}
_CONTRACT_LABELS = {
    "check_classifiers_regression_target": (
        "the task contract (_targets.py) accepts float class labels (any finite values are "
        "labels of a task), so a continuous target is not rejected as sklearn expects"
    ),
    "check_supervised_y_no_nan": (
        "the task contract (_targets.py) encodes every non-missing value of a classification "
        "task as a label, inf included"
    ),
}

EXPECTED_FAILED_CHECKS: dict[str, dict[str, str]] = {
    "LateFusionClassifier": dict(_CONTRACT_LABELS),
}


def expected_failed_checks(estimator) -> dict[str, str]:
    """Checks of :func:`sklearn.utils.estimator_checks.parametrize_with_checks` that
    ``estimator`` is known to fail, each with the reason.

    Parameters
    ----------
    estimator : estimator instance

    Returns
    -------
    failures : dict
        ``{check name: reason}``; empty when the estimator passes every check.

    Examples
    --------
    >>> from sklearn_mtml import MultiTaskRidge
    >>> from sklearn_mtml.utils import expected_failed_checks
    >>> expected_failed_checks(MultiTaskRidge())
    {}
    """
    return dict(EXPECTED_FAILED_CHECKS.get(type(estimator).__name__, {}))
