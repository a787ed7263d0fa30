"""Hyper-parameter search on a Dask cluster gives the same results as a serial search.

``GridSearchCV(..., n_jobs=-1)`` under ``joblib.parallel_backend("dask")`` ships the
estimator, its data and every (candidate, fold) fit to the workers of a local
``distributed`` cluster started by the test. The workers are separate processes, so the
estimators travel pickled -- as they would to a remote cluster.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import GridSearchCV, KFold

distributed = pytest.importorskip(
    "distributed", reason="Dask's distributed is not installed (pip install 'dask[distributed]')"
)
joblib = pytest.importorskip("joblib")

from sklearn_mtml import MultiTaskRidge  # noqa: E402


@pytest.fixture(scope="module")
def dask_client():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. "dashboard needs bokeh", port in use
        cluster = distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            worker_dashboard_address=None,
        )
        client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def _wide_data(seed=0, n=120, n_features=5, n_tasks=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_features))
    W = rng.normal(size=n_features) + 0.3 * rng.normal(size=(n_tasks, n_features))
    Y = X @ W.T + 0.5 * rng.normal(size=(n, n_tasks))
    Y[rng.random(Y.shape) < 0.2] = np.nan  # missing labels travel too
    X = pd.DataFrame(X, columns=[f"f{j}" for j in range(n_features)])
    return X, pd.DataFrame(Y, columns=[f"t{t}" for t in range(n_tasks)])


def _long_data(seed=0, n=150, n_features=4, n_tasks=5):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, n_features)), columns=[f"f{j}" for j in range(n_features)])
    X["task"] = np.repeat([f"school_{t}" for t in range(n_tasks)], n // n_tasks)
    W = rng.normal(size=(n_tasks, n_features))
    task = X["task"].str.slice(7).astype(int).to_numpy()
    y = np.einsum("nd,nd->n", X.iloc[:, :n_features].to_numpy(), W[task])
    return X, pd.Series(y + 0.3 * rng.normal(size=n), name="score")


def _assert_same_search(serial, parallel):
    assert parallel.best_params_ == serial.best_params_
    assert parallel.best_index_ == serial.best_index_
    for key, value in serial.cv_results_.items():
        if "time" in key:
            continue
        other = parallel.cv_results_[key]
        if np.asarray(value).dtype.kind == "f":
            np.testing.assert_allclose(other, value, rtol=1e-10, err_msg=key)
        else:
            assert list(other) == list(value), key


def _search_both_ways(make_search, X, y, client):
    serial = make_search(n_jobs=1).fit(X, y)
    with joblib.parallel_backend("dask"):
        parallel = make_search(n_jobs=-1).fit(X, y)
    _assert_same_search(serial, parallel)
    # The work really ran on the cluster's workers.
    assert len(client.scheduler_info()["workers"]) == 2
    return serial, parallel


def test_dask_grid_search_multitask_ridge_wide(dask_client):
    X, Y = _wide_data()

    def make_search(n_jobs):
        return GridSearchCV(
            MultiTaskRidge(),
            {"alpha": [0.1, 1.0, 10.0, np.inf], "shared_alpha": [0.1, 10.0]},
            cv=KFold(3, shuffle=True, random_state=0),
            n_jobs=n_jobs,
        )

    serial, parallel = _search_both_ways(make_search, X, Y, dask_client)
    np.testing.assert_allclose(parallel.predict(X), serial.predict(X))
    assert list(parallel.best_estimator_.task_names_) == ["t0", "t1", "t2"]


def test_dask_grid_search_multitask_ridge_long_format(dask_client):
    X, y = _long_data()

    def make_search(n_jobs):
        folds = KFold(3, shuffle=True, random_state=0)
        return GridSearchCV(
            MultiTaskRidge(task_column="task"),
            {"alpha": [0.01, 1.0, 100.0]},
            cv=folds,
            n_jobs=n_jobs,
        )

    serial, parallel = _search_both_ways(make_search, X, y, dask_client)
    np.testing.assert_allclose(parallel.predict(X), serial.predict(X))


def test_dask_grid_search_neural_regressor(dask_client):
    import sklearn_mtml

    if "MultiTaskNetRegressor" not in sklearn_mtml.__all__:
        pytest.skip("MultiTaskNetRegressor is not part of sklearn_mtml yet")
    pytest.importorskip("torch")
    from sklearn_mtml import MultiTaskNetRegressor

    X, Y = _wide_data(n=96)
    base = MultiTaskNetRegressor()
    params = base.get_params()
    # A small, deterministic configuration, whatever the estimator's exact parameter set.
    small = {"max_epochs": 3, "random_state": 0, "device": "cpu", "verbose": 0}
    base.set_params(**{k: v for k, v in small.items() if k in params})
    grid_param = next((p for p in ("lr", "alpha", "weight_decay") if p in params), None)
    if grid_param is None:
        pytest.skip("MultiTaskNetRegressor has none of lr / alpha / weight_decay to search")
    grid = {grid_param: [1e-3, 1e-2]}

    def make_search(n_jobs):
        return GridSearchCV(base, grid, cv=KFold(2, shuffle=True, random_state=0), n_jobs=n_jobs)

    serial, parallel = _search_both_ways(make_search, X, Y, dask_client)
    np.testing.assert_allclose(parallel.predict(X), serial.predict(X), rtol=1e-5, atol=1e-6)
