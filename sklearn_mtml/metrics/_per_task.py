"""NaN-aware per-task metrics: each task is scored on its own observed labels only.

Every function accepts the two layouts of the task contract (``sklearn_mtml._targets``):

* wide: ``y_true`` of shape ``(n_samples, n_tasks)`` (or 1-D for one task) with missing
  labels as ``NaN`` / ``None`` / ``pd.NA``, ``y_pred`` of the same shape;
* long: 1-D ``y_true`` and ``y_pred`` plus ``task_ids``, each row's task.

Tasks come out in the order of :func:`sklearn_mtml._task_scores.iter_tasks`: the columns of
``y_true`` (wide) or the sorted task ids (long).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    log_loss,
    mean_absolute_error,
    r2_score,
    roc_auc_score,
    root_mean_squared_error,
)

from .._task_scores import iter_tasks, mean_over_tasks, per_task_values

__all__ = [
    "per_task_accuracy",
    "per_task_f1",
    "per_task_mae",
    "per_task_r2",
    "per_task_rmse",
    "per_task_roc_auc",
    "pooled_explained_variance",
]


def _positions_like(y_true, like):
    """Row positions shaped like ``like``: through ``iter_tasks`` they give each task's rows."""
    positions = np.arange(len(y_true))
    if np.ndim(like) == 1:
        return positions
    return np.repeat(positions[:, None], np.shape(like)[1], axis=1)


def _aggregate(scores: dict, multioutput):
    """Turn ``{task: score}`` into raw values or an average over the tasks with a score."""
    values = np.array(list(scores.values()), dtype=np.float64)
    if isinstance(multioutput, str):
        if multioutput == "raw_values":
            return values
        if multioutput != "uniform_average":
            raise ValueError(
                "multioutput must be 'raw_values', 'uniform_average' or an array of task "
                f"weights, got {multioutput!r}."
            )
        return mean_over_tasks(values)
    weights = np.asarray(multioutput, dtype=np.float64).ravel()
    if len(weights) != len(values):
        raise ValueError(
            f"multioutput has {len(weights)} weights but there are {len(values)} tasks."
        )
    return mean_over_tasks(values, weights)


def _task_dict(metric, y_true, y_pred, task_ids, sample_weight, min_samples, **kwargs):
    if kwargs:
        def scorer(yt, yp, **kw):
            return metric(yt, yp, **kwargs, **kw)
    else:
        scorer = metric
    return per_task_values(scorer, y_true, y_pred, task_ids, sample_weight, min_samples)


# ----------------------------------------------------------------------------- regression
def _r2_dict(y_true, y_pred, task_ids=None, sample_weight=None):
    return _task_dict(r2_score, y_true, y_pred, task_ids, sample_weight, 2)


def _rmse_dict(y_true, y_pred, task_ids=None, sample_weight=None):
    return _task_dict(root_mean_squared_error, y_true, y_pred, task_ids, sample_weight, 1)


def _mae_dict(y_true, y_pred, task_ids=None, sample_weight=None):
    return _task_dict(mean_absolute_error, y_true, y_pred, task_ids, sample_weight, 1)


def per_task_r2(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    task_ids: ArrayLike | None = None,
    sample_weight: ArrayLike | None = None,
    multioutput: str | ArrayLike = "raw_values",
) -> np.ndarray | float:
    """R² of each task, on that task's observed labels only.

    Parameters
    ----------
    y_true : array-like or DataFrame of shape (n_samples,) or (n_samples, n_tasks)
        True values; ``NaN`` marks a missing label (left out of that task only).
    y_pred : array-like of shape (n_samples,) or (n_samples, n_tasks)
        Predictions (wide: one column per task; long: one value per row).
    task_ids : array-like of shape (n_samples,), default=None
        Long format: each row's task id. ``None`` for wide format.
    sample_weight : array-like of shape (n_samples,), default=None
        Row weights.
    multioutput : {"raw_values", "uniform_average"} or array-like of shape (n_tasks,), \
default="raw_values"
        ``"raw_values"``: one score per task (columns of ``y_true``, or sorted task ids);
        ``"uniform_average"``: their mean; an array: their weighted mean. Tasks without a
        score are left out of averages.

    Returns
    -------
    score : ndarray of shape (n_tasks,) or float
        ``NaN`` for a task with fewer than two observed labels.

    See Also
    --------
    sklearn.metrics.r2_score : The single-task metric.
    per_task_scores : Several metrics of a fitted estimator as a DataFrame.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtml.metrics import per_task_r2
    >>> y_true = np.array([[1.0, 10.0], [2.0, np.nan], [3.0, 30.0], [4.0, 40.0]])
    >>> y_pred = np.array([[1.0, 12.0], [2.0, 99.0], [3.0, 30.0], [5.0, 40.0]])
    >>> per_task_r2(y_true, y_pred)
    array([0.8       , 0.99142857])
    >>> per_task_r2([1.0, 2.0, 3.0, 5.0], [1.0, 2.5, 3.0, 5.0], task_ids=["a", "a", "b", "b"])
    array([0.5, 1. ])
    """
    return _aggregate(_r2_dict(y_true, y_pred, task_ids, sample_weight), multioutput)


