"""The task contract: one implementation of how tasks are represented.

Every multi-task estimator of the package (classic and neural) goes through this module,
so the rules below hold everywhere:

* **Wide format**: ``y`` has shape ``(n_samples, n_tasks)`` (ndarray or DataFrame; the
  DataFrame's column names become ``task_names_``). A missing label is ``NaN`` (or ``None`` /
  ``pd.NA`` for classification). A 1-D ``y`` is a single task, and predictions are 1-D again.
* **Long format**: the estimator parameter ``task_column`` names a column of ``X`` (a name for
  DataFrames, a position for arrays) that holds each row's task id; ``y`` is 1-D. The task
  column is not a feature. Each row is predicted for its own task.

The fitted layout (:class:`TaskLayout`) is stored on the estimator as ``_task_layout`` and the
public attributes ``task_names_``, ``n_tasks_`` (and ``classes_`` for classifiers) are set from
it. Internally, targets are always handed to estimators as a dense wide matrix ``Y`` of shape
``(n_samples, n_tasks)`` in *encoded* space (regression values, or class codes
``0..n_classes_t - 1`` for classification tasks) with a boolean ``mask`` of observed labels.
"""

from __future__ import annotations

import contextlib
import numbers
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.utils.validation import _num_samples, check_array, validate_data

__all__ = [
    "TaskData",
    "TaskLayout",
    "all_labels",
    "check_predict_X",
    "label_columns",
    "decode_predictions",
    "fit_guard",
    "keep_state",
    "validate_fit_data",
]

REGRESSION = "regression"
CLASSIFICATION = "classification"
_TASK_TYPES = (REGRESSION, CLASSIFICATION)


@dataclass(frozen=True)
class TaskLayout:
    """What fit learned about the tasks; enough to validate and decode at predict time.

    Attributes
    ----------
    names : ndarray of object
        Task names: DataFrame columns of ``y``, task ids of the task column, or
        ``"task_0", "task_1", ...``.
    long : bool
        Whether ``task_column`` (long format) was used.
    y_1d : bool
        Wide format with a 1-D ``y`` (one task): predictions are returned 1-D.
    task_types : tuple of str
        ``"regression"`` or ``"classification"`` per task.
    classes : tuple
        Per task, the sorted array of labels (classification) or ``None``.
    task_column : int, str or None
        The resolved task column (a name for DataFrames, a position for arrays).
    """

    names: np.ndarray
    long: bool
    y_1d: bool
    task_types: tuple[str, ...]
    classes: tuple[np.ndarray | None, ...]
    task_column: object = None

    @property
    def n_tasks(self) -> int:
        return len(self.names)

    def task_position(self) -> dict:
        """Map task id (long format) to its index."""
        return {_as_key(name): i for i, name in enumerate(self.names)}


