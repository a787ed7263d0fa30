"""Splitters that respect tasks: every task is represented in every training set."""

from __future__ import annotations

import numbers
from collections.abc import Iterator

import numpy as np
import pandas as pd
from sklearn.model_selection import BaseCrossValidator
from sklearn.utils import check_random_state
from sklearn.utils.validation import _num_samples

from .._targets import task_column_values


def _task_codes(splitter, X, groups) -> np.ndarray:
    """Each row's task as an integer code: from ``groups`` or from ``X``'s task column."""
    if groups is not None:
        ids = np.asarray(groups, dtype=object).ravel()
        if len(ids) != _num_samples(X):
            raise ValueError(
                f"groups has {len(ids)} entries but X has {_num_samples(X)} rows."
            )
        if pd.isna(ids).any():
            raise ValueError("The task ids (groups) have missing values.")
    elif splitter.task_column is not None:
        if not isinstance(X, pd.DataFrame) and not hasattr(X, "shape"):
            X = np.asarray(X, dtype=object)
        ids, _, _ = task_column_values(X, splitter.task_column, splitter)
    else:
        raise ValueError(
            f"{type(splitter).__name__} needs each row's task id: set task_column (the "
            "column of X that holds it) or pass groups=."
        )
    codes, _ = pd.factorize(pd.Series(ids, dtype=object), sort=False)
    return codes


def _rows_by_task(codes: np.ndarray) -> list[np.ndarray]:
    order = np.argsort(codes, kind="stable")
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    return np.split(order, bounds)


class TaskShuffleSplit(BaseCrossValidator):
    """Random per-task train/test splits (the School / MALSAR protocol).

    For each split and each task, a random ``train_size`` fraction of the task's rows goes
    to training and the rest to test, so every task has the same share of its rows in
    training whatever its size. Every task keeps at least one training row; a task with
    more than one row also keeps at least one test row.

    Task ids come from ``groups`` when given, else from the column ``task_column`` of ``X``
    (a name for DataFrames, a position for arrays) -- the same column a long-format
    estimator reads, so ``cv=TaskShuffleSplit(task_column="school")`` works in
    ``cross_validate`` and ``GridSearchCV`` without passing anything else.

    Parameters
    ----------
    n_splits : int, default=10
        Number of re-shuffling and splitting iterations.
    train_size : float or int, default=0.3
        A float in (0, 1): the fraction of each task's rows used for training (rounded to
        the nearest row). An int: the number of training rows per task.
    random_state : int, RandomState instance or None, default=None
        Controls the randomness of the splits; pass an int for reproducible output.
    task_column : int, str or None, default=None
        The column of ``X`` holding each row's task id; ignored when ``groups`` is passed.

    See Also
    --------
    TaskKFold : K-fold cross-validation stratified by task.
    sklearn.model_selection.StratifiedShuffleSplit : Per-class proportions in a split.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtml.model_selection import TaskShuffleSplit
    >>> X = np.array([[0, 1.0]] * 10 + [[1, 2.0]] * 20)  # column 0: task id
    >>> cv = TaskShuffleSplit(n_splits=3, train_size=0.3, random_state=0, task_column=0)
    >>> for train, test in cv.split(X):
    ...     print(np.bincount(X[train, 0].astype(int)), np.bincount(X[test, 0].astype(int)))
    [3 6] [ 7 14]
    [3 6] [ 7 14]
    [3 6] [ 7 14]
    """

    __metadata_request__split = {"groups": True}

    def __init__(
        self,
        n_splits: int = 10,
        train_size: float = 0.3,
        random_state=None,
        task_column=None,
    ):
        self.n_splits = n_splits
        self.train_size = train_size
        self.random_state = random_state
        self.task_column = task_column

    def _check_params(self) -> None:
        if not isinstance(self.n_splits, numbers.Integral) or self.n_splits < 1:
            raise ValueError(f"n_splits must be a positive integer, got {self.n_splits!r}.")
        size = self.train_size
        if isinstance(size, bool) or not isinstance(size, numbers.Real):
            raise ValueError(f"train_size must be a float in (0, 1) or an int, got {size!r}.")
        if isinstance(size, numbers.Integral):
            if size < 1:
                raise ValueError(f"train_size as an int must be >= 1, got {size}.")
        elif not 0 < size < 1:
            raise ValueError(f"train_size as a float must be in (0, 1), got {size}.")

    def _n_train(self, n_rows: int) -> int:
        if isinstance(self.train_size, numbers.Integral):
            n = int(self.train_size)
        else:
            n = int(np.floor(self.train_size * n_rows + 0.5))
        # at least one training row; at least one test row when the task has two
        return max(1, min(n, n_rows - 1))

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        """Return the number of splits, ``n_splits``.

        Parameters
        ----------
        X, y, groups : object
            Ignored, present for API compatibility.

        Returns
        -------
        n_splits : int
        """
        return self.n_splits

    def _iter_test_masks(self, X=None, y=None, groups=None) -> Iterator[np.ndarray]:
        self._check_params()
        codes = _task_codes(self, X, groups)
        tasks = _rows_by_task(codes)
        rng = check_random_state(self.random_state)
        for _ in range(self.n_splits):
            test = np.ones(len(codes), dtype=bool)
            for rows in tasks:
                train_rows = rng.choice(rows, size=self._n_train(len(rows)), replace=False)
                test[train_rows] = False
            yield test


