"""sklearn's estimator checks over every public estimator (new ones join automatically)."""

import pytest
from conftest import make_estimator
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_mtml.utils import all_estimators, expected_failed_checks


def _instances():
    return [make_estimator(cls) for _, cls in all_estimators()]


@parametrize_with_checks(_instances(), expected_failed_checks=expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


def test_all_estimators_is_not_empty():
    names = [name for name, _ in all_estimators()]
    assert "MultiTaskRidge" in names


@pytest.mark.parametrize("name, cls", all_estimators(include_neural=False))
def test_classic_estimators_do_not_import_torch(name, cls):
    import subprocess
    import sys

    code = (
        "import sys, sklearn_mtml; "
        f"from {cls.__module__} import {name}; "
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