def per_task_rmse(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    task_ids: ArrayLike | None = None,
    sample_weight: ArrayLike | None = None,
    multioutput: str | ArrayLike = "raw_values",
) -> np.ndarray | float:
    """Root mean squared error of each task, on that task's observed labels only.

    Parameters
    ----------
    y_true : array-like or DataFrame of shape (n_samples,) or (n_samples, n_tasks)
        True values; ``NaN`` marks a missing label.
    y_pred : array-like of shape (n_samples,) or (n_samples, n_tasks)
        Predictions.
    task_ids : array-like of shape (n_samples,), default=None
        Long format: each row's task id.
    sample_weight : array-like of shape (n_samples,), default=None
        Row weights.
    multioutput : {"raw_values", "uniform_average"} or array-like, default="raw_values"
        See :func:`per_task_r2`.

    Returns
    -------
    error : ndarray of shape (n_tasks,) or float

    See Also
    --------
    sklearn.metrics.root_mean_squared_error : The single-task metric.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtml.metrics import per_task_rmse
    >>> y_true = np.array([[1.0, np.nan], [2.0, 2.0], [3.0, 4.0]])
    >>> y_pred = np.array([[2.0, 0.0], [2.0, 2.0], [3.0, 1.0]])
    >>> per_task_rmse(y_true, y_pred)
    array([0.57735027, 2.12132034])
    >>> round(per_task_rmse(y_true, y_pred, multioutput="uniform_average"), 4)
    1.3493
    """
    return _aggregate(_rmse_dict(y_true, y_pred, task_ids, sample_weight), multioutput)


def per_task_mae(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    task_ids: ArrayLike | None = None,
    sample_weight: ArrayLike | None = None,
    multioutput: str | ArrayLike = "raw_values",
) -> np.ndarray | float:
    """Mean absolute error of each task, on that task's observed labels only.

    Parameters
    ----------
    y_true : array-like or DataFrame of shape (n_samples,) or (n_samples, n_tasks)
        True values; ``NaN`` marks a missing label.
    y_pred : array-like of shape (n_samples,) or (n_samples, n_tasks)
        Predictions.
    task_ids : array-like of shape (n_samples,), default=None
        Long format: each row's task id.
    sample_weight : array-like of shape (n_samples,), default=None
        Row weights.
    multioutput : {"raw_values", "uniform_average"} or array-like, default="raw_values"
        See :func:`per_task_r2`.

    Returns
    -------
    error : ndarray of shape (n_tasks,) or float

    See Also
    --------
    sklearn.metrics.mean_absolute_error : The single-task metric.

    Examples
    --------
    >>> from sklearn_mtml.metrics import per_task_mae
    >>> per_task_mae([1.0, 2.0, 3.0, 4.0], [2.0, 2.0, 3.0, 6.0], task_ids=[1, 1, 2, 2])
    array([0.5, 1. ])
    """
    return _aggregate(_mae_dict(y_true, y_pred, task_ids, sample_weight), multioutput)


