"""Determinism on CPU: the same ``random_state`` gives identical predictions across fits.

Parametrized over every public estimator (new ones join automatically). Estimators
without ``random_state`` are deterministic by construction and must stay so. GPU caveats
are documented in ``docs/user_guide/gpu.rst``.
"""

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import make_estimator as _make
from sklearn.base import clone, is_classifier

from sklearn_mtml.utils import all_estimators

torch.set_num_threads(1)

ESTIMATORS = all_estimators()


def _data(est, n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    Y = X @ rng.normal(size=(4, 2)) + 0.3 * rng.normal(size=(n, 2))
    Y[::5, 1] = np.nan  # missing labels take part in the run too
    if is_classifier(est):
        Y = np.where(np.isnan(Y), None, np.where(Y > 0, "up", "down")).astype(object)
    return X, Y


def _outputs(est, X):
    out = [est.predict(X)]
    if hasattr(est, "predict_proba"):
        proba = est.predict_proba(X)
        out.extend(proba if isinstance(proba, list) else [proba])
    return out


@pytest.mark.parametrize("name, cls", ESTIMATORS, ids=[n for n, _ in ESTIMATORS])
def test_same_random_state_gives_identical_predictions(name, cls):
    est = _make(cls)
    if "random_state" in est.get_params():
        est.set_params(random_state=7)
    X, Y = _data(est)
    first = _outputs(clone(est).fit(X, Y), X)
    # torch's global RNG moved in between must not matter: the estimator seeds locally
    torch.rand(10)
    second = _outputs(clone(est).fit(X, Y), X)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "name, cls",
    [(n, c) for n, c in ESTIMATORS if "random_state" in _make(c).get_params()],
)
def test_different_random_state_changes_the_neural_fit(name, cls):
    # the test above would pass trivially if random_state were ignored
    est = _make(cls)
    X, Y = _data(est)
    a = clone(est).set_params(random_state=1).fit(X, Y)
    b = clone(est).set_params(random_state=2).fit(X, Y)
    wa = [p.detach().numpy() for p in a.net_.module_.parameters()]
    wb = [p.detach().numpy() for p in b.net_.module_.parameters()]
    assert any(not np.array_equal(x, y) for x, y in zip(wa, wb))


@pytest.mark.parametrize(
    "name, cls",
    [(n, c) for n, c in ESTIMATORS if "random_state" in _make(c).get_params()],
)
def test_fit_leaves_torch_global_rng_alone(name, cls):
    est = _make(cls)
    X, Y = _data(est)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    est.fit(pd.DataFrame(X), Y)
    np.testing.assert_array_equal(torch.rand(3).numpy(), expected.numpy())