@dataclass
class TaskData:
    """Validated training data handed to an estimator's ``_fit``.

    Attributes
    ----------
    X : ndarray of shape (n_samples, n_features), or what the estimator's ``convert_X`` made
        Finite float64 features (the task column removed).
    layout : TaskLayout
        The fitted task layout.
    task_index : ndarray of int or None
        Long format: each row's task position. ``None`` for wide format.
    y_long : ndarray of shape (n_samples,) or None
        Long format: each row's encoded target for its own task (``NaN`` = missing).
    Y : ndarray of shape (n_samples, n_tasks)
        Targets in encoded space (values, or class codes), ``NaN`` where missing. In long
        format it is built on first access from ``y_long`` (dense ``n x T``): estimators
        that can work per row should use ``y_long`` and ``task_index`` instead.
    mask : ndarray of bool, shape (n_samples, n_tasks)
        ``True`` where a label is observed.
    """

    X: object
    layout: TaskLayout
    task_index: np.ndarray | None = None
    y_long: np.ndarray | None = None
    _Y: np.ndarray | None = None
    _mask: np.ndarray | None = None

    @property
    def Y(self) -> np.ndarray:
        if self._Y is None:
            Y = np.full((len(self.y_long), self.layout.n_tasks), np.nan)
            Y[np.arange(len(self.y_long)), self.task_index] = self.y_long
            self._Y = Y
        return self._Y

    @property
    def mask(self) -> np.ndarray:
        if self._mask is None:
            self._mask = ~np.isnan(self.Y)
        return self._mask

    def observed_labels(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(rows, tasks, values)`` of every observed label, in either format.

        Long format: in row order; wide format: task-major (all of task 0's labels first).
        Per-task statistics of the labels (counts, means, sums of squares) are
        ``np.bincount(tasks, ...)`` over these, whatever the format.
        """
        if self.task_index is not None:
            observed = ~np.isnan(self.y_long)
            rows = np.arange(len(observed)) if observed.all() else np.flatnonzero(observed)
            return rows, self.task_index[rows], self.y_long[rows]
        tasks, rows = np.nonzero(self.mask.T)
        return rows, tasks, self.Y[rows, tasks]

    def observed_counts(self) -> np.ndarray:
        """Number of observed labels per task."""
        if self.task_index is None:
            return self.mask.sum(axis=0)
        return np.bincount(self.observed_labels()[1], minlength=self.layout.n_tasks)


def _as_key(value):
    """Hashable, type-normalised key for a task id (numpy scalars -> Python scalars)."""
    if isinstance(value, np.generic):
        return value.item()
    return value


def _est_name(estimator) -> str:
    return type(estimator).__name__


@contextlib.contextmanager
def keep_state(estimator):
    """Continuing a fitted model (warm start, a later ``partial_fit`` chunk): on any error,
    put every attribute back as it was, so the fitted model survives."""
    saved = dict(vars(estimator))
    try:
        yield
    except BaseException:
        vars(estimator).clear()
        vars(estimator).update(saved)
        raise


@contextlib.contextmanager
def fit_guard(estimator):
    """Leave no half-fitted state: on any error, drop every fitted attribute."""
    try:
        yield
    except BaseException:
        for key in list(vars(estimator)):
            if (key.endswith("_") and not key.startswith("__")) or key == "_task_layout":
                delattr(estimator, key)
        raise


# ----------------------------------------------------------------------------- X handling
def _resolve_task_column(X, task_column, estimator):
    """Return (column key, is_positional) for ``task_column`` in ``X`` or raise naming it."""
    if isinstance(X, pd.DataFrame):
        if task_column in X.columns:
            return task_column, False
        if isinstance(task_column, numbers.Integral) and -X.shape[1] <= task_column < X.shape[1]:
            return int(task_column) % X.shape[1], True
        raise ValueError(
            f"task_column={task_column!r} is not a column of X; {_est_name(estimator)} "
            f"needs it to hold each row's task id. Columns are: {list(X.columns)[:20]}."
        )
    n_columns = np.shape(X)[1] if np.ndim(X) == 2 else 0
    if not isinstance(task_column, numbers.Integral) or isinstance(task_column, bool):
        raise ValueError(
            f"task_column={task_column!r} is not a column of X: X is an array, so "
            "task_column must be an integer position (or pass X as a DataFrame)."
        )
    if not -n_columns <= task_column < n_columns:
        raise ValueError(
            f"task_column={task_column!r} is not a column of X: X has {n_columns} columns."
        )
    return int(task_column) % n_columns, True


def task_column_values(X, task_column, owner):
    """Each row's task id from the column ``task_column`` of raw ``X`` (name or position).

    Returns ``(ids, key, positional)``; raises a ``ValueError`` naming the column when it is
    absent, ambiguous (duplicated name) or has missing ids. Shared by the estimators and the
    task-aware splitters.
    """
    key, positional = _resolve_task_column(X, task_column, owner)
    if isinstance(X, pd.DataFrame):
        ids_series = X.iloc[:, key] if positional else X[key]
        if isinstance(ids_series, pd.DataFrame):
            raise ValueError(f"task_column={task_column!r} names more than one column of X.")
        ids = ids_series.to_numpy(dtype=object)
    else:
        ids = np.asarray(X)[:, key]
    if pd.isna(ids).any():
        raise ValueError(f"task_column={task_column!r} has missing task ids.")
    return ids, key, positional


def _split_task_column(X, task_column, estimator):
    """Split raw ``X`` into (features, task ids as a 1-D object/numeric array, resolved key)."""
    ids, key, positional = task_column_values(X, task_column, estimator)
    if isinstance(X, pd.DataFrame):
        features = X.drop(columns=X.columns[key] if positional else key)
    else:
        features = np.delete(np.asarray(X), key, axis=1)
    return features, ids, key


def _check_features(features, estimator, allow_nan=False):
    try:
        return check_array(
            features,
            dtype=np.float64,
            ensure_all_finite="allow-nan" if allow_nan else True,
            input_name="X",
            estimator=estimator,
            ensure_min_features=1,
        )
    except ValueError as exc:
        if "could not convert" in str(exc) or "Unable to convert" in str(exc):
            raise ValueError(
                f"{_est_name(estimator)} needs numeric features in X: {exc}"
            ) from exc
        raise


def _check_X_features(estimator, X, reset, task_column, allow_nan=False, convert_X=None):
    """Validate X's shape/names, split off the task column, return (features, ids, key).

    ``convert_X(features, reset)`` replaces the default numeric conversion (multi-modal
    estimators keep a DataFrame with text/categorical columns); it returns the object handed
    to ``_fit`` / ``_predict_tasks`` and must raise errors naming the offending column.
    """
    if convert_X is None:
        def convert_X(features, reset):
            return _check_features(features, estimator, allow_nan)

    if X is None:
        raise ValueError(f"{_est_name(estimator)} needs X, got None.")
    if not hasattr(X, "shape") and not isinstance(X, pd.DataFrame):
        X = np.asarray(X)
    if np.ndim(X) != 2:
        raise ValueError(
            f"Expected a 2D array for X, got an array of shape {np.shape(X)}: "
            "Reshape your data (one row per sample)."
        )
    if isinstance(X, pd.DataFrame) and X.columns.has_duplicates:
        # caught here: sklearn's feature-name check would fail deep inside narwhals
        duplicated = list(dict.fromkeys(X.columns[X.columns.duplicated()]))
        raise ValueError(
            f"X has duplicated column names {duplicated[:10]}; {_est_name(estimator)} "
            "needs each column name once (rename or drop the duplicates)."
        )
    if _num_samples(X) == 0:
        # before any conversion: estimators with their own convert_X would otherwise
        # fail later with a misleading message (e.g. "no observed labels")
        raise ValueError(
            f"Found array with 0 sample(s) (shape={np.shape(X)}) while a minimum of 1 is "
            f"required by {_est_name(estimator)}."
        )
    validate_data(estimator, X, reset=reset, skip_check_array=True)
    if task_column is None:
        return convert_X(X, reset), None, None
    features, ids, key = _split_task_column(X, task_column, estimator)
    return convert_X(features, reset), ids, key


# ----------------------------------------------------------------------------- y handling
def _y_columns(y, estimator):
    """Return (list of 1-D object-or-numeric arrays, names, y_1d)."""
    if y is None:
        raise ValueError(
            f"{_est_name(estimator)} requires y to be passed, but the target y is None."
        )
    if isinstance(y, pd.DataFrame):
        if y.shape[1] == 0:
            raise ValueError("y has no task columns.")
        names = np.array([str(c) if not isinstance(c, str) else c for c in y.columns], dtype=object)
        if len(set(names)) != len(names):
            raise ValueError(f"y has duplicated task names: {list(y.columns)}.")
        cols = [y.iloc[:, j].to_numpy(dtype=object) if not _is_numeric_series(y.iloc[:, j])
                else y.iloc[:, j].to_numpy(dtype=np.float64, na_value=np.nan)
                for j in range(y.shape[1])]
        return cols, names, False
    if isinstance(y, pd.Series):
        arr = (y.to_numpy(dtype=np.float64, na_value=np.nan) if _is_numeric_series(y)
               else y.to_numpy(dtype=object))
        name = y.name if y.name is not None else "task_0"
        return [arr], np.array([str(name)], dtype=object), True
    arr = np.asarray(y)
    if arr.dtype.kind in "USO" or arr.dtype == object:
        arr = np.asarray(y, dtype=object)
    if arr.ndim == 1:
        return [arr], np.array(["task_0"], dtype=object), True
    if arr.ndim == 2:
        if arr.shape[1] == 0:
            raise ValueError("y has no task columns: expected shape (n_samples, n_tasks).")
        names = np.array([f"task_{j}" for j in range(arr.shape[1])], dtype=object)
        return [arr[:, j] for j in range(arr.shape[1])], names, False
    raise ValueError(
        f"y must be 1-D (one task) or 2-D (n_samples, n_tasks); got shape {arr.shape}."
    )


def _is_numeric_series(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)


def _missing(values: np.ndarray) -> np.ndarray:
    return np.asarray(pd.isna(values), dtype=bool)


def _as_float(values, task_name, estimator):
    try:
        out = np.array(
            [np.nan if m else v for v, m in zip(values, _missing(values))], dtype=np.float64
        ) if values.dtype == object else np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{_est_name(estimator)} is a regressor and needs numeric targets, but task "
            f"{task_name!r} has non-numeric values ({exc}). For labels use a classifier."
        ) from None
    if np.isinf(out).any():
        raise ValueError(f"Task {task_name!r} has infinite target values.")
    return out


def _encode_labels(values, task_name):
    """Return (codes as float with NaN for missing, sorted classes in the user's type)."""
    missing = _missing(values)
    observed = values[~missing]
    if observed.dtype == object:
        kinds = {type(_as_key(v)) for v in observed}
        if kinds <= {int, bool}:
            observed = observed.astype(np.int64)
        elif kinds <= {int, float}:
            observed = observed.astype(np.float64)
        elif kinds <= {str}:
            observed = observed.astype(str).astype(object)
        else:
            raise ValueError(
                f"Task {task_name!r} mixes label types {sorted(k.__name__ for k in kinds)}; "
                "use one type of label per task."
            )
    if observed.dtype.kind == "f" and np.all(np.mod(observed, 1) == 0):
        observed = observed.astype(np.int64)
    classes, codes = np.unique(observed, return_inverse=True)
    out = np.full(len(values), np.nan)
    out[~missing] = codes
    return out, classes


def _task_types(task_types, n_tasks, estimator):
    if isinstance(task_types, str):
        if task_types not in _TASK_TYPES:
            raise ValueError(f"task type must be one of {_TASK_TYPES}, got {task_types!r}.")
        return (task_types,) * n_tasks
    task_types = tuple(task_types)
    if len(task_types) != n_tasks:
        raise ValueError(
            f"task_types has {len(task_types)} entries but y has {n_tasks} tasks."
        )
    bad = [t for t in task_types if t not in _TASK_TYPES]
    if bad:
        raise ValueError(f"Unknown task type(s) {bad}; use 'regression' or 'classification'.")
    return task_types


def _factorize_ids(ids, task_column):
    """Sorted unique task ids (Python scalars) and each row's position among them."""
    ids = np.asarray(ids)
    if ids.dtype.kind == "f" and np.all(np.mod(ids, 1) == 0):
        ids = ids.astype(np.int64)  # ids that went through a float array are still ints
    try:
        codes, uniques = pd.factorize(ids.astype(object), sort=True)
    except TypeError:
        raise ValueError(
            f"task_column={task_column!r} mixes id types; use one type of task id."
        ) from None
    names = np.array([_as_key(v) for v in uniques], dtype=object)
    return names, codes.astype(np.intp)


def _encode_long(values, task_index, names, kind, estimator):
    """Encode a long-format target: one value (or class code) per row, NaN = missing."""
    n_tasks = len(names)
    if kind == REGRESSION:
        return _as_float(values, "y", estimator), [None] * n_tasks
    y_long = np.full(len(values), np.nan)
    order = np.argsort(task_index, kind="stable")
    bounds = np.searchsorted(task_index[order], np.arange(n_tasks + 1))
    classes = []
    for t in range(n_tasks):
        rows = order[bounds[t] : bounds[t + 1]]
        y_long[rows], task_classes = _encode_labels(values[rows], names[t])
        classes.append(task_classes)
    return y_long, classes


def validate_fit_data(
    estimator, X, y, *, task_types, task_column=None, allow_nan_X=False, convert_X=None,
    reset=True, require_labels=True,
):
    """Validate ``X, y`` for fit, following the task contract.

    Returns a :class:`TaskData` (its ``layout`` describes the tasks); of the estimator's
    attributes, sets only sklearn's own ``n_features_in_`` / ``feature_names_in_`` (with
    ``reset``). :func:`record_tasks` records the tasks once the caller decides to.

    Parameters
    ----------
    estimator : estimator instance
    X : array-like or DataFrame of shape (n_samples, n_columns)
    y : array-like, Series or DataFrame
    task_types : str or sequence of str
        ``"regression"`` / ``"classification"`` for every task, or one per task (wide format).
    task_column : int, str or None
        Long format: the column of ``X`` holding each row's task id.
    allow_nan_X : bool
        Let NaN through in X (for estimators where NaN means an absent modality).
    convert_X : callable or None
        ``convert_X(features, reset) -> object`` replacing the numeric conversion of X.
    reset : bool, default=True
        Record X's features (``fit``); ``False`` checks them against the recorded ones
        (a later ``partial_fit`` chunk).
    require_labels : bool, default=True
        Refuse a task with no observed label. A ``partial_fit`` chunk may lack a task's
        labels: its statistics then simply do not change.
    """
    features, ids, key = _check_X_features(
        estimator, X, reset, task_column, allow_nan_X, convert_X
    )
    n = _num_samples(features)
    columns, names, y_1d = _y_columns(y, estimator)
    if task_column is not None:
        if len(columns) != 1:
            raise ValueError(
                "With task_column (long format) y must be 1-D: one label per row, for the "
                f"row's own task; got {len(columns)} columns."
            )
        values = columns[0]
        if len(values) != n:
            raise ValueError(f"X has {n} rows but y has {len(values)}: lengths must match.")
        names, task_index = _factorize_ids(ids, task_column)
        types = _task_types(task_types, 1, estimator) * len(names)
        y_long, classes = _encode_long(values, task_index, names, types[0], estimator)
        data = TaskData(X=features, layout=None, task_index=task_index, y_long=y_long)
    else:
        task_index = None
        for col in columns:
            if len(col) != n:
                raise ValueError(f"X has {n} rows but y has {len(col)}: lengths must match.")
        types = _task_types(task_types, len(columns), estimator)
        Y = np.empty((n, len(columns)), dtype=np.float64)
        classes = []
        for t, (col, kind) in enumerate(zip(columns, types)):
            if kind == REGRESSION:
                Y[:, t] = _as_float(col, names[t], estimator)
                classes.append(None)
            else:
                Y[:, t], task_classes = _encode_labels(col, names[t])
                classes.append(task_classes)
        data = TaskData(X=features, layout=None, _Y=Y)
    layout = TaskLayout(
        names=names,
        long=task_column is not None,
        y_1d=y_1d and task_column is None,
        task_types=types,
        classes=tuple(classes),
        task_column=key,
    )
    data.layout = layout
    empty = [names[t] for t in np.flatnonzero(data.observed_counts() == 0)]
    if empty and require_labels:
        raise ValueError(
            f"Task(s) {empty} have no observed labels (all missing): drop them from y."
        )
    return data


def record_tasks(estimator, layout: TaskLayout) -> None:
    """Record the fitted tasks on ``estimator``: ``_task_layout``, ``task_names_``,
    ``n_tasks_`` (validation itself only returns them, in ``TaskData.layout``)."""
    estimator._task_layout = layout
    estimator.task_names_ = layout.names
    estimator.n_tasks_ = layout.n_tasks


def all_labels(classes) -> np.ndarray:
    """Every label of the classification tasks, sorted (by type, then value, when the
    tasks' labels have different types): ``classes_`` of a long-format classifier."""
    values = np.concatenate([c for c in classes if c is not None])
    try:
        return np.unique(values)
    except TypeError:
        unique = sorted(set(values.tolist()), key=lambda v: (type(v).__name__, v))
        return np.array(unique, dtype=object)


def label_columns(labels: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Positions in ``labels`` (from :func:`all_labels`) of one task's ``classes``."""
    position = {v: i for i, v in enumerate(labels.tolist())}
    return np.array([position[v] for v in classes.tolist()], dtype=np.intp)


def check_predict_X(estimator, X, allow_nan_X=False, convert_X=None, allow_unseen=False):
    """Validate ``X`` at predict time; return (features, task_index or None).

    A task id that fit never saw is a ``ValueError`` naming it; with ``allow_unseen`` its
    rows get ``task_index`` -1 instead, and a ``UserWarning`` names the ids (the estimator
    predicts them with its shared part).
    """
    features, index, _ = _predict_rows(estimator, X, allow_nan_X, convert_X, allow_unseen)
    return features, index


def _predict_rows(estimator, X, allow_nan_X, convert_X, allow_unseen):
    """(features, task_index or None, task ids or None) of ``X`` at predict time."""
    layout: TaskLayout = estimator._task_layout
    task_column = layout.task_column if layout.long else None
    if task_column is not None and not isinstance(X, pd.DataFrame):
        # fit may have seen a DataFrame (name) and predict an array: use the position.
        task_column = _column_position(estimator, task_column)
    features, ids, _ = _check_X_features(
        estimator, X, False, task_column, allow_nan_X, convert_X
    )
    if ids is None:
        return features, None, None
    index = pd.Index(layout.names).get_indexer(np.asarray(ids, dtype=object))
    if (index < 0).any():
        # ids such as 3.0 for a task fit as 3 (an array round trip) are the same task.
        position = layout.task_position()
        for i in np.flatnonzero(index < 0):
            k = _as_key(ids[i])
            if isinstance(k, float) and k.is_integer():
                index[i] = position.get(int(k), -1)
    if (index < 0).any():
        # ids from a float array (3.0) are shown as the integers they stand for
        shown = list(dict.fromkeys(
            int(k) if isinstance(k, float) and k.is_integer() else k
            for k in (_as_key(v) for v in ids[index < 0])
        ))[:10]
        where = f"Task id(s) {shown} in task_column {layout.task_column!r} were not seen in fit"
        if allow_unseen:
            warnings.warn(f"{where}; {_est_name(estimator)} predicts them with its shared "
                          "part (unseen_tasks='auto').", UserWarning, stacklevel=4)
        else:
            hint = (" (unseen_tasks='auto' predicts them with its shared part)"
                    if getattr(estimator, "_has_shared_part", lambda: False)() else
                    "; it has no shared part to predict a new task with")
            raise ValueError(
                f"{where}; {_est_name(estimator)} can only predict the {layout.n_tasks} "
                f"tasks it was trained on{hint}."
            )
    return features, index.astype(np.intp), np.asarray(ids, dtype=object)


def _column_position(estimator, key):
    names = getattr(estimator, "feature_names_in_", None)
    if names is None or isinstance(key, numbers.Integral):
        return key
    return int(np.flatnonzero(names == key)[0])


def task_ids_of(estimator, X):
    """Each row's task id (user space) in long format, or ``None`` in wide format."""
    layout: TaskLayout = estimator._task_layout
    if not layout.long:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # predict already said it
        _, index, ids = _predict_rows(estimator, X, True, None,
                                      allow_unseen=estimator._allows_unseen())
    out = np.asarray(layout.names, dtype=object)[np.maximum(index, 0)]
    out[index < 0] = ids[index < 0]
    return out


def decode_predictions(layout: TaskLayout, P: np.ndarray, task_index=None):
    """Turn encoded predictions into the user's format.

    Parameters
    ----------
    layout : TaskLayout
    P : ndarray of shape (n_samples, n_tasks) or (n_samples,)
        Encoded predictions: values (regression) or class codes (classification). In long
        format a 1-D ``P`` holds each row's prediction for its own task.
    task_index : ndarray of int or None
        Long format: each row's task position.
    """
    P = np.asarray(P)
    if layout.long:
        if P.ndim == 2:
            P = P[np.arange(P.shape[0]), task_index]
        if all(c is None for c in layout.classes):
            return P.astype(np.float64)
        out = _decode_mixed_rows(layout, P, task_index)
        return out
    cols = []
    for t in range(layout.n_tasks):
        if layout.classes[t] is None:
            cols.append(P[:, t].astype(np.float64))
        else:
            cols.append(layout.classes[t][np.asarray(P[:, t], dtype=np.intp)])
    if layout.y_1d:
        return cols[0]
    return _stack_columns(cols)


def _decode_mixed_rows(layout, P, task_index):
    out = np.empty(len(P), dtype=object)
    for t in np.unique(task_index):
        rows = task_index == t
        classes = layout.classes[t]
        out[rows] = P[rows] if classes is None else classes[np.asarray(P[rows], dtype=np.intp)]
    return _common_dtype(out, [c for c in layout.classes])


def _common_dtype(out, classes):
    dtypes = {c.dtype for c in classes if c is not None}
    if len(dtypes) == 1 and all(c is not None for c in classes):
        return out.astype(dtypes.pop())
    return out


def _stack_columns(cols):
    dtypes = {c.dtype for c in cols}
    if len(dtypes) == 1:
        return np.column_stack(cols)
    out = np.empty((len(cols[0]), len(cols)), dtype=object)
    for j, c in enumerate(cols):
        out[:, j] = c
    return out


def as_task_list(value, layout: TaskLayout, what: str) -> list:
    """Expand a per-task setting (scalar, sequence or ``{task name: value}``) to a list."""
    n = layout.n_tasks
    if isinstance(value, dict):
        unknown = [k for k in value if _as_key(k) not in layout.task_position()]
        if unknown:
            raise ValueError(f"{what} names unknown task(s) {unknown}.")
        position = layout.task_position()
        out = [None] * n
        for k, v in value.items():
            out[position[_as_key(k)]] = v
        missing = [layout.names[i] for i, v in enumerate(out) if v is None]
        if missing:
            raise ValueError(f"{what} has no entry for task(s) {missing}.")
        return out
    if isinstance(value, Sequence | np.ndarray) and not isinstance(value, str):
        if len(value) != n:
            raise ValueError(f"{what} has {len(value)} entries but there are {n} tasks.")
        return list(value)
    return [value] * n