def pooled_explained_variance(
    y_true: ArrayLike, y_pred: ArrayLike, *, task_ids: ArrayLike | None = None,
    sample_weight: ArrayLike | None = None,
) -> float:
    """Explained variance pooled over all tasks: ``1 - SSE / SST`` over every observed label.

    This is the score reported on the School data (MALSAR): the squared errors of all tasks
    are summed, and ``SST`` is taken around the *global* mean of all observed labels, not
    around each task's mean, so predicting each task's mean already scores above zero.

    Parameters
    ----------
    y_true : array-like or DataFrame of shape (n_samples,) or (n_samples, n_tasks)
        True values; ``NaN`` marks a missing label.
    y_pred : array-like of shape (n_samples,) or (n_samples, n_tasks)
        Predictions.
    task_ids : array-like of shape (n_samples,), default=None
        Long format: each row's task id (only rows with a label count; the result does
        not depend on the ids otherwise).
    sample_weight : array-like of shape (n_samples,), default=None
        Row weights.

    Returns
    -------
    score : float
        ``NaN`` when there are no observed labels or they are all equal.

    See Also
    --------
    per_task_r2 : R² of each task around its own mean.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtml.metrics import pooled_explained_variance
    >>> y_true = [10.0, 12.0, 30.0, 34.0]
    >>> task_means = [11.0, 11.0, 32.0, 32.0]
    >>> round(pooled_explained_variance(y_true, task_means, task_ids=[0, 0, 1, 1]), 4)
    0.9778
    """
    truths, preds, weights = [], [], []
    pos_like = _positions_like(y_true, y_pred)
    for (_, yt, yp), (_, _, rows) in zip(
        iter_tasks(y_true, y_pred, task_ids), iter_tasks(y_true, pos_like, task_ids)
    ):
        truths.append(np.asarray(yt, dtype=np.float64))
        preds.append(np.asarray(yp, dtype=np.float64))
        w = np.ones(len(rows)) if sample_weight is None else np.asarray(sample_weight)[
            np.asarray(rows, dtype=np.intp)]
        weights.append(np.asarray(w, dtype=np.float64))
    if not truths:
        return float("nan")
    yt, yp, w = np.concatenate(truths), np.concatenate(preds), np.concatenate(weights)
    if w.sum() == 0:
        return float("nan")
    sse = np.sum(w * (yt - yp) ** 2)
    sst = np.sum(w * (yt - np.average(yt, weights=w)) ** 2)
    if sst == 0:
        return float("nan")
    return float(1.0 - sse / sst)


# ------------------------------------------------------------------------- classification
def _accuracy_dict(y_true, y_pred, task_ids=None, sample_weight=None):
    return _task_dict(accuracy_score, y_true, y_pred, task_ids, sample_weight, 1)


def _f1_dict(y_true, y_pred, task_ids=None, sample_weight=None, average="macro",
             zero_division="warn"):
    return _task_dict(f1_score, y_true, y_pred, task_ids, sample_weight, 1,
                      average=average, zero_division=zero_division)


def per_task_accuracy(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    task_ids: ArrayLike | None = None,
    sample_weight: ArrayLike | None = None,
    multioutput: str | ArrayLike = "raw_values",
) -> np.ndarray | float:
    """Accuracy of each task, on that task's observed labels only.

    Parameters
    ----------
    y_true : array-like or DataFrame of shape (n_samples,) or (n_samples, n_tasks)
        True labels; ``NaN`` / ``None`` / ``pd.NA`` marks a missing label.
    y_pred : array-like of shape (n_samples,) or (n_samples, n_tasks)
        Predicted labels.
    task_ids : array-like of shape (n_samples,), default=None
        Long format: each row's task id.
    sample_weight : array-like of shape (n_samples,), default=None
        Row weights.
    multioutput : {"raw_values", "uniform_average"} or array-like, default="raw_values"
        See :func:`per_task_r2`.

    Returns
    -------
    score : ndarray of shape (n_tasks,) or float

    See Also
    --------
    sklearn.metrics.accuracy_score : The single-task metric.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtml.metrics import per_task_accuracy
    >>> y_true = np.array([["cat", 1], ["dog", None], ["dog", 0], [None, 1]], dtype=object)
    >>> y_pred = np.array([["cat", 1], ["cat", 0], ["dog", 1], ["cat", 1]], dtype=object)
    >>> per_task_accuracy(y_true, y_pred)
    array([0.66666667, 0.66666667])
    """
    return _aggregate(_accuracy_dict(y_true, y_pred, task_ids, sample_weight), multioutput)


