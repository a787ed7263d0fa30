"""Utilities: the list of public estimators and their known estimator-check failures."""

from ._discovery import all_estimators
from ._expected_failures import expected_failed_checks

__all__ = ["all_estimators", "expected_failed_checks"]
