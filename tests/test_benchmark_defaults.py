"""The defaults suite's loaders (benchmarks/defaults.py) give consistent problems."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "defaults.py"


@pytest.fixture(scope="module")
def defaults():
    spec = importlib.util.spec_from_file_location("bench_defaults", PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    if not module.SUITE.exists():
        pytest.skip(f"suite data not found at {module.SUITE}")
    return module


@pytest.mark.parametrize("name", ["enb", "flags", "computer_survey", "school"])
def test_quick_problems_are_consistent(defaults, name):
    p = defaults.load_problem(name)
    assert len(p.X) == len(p.Y)
    assert p.Y.shape[1] == len(p.task_types)
    assert (defaults.TASK in p.X.columns) == p.long
    tr, te = p.split(0)
    assert len(np.intersect1d(tr, te)) == 0 and len(tr) and len(te)
    # the same split for every contender: a split is a pure function of its index
    tr2, te2 = p.split(0)
    assert np.array_equal(tr, tr2) and np.array_equal(te, te2)
    numeric = p.X.select_dtypes("number")
    assert not np.isinf(numeric.to_numpy()).any()


def test_holdout_is_disjoint_from_the_quick_set(defaults):
    assert not set(defaults.HOLDOUT) & set(defaults.QUICK)
    assert set(defaults.HOLDOUT) <= set(defaults.ALL)