def per_task_f1(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    task_ids: ArrayLike | None = None,
    average: str = "macro",
    sample_weight: ArrayLike | None = None,
    zero_division: str | float = "warn",
    multioutput: str | ArrayLike = "raw_values",
) -> np.ndarray | float:
    """F1 score of each task, on that task's observed labels only.

    Parameters
    ----------
    y_true : array-like or DataFrame of shape (n_samples,) or (n_samples, n_tasks)
        True labels; ``NaN`` / ``None`` / ``pd.NA`` marks a missing label.
    y_pred : array-like of shape (n_samples,) or (n_samples, n_tasks)
        Predicted labels.
    task_ids : array-like of shape (n_samples,), default=None
        Long format: each row's task id.
    average : {"macro", "weighted", "micro", "binary"}, default="macro"
        Passed to :func:`sklearn.metrics.f1_score` for each task. The default is
        ``"macro"`` (not sklearn's ``"binary"``) because tasks have their own label sets
        and ``"binary"`` needs the positive label ``1`` in every task.
    sample_weight : array-like of shape (n_samples,), default=None
        Row weights.
    zero_division : {"warn", 0.0, 1.0, np.nan}, default="warn"
        Passed to :func:`sklearn.metrics.f1_score`.
    multioutput : {"raw_values", "uniform_average"} or array-like, default="raw_values"
        See :func:`per_task_r2`.

    Returns
    -------
    score : ndarray of shape (n_tasks,) or float

    See Also
    --------
    sklearn.metrics.f1_score : The single-task metric.

    Examples
    --------
    >>> from sklearn_mtml.metrics import per_task_f1
    >>> per_task_f1([0, 1, 1, 0, 2, 2], [0, 1, 0, 0, 2, 1], task_ids=[0, 0, 0, 1, 1, 1])
    array([0.66666667, 0.55555556])
    """
    return _aggregate(
        _f1_dict(y_true, y_pred, task_ids, sample_weight, average, zero_division), multioutput
    )


def _binary_auc(yt, score, positive, weights):
    is_pos = np.asarray(yt == positive)
    if is_pos.all() or not is_pos.any():
        return float("nan")
    return float(roc_auc_score(is_pos, score, sample_weight=weights))


def _task_auc(yt, score, classes, weights):
    """AUC of one task: binary, or one-vs-rest macro over the classes present in ``yt``."""
    score = np.asarray(score, dtype=np.float64)
    if score.ndim == 2 and score.shape[1] == 1:
        score = score[:, 0]
    if len(np.unique(yt)) < 2:
        return float("nan")  # a single class: AUC is undefined
    if classes is None:
        classes = np.unique(yt)
        n_columns = 2 if score.ndim == 1 else score.shape[1]
        if len(classes) != n_columns:
            raise ValueError(
                f"A task's scores have {n_columns} columns but its observed labels are "
                f"{classes.tolist()}: pass classes= (the estimator's classes_) to say "
                "which class each column is."
            )
    classes = np.asarray(classes)
    if score.ndim == 1:
        return _binary_auc(yt, score, classes[-1], weights)
    if score.shape[1] != len(classes):
        raise ValueError(
            f"A task's probabilities have {score.shape[1]} columns for {len(classes)} classes."
        )
    if len(classes) == 2:
        return _binary_auc(yt, score[:, 1], classes[1], weights)
    present = [j for j, c in enumerate(classes) if np.any(yt == c)]
    if len(present) < 2:
        return float("nan")
    return float(np.mean([_binary_auc(yt, score[:, j], classes[j], weights) for j in present]))


def _task_log_loss(yt, proba, classes, weights):
    """Log loss of one task's probabilities, over the columns' classes (``classes_``)."""
    proba = np.asarray(proba, dtype=np.float64)
    if classes is None:
        classes = np.unique(yt)
    classes = np.asarray(classes)
    if proba.ndim == 1:
        proba = np.column_stack([1 - proba, proba])
    if proba.shape[1] != len(classes):
        raise ValueError(
            f"A task's probabilities have {proba.shape[1]} columns for {len(classes)} classes."
        )
    position = {_key(c): j for j, c in enumerate(classes)}
    unknown = sorted({str(v) for v in yt if _key(v) not in position})
    if unknown:
        raise ValueError(f"Labels {unknown} are not among the estimator's classes.")
    codes = np.array([position[_key(v)] for v in yt], dtype=np.intp)
    return float(log_loss(codes, proba, labels=np.arange(len(classes)), sample_weight=weights))


def _log_loss_dict(y_true, y_score, task_ids=None, sample_weight=None, classes=None,
                   task_names=None):
    return _proba_dict(_task_log_loss, y_true, y_score, task_ids, sample_weight, classes,
                       task_names)


def _roc_auc_dict(y_true, y_score, task_ids=None, sample_weight=None, classes=None,
                  task_names=None):
    return _proba_dict(_task_auc, y_true, y_score, task_ids, sample_weight, classes,
                       task_names)


