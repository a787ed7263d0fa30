"""Tests of the task-aware splitters."""

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import GridSearchCV, cross_validate

from sklearn_mtml import MultiTaskRidge
from sklearn_mtml.datasets import load_school
from sklearn_mtml.model_selection import TaskKFold, TaskShuffleSplit


def _long_data(sizes=(1, 2, 5, 10, 37), seed=0):
    rng = np.random.RandomState(seed)
    task = np.repeat(np.arange(len(sizes)) * 10 + 3, sizes)  # ids 3, 13, 23, ...
    feats = rng.randn(len(task), 3)
    y = feats @ [1.0, -2.0, 0.5] + task / 10 + 0.1 * rng.randn(len(task))
    X = pd.DataFrame(feats, columns=["a", "b", "c"])
    X.insert(1, "task", task)
    return X, y, task


@pytest.mark.parametrize("train_size", [0.3, 0.5, 0.8])
def test_shuffle_split_keeps_per_task_fraction(train_size):
    X, _, task = _long_data()
    cv = TaskShuffleSplit(n_splits=4, train_size=train_size, random_state=0, task_column="task")
    splits = list(cv.split(X))
    assert len(splits) == cv.get_n_splits() == 4
    for train, test in splits:
        assert len(np.intersect1d(train, test)) == 0
        assert len(train) + len(test) == len(X)
        for t in np.unique(task):
            n = (task == t).sum()
            n_train = (task[train] == t).sum()
            assert n_train >= 1
            if n > 1:
                assert n - n_train >= 1
                assert abs(n_train - train_size * n) <= 1
    # splits differ from each other
    assert not np.array_equal(splits[0][0], splits[1][0])


def test_shuffle_split_task_ids_from_array_position_and_groups():
    X, _, task = _long_data()
    arr = X.to_numpy()
    kw = dict(n_splits=3, random_state=42)
    by_name = list(TaskShuffleSplit(task_column="task", **kw).split(X))
    by_pos_df = list(TaskShuffleSplit(task_column=1, **kw).split(X))
    by_pos = list(TaskShuffleSplit(task_column=1, **kw).split(arr))
    by_groups = list(TaskShuffleSplit(**kw).split(arr[:, [0, 2, 3]], groups=task))
    for other in (by_pos_df, by_pos, by_groups):
        for (tr1, te1), (tr2, te2) in zip(by_name, other):
            np.testing.assert_array_equal(tr1, tr2)
            np.testing.assert_array_equal(te1, te2)


def test_shuffle_split_reproducible_and_int_train_size():
    X, _, task = _long_data()
    a = [tr for tr, _ in TaskShuffleSplit(3, random_state=1, task_column="task").split(X)]
    b = [tr for tr, _ in TaskShuffleSplit(3, random_state=1, task_column="task").split(X)]
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    train, _ = next(TaskShuffleSplit(1, train_size=3, task_column="task").split(X))
    counts = pd.Series(task[train]).value_counts().sort_index().tolist()
    assert counts == [1, 1, 3, 3, 3]  # capped at n - 1, at least 1


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(train_size=1.5), "train_size"),
        (dict(train_size=0), "train_size"),
        (dict(n_splits=0), "n_splits"),
        (dict(task_column=None), "task id"),
        (dict(task_column="nope"), "not a column"),
    ],
)
def test_shuffle_split_errors(params, match):
    X, _, _ = _long_data()
    params = {"task_column": "task", **params}
    with pytest.raises(ValueError, match=match):
        next(TaskShuffleSplit(**params).split(X))


def test_kfold_stratifies_by_task():
    X, _, task = _long_data(sizes=(1, 3, 7, 10, 23))
    cv = TaskKFold(n_splits=3, shuffle=True, random_state=0, task_column="task")
    folds = list(cv.split(X))
    assert len(folds) == 3
    all_test = np.concatenate([te for _, te in folds])
    # every row with a task of >= 2 rows is tested exactly once; singletons never
    singleton = np.flatnonzero(task == 3)
    assert sorted(all_test.tolist()) == sorted(set(range(len(X))) - set(singleton.tolist()))
    sizes = [len(te) for _, te in folds]
    assert max(sizes) - min(sizes) <= 1
    for train, test in folds:
        assert set(np.unique(task[train])) == set(np.unique(task))
        for t in np.unique(task):
            n = (task == t).sum()
            if n > 1:
                assert abs((task[test] == t).sum() - n / 3) < 1
    with pytest.raises(ValueError, match="n_splits"):
        next(TaskKFold(n_splits=1, task_column="task").split(X))


def test_splitters_in_cross_validate_and_grid_search():
    X, y, task = _long_data(sizes=(4, 6, 9, 12, 20))
    est = MultiTaskRidge(task_column="task")
    for cv in (
        TaskShuffleSplit(n_splits=3, train_size=0.5, random_state=0, task_column="task"),
        TaskKFold(n_splits=3, task_column="task"),
    ):
        res = cross_validate(est, X, y, cv=cv)
        assert len(res["test_score"]) == 3 and np.all(np.isfinite(res["test_score"]))
    # without the splitter, a random KFold can leave a task out of training entirely: the
    # splitter is what makes long-format CV safe.
    search = GridSearchCV(
        est, {"alpha": [0.1, 10.0]}, cv=TaskShuffleSplit(3, random_state=0), error_score="raise"
    )
    search.fit(X, y, groups=task)
    assert search.best_params_["alpha"] in (0.1, 10.0)


def test_shuffle_split_on_school_protocol():
    X, y = load_school(as_frame=True, return_X_y=True)
    cv = TaskShuffleSplit(n_splits=2, train_size=0.3, random_state=0, task_column="school")
    sizes = X["school"].value_counts()
    for train, _ in cv.split(X, y):
        n_train = X["school"].iloc[train].value_counts().reindex(sizes.index)
        frac = n_train / sizes
        assert n_train.min() >= 1 and (sizes - n_train).min() >= 1
        assert ((frac - 0.3).abs() <= 0.5 / sizes + 1e-12).all()  # nearest row to 30%