class TaskKFold(BaseCrossValidator):
    """K-fold cross-validation stratified by task.

    Each task's rows are spread evenly over the ``n_splits`` folds (like
    :class:`~sklearn.model_selection.StratifiedKFold` with the task as the class), so each
    test fold holds about ``1 / n_splits`` of every task and the folds have near-equal
    sizes. A task with a single row is always kept in training, so every task appears in
    every training set.

    Parameters
    ----------
    n_splits : int, default=5
        Number of folds, at least 2.
    shuffle : bool, default=False
        Shuffle each task's rows before assigning them to folds.
    random_state : int, RandomState instance or None, default=None
        Used when ``shuffle`` is True.
    task_column : int, str or None, default=None
        The column of ``X`` holding each row's task id; ignored when ``groups`` is passed.

    See Also
    --------
    TaskShuffleSplit : Random per-task train/test splits.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn_mtml.model_selection import TaskKFold
    >>> X = pd.DataFrame({"task": ["a"] * 4 + ["b"] * 6, "x": range(10)})
    >>> cv = TaskKFold(n_splits=2, task_column="task")
    >>> for train, test in cv.split(X):
    ...     print(X["task"].iloc[test].value_counts().sort_index().tolist())
    [2, 3]
    [2, 3]
    """

    __metadata_request__split = {"groups": True}

    def __init__(
        self,
        n_splits: int = 5,
        *,
        shuffle: bool = False,
        random_state=None,
        task_column=None,
    ):
        self.n_splits = n_splits
        self.shuffle = shuffle
        self.random_state = random_state
        self.task_column = task_column

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        """Return the number of folds, ``n_splits``.

        Parameters
        ----------
        X, y, groups : object
            Ignored, present for API compatibility.

        Returns
        -------
        n_splits : int
        """
        return self.n_splits

    def _iter_test_masks(self, X=None, y=None, groups=None) -> Iterator[np.ndarray]:
        if not isinstance(self.n_splits, numbers.Integral) or self.n_splits < 2:
            raise ValueError(f"n_splits must be an integer >= 2, got {self.n_splits!r}.")
        codes = _task_codes(self, X, groups)
        rng = check_random_state(self.random_state) if self.shuffle else None
        fold = np.full(len(codes), -1)
        next_fold = 0
        for rows in _rows_by_task(codes):
            if len(rows) < 2:
                continue  # stays in training
            if rng is not None:
                rows = rng.permutation(rows)
            # deal rows round-robin, continuing where the previous task stopped: every
            # task is spread evenly and the folds stay balanced in size
            fold[rows] = (next_fold + np.arange(len(rows))) % self.n_splits
            next_fold = (next_fold + len(rows)) % self.n_splits
        for k in range(self.n_splits):
            yield fold == k