def _proba_dict(task_metric, y_true, y_score, task_ids=None, sample_weight=None,
                classes=None, task_names=None):
    """``{task: task_metric(labels, scores, classes, weights)}`` on observed labels."""
    per_task_list = isinstance(y_score, list | tuple)
    if task_ids is not None:
        pos_like = _positions_like(y_true, np.arange(len(y_true)))
        if per_task_list:
            if task_names is None:
                task_names = sorted(set(iter_task_keys(task_ids)))
            if len(task_names) != len(y_score):
                raise ValueError(
                    f"y_score has {len(y_score)} per-task arrays but there are "
                    f"{len(task_names)} tasks: pass task_names= (the estimator's "
                    "task_names_) to say which array belongs to which task."
                )
        elif np.ndim(y_score) != 1:
            raise ValueError(
                "In long format y_score must be a list with one array per task (what "
                "predict_proba returns) or one score per row."
            )
    else:
        if not per_task_list:
            arr = np.asarray(y_score)
            if np.ndim(y_true) == 1 and arr.ndim == 2:
                y_score = [arr]  # one task's probabilities
                per_task_list = True
        pos_like = _positions_like(y_true, y_true)
    single_task = task_ids is None and np.ndim(y_true) == 1
    if classes is not None and single_task and np.ndim(classes[0]) == 0:
        classes = [classes]  # one task's classes_
    position = None if task_names is None else {
        _key(name): t for t, name in enumerate(task_names)
    }
    weights_all = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
    out = {}
    for t, (name, yt, rows) in enumerate(iter_tasks(y_true, pos_like, task_ids)):
        rows = np.asarray(rows, dtype=np.intp)
        if task_ids is not None:
            t = position[_key(name)] if position is not None else None
            score = (np.asarray(y_score[t])[rows] if per_task_list
                     else np.asarray(y_score)[rows])
        else:
            score = (np.asarray(y_score[t])[rows] if per_task_list
                     else np.asarray(y_score)[rows, t] if np.ndim(y_score) == 2
                     else np.asarray(y_score)[rows])
        task_classes = None if classes is None or t is None else classes[t]
        weights = None if weights_all is None else weights_all[rows]
        out[name] = (task_metric(yt, score, task_classes, weights) if len(yt)
                     else float("nan"))
    return out


def _key(value):
    return value.item() if isinstance(value, np.generic) else value


def iter_task_keys(task_ids):
    """Task ids as plain Python values (numpy scalars unwrapped)."""
    return [_key(v) for v in np.asarray(task_ids, dtype=object).ravel()]


def per_task_roc_auc(
    y_true: ArrayLike,
    y_score: list | ArrayLike,
    *,
    task_ids: ArrayLike | None = None,
    classes: list | None = None,
    task_names: ArrayLike | None = None,
    sample_weight: ArrayLike | None = None,
    multioutput: str | ArrayLike = "raw_values",
) -> np.ndarray | float:
    """Area under the ROC curve of each task, on that task's observed labels only.

    Binary tasks use the score of the positive (last) class; multi-class tasks the
    one-vs-rest macro average over the classes present in the task's labels (equal to
    ``roc_auc_score(..., multi_class="ovr")`` when all classes are present).

    Parameters
    ----------
    y_true : array-like or DataFrame of shape (n_samples,) or (n_samples, n_tasks)
        True labels; ``NaN`` / ``None`` / ``pd.NA`` marks a missing label.
    y_score : list of arrays, or array-like
        The list that ``predict_proba`` returns, one ``(n_samples, n_classes_t)`` array per
        task (for a single task, that one array); or, for binary tasks, scores of the
        positive class of shape ``(n_samples, n_tasks)`` (wide) or ``(n_samples,)``
        (long, each row's score for its own task).
    task_ids : array-like of shape (n_samples,), default=None
        Long format: each row's task id.
    classes : list of arrays, default=None
        Per task, the class of each probability column (the estimator's ``classes_``).
        Default: the task's sorted observed labels, which must then match the columns.
    task_names : sequence, default=None
        Long format with a list ``y_score``: the task of each array (the estimator's
        ``task_names_``). Default: the sorted task ids.
    sample_weight : array-like of shape (n_samples,), default=None
        Row weights.
    multioutput : {"raw_values", "uniform_average"} or array-like, default="raw_values"
        See :func:`per_task_r2`.

    Returns
    -------
    score : ndarray of shape (n_tasks,) or float
        ``NaN`` for a task whose observed labels hold a single class.

    See Also
    --------
    sklearn.metrics.roc_auc_score : The single-task metric.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtml.metrics import per_task_roc_auc
    >>> y_true = np.array([[0, "a"], [1, "b"], [1, None], [0, "a"]], dtype=object)
    >>> proba = [np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]]),
    ...          np.array([[0.6, 0.4], [0.3, 0.7], [0.5, 0.5], [0.8, 0.2]])]
    >>> per_task_roc_auc(y_true, proba)
    array([0.75, 1.  ])
    """
    return _aggregate(
        _roc_auc_dict(y_true, y_score, task_ids, sample_weight, classes, task_names),
        multioutput,
    )
