"""Per-task reports and scorers of fitted multi-task estimators.

Scorers follow sklearn's ``scorer(estimator, X, y)`` protocol, so they plug into
``GridSearchCV(scoring=...)`` and ``cross_validate``. In long format they read each row's
task from ``X`` through the estimator (:func:`sklearn_mtml._targets.task_ids_of`), the same
column the estimator predicts with.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from types import SimpleNamespace

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from sklearn.metrics._scorer import _BaseScorer  # subclasses share multi-metric's cache
from sklearn.utils.validation import check_is_fitted

from .._targets import label_columns, task_ids_of
from .._task_scores import iter_tasks, mean_over_tasks, per_task_values
from ._per_task import (
    _accuracy_dict,
    _f1_dict,
    _key,
    _log_loss_dict,
    _mae_dict,
    _positions_like,
    _r2_dict,
    _rmse_dict,
    _roc_auc_dict,
    pooled_explained_variance,
)

__all__ = ["make_task_scorer", "multitask_scoring", "per_task_scores"]


@dataclass(frozen=True)
class _Metric:
    """A per-task metric: ``task_scores(y_true, y_out, task_ids, sample_weight, est)``."""

    task_scores: Callable
    response_method: str  # "predict" or "predict_proba"
    sign: int  # +1: greater is better; -1: an error (scorers negate it)
    key: object = None  # identifies the metric in a shared scoring cache
    kind: str | None = None  # the task type it scores ("regression"/"classification"), or any


def _classes_and_names(estimator):
    layout = getattr(estimator, "_task_layout", None)
    if layout is not None and layout.long:  # classes_ is every task's labels together
        return list(layout.classes), estimator.task_names_
    classes = getattr(estimator, "classes_", None)
    if classes is not None and not isinstance(classes, list):
        classes = [classes]
    return classes, getattr(estimator, "task_names_", None)


class _Proba:
    """Adapt a per-task probability metric: it needs the estimator's classes (picklable)."""

    def __init__(self, func):
        self.func = func

    def __call__(self, y_true, y_score, task_ids, sample_weight, estimator):
        classes, names = (_classes_and_names(estimator) if estimator is not None
                          else (None, None))
        if not isinstance(y_score, list) and np.ndim(y_score) == 2 and task_ids is None:
            y_score = [y_score] if np.ndim(y_true) == 1 else y_score
        return self.func(
            y_true, y_score, task_ids, sample_weight, classes,
            names if task_ids is not None else None,
        )


class _Plain:
    """Adapt a ``(y_true, y_pred, task_ids, sample_weight)`` dict metric (picklable)."""

    def __init__(self, func, **kwargs):
        self.func = func
        self.kwargs = kwargs

    def __call__(self, y_true, y_pred, task_ids, sample_weight, estimator):
        return self.func(y_true, y_pred, task_ids, sample_weight, **self.kwargs)


class _PerTaskCallable:
    """A user's ``metric(y_true, y_pred)`` applied to each task (picklable)."""

    def __init__(self, func, min_samples):
        self.func = func
        self.min_samples = min_samples

    def __call__(self, y_true, y_out, task_ids, sample_weight, estimator):
        return per_task_values(self.func, y_true, y_out, task_ids, sample_weight,
                               self.min_samples)


_REG, _CLF = "regression", "classification"
_METRICS = {
    "r2": _Metric(_Plain(_r2_dict), "predict", 1, kind=_REG),
    "rmse": _Metric(_Plain(_rmse_dict), "predict", -1, kind=_REG),
    "mae": _Metric(_Plain(_mae_dict), "predict", -1, kind=_REG),
    "accuracy": _Metric(_Plain(_accuracy_dict), "predict", 1, kind=_CLF),
    "f1": _Metric(_Plain(_f1_dict), "predict", 1, kind=_CLF),
    "f1_weighted": _Metric(
        _Plain(_f1_dict, average="weighted"), "predict", 1, kind=_CLF
    ),
    "roc_auc": _Metric(_Proba(_roc_auc_dict), "predict_proba", 1, kind=_CLF),
    "log_loss": _Metric(_Proba(_log_loss_dict), "predict_proba", -1, kind=_CLF),
}
# sklearn's scorer names for the errors, and short forms
_SCORER_ALIASES = {
    "neg_rmse": "rmse",
    "neg_root_mean_squared_error": "rmse",
    "neg_mae": "mae",
    "neg_mean_absolute_error": "mae",
    "neg_log_loss": "log_loss",
    "f1_macro": "f1",
}
_POOLED = "pooled_explained_variance"
#: what ``per_task_scores`` reports by default, per task type
_DEFAULT_METRICS = {_REG: ("r2", "rmse"), _CLF: ("accuracy", "roc_auc")}
_BY_KIND = {
    _REG: "'r2', 'rmse', 'mae' (as scorers 'neg_rmse', 'neg_mae')",
    _CLF: "'accuracy', 'f1', 'f1_weighted', 'roc_auc', 'log_loss' (as a scorer 'neg_log_loss')",
}


def _get_metric(name: str) -> _Metric:
    if name not in _METRICS:
        raise ValueError(
            f"Unknown metric {name!r}; choose one of {sorted(_METRICS)} or pass a callable."
        )
    return replace(_METRICS[name], key=name)


def _task_kinds(holder) -> tuple | None:
    """Each task's type ("regression" / "classification"), or None if unknown."""
    layout = getattr(holder, "_task_layout", None)
    return None if layout is None else tuple(layout.task_types)


def _check_kind(metric: _Metric, name, kinds, holder, task=None) -> list[bool]:
    """Which tasks ``metric`` applies to; our error when it applies to none (of those asked)."""
    if metric.kind is None or kinds is None:
        return [True] * (0 if kinds is None else len(kinds))
    applies = [k == metric.kind for k in kinds]
    names = list(holder.task_names_)
    asked = (applies if task is None
             else [a for a, n in zip(applies, names) if _key(n) == _key(task)])
    if not any(asked):
        other = _CLF if metric.kind == _REG else _REG
        what = "has no" if task is None else f"task {task!r} is not a"
        raise ValueError(
            f"{name!r} is a {metric.kind} metric but {type(holder).__name__} {what} "
            f"{metric.kind} task; for {other} tasks use {_BY_KIND[other]} "
            "(sklearn_mtml.metrics: per_task_scores, make_task_scorer, multitask_scoring)."
        )
    return applies


def _callable_metric(func, response_method, sign, min_samples=1) -> _Metric:
    return _Metric(_PerTaskCallable(func, min_samples), response_method, sign,
                   key=(func, response_method, min_samples))


def _task_view(estimator, X):
    """(estimator holding the task layout, X as that estimator sees it)."""
    if hasattr(estimator, "_task_layout"):
        return estimator, X
    steps = getattr(estimator, "steps", None)
    if steps:
        # Pipeline: the last step holds the tasks; X reaches it through the others.
        final = estimator[-1]
        return final, (estimator[:-1].transform(X) if len(steps) > 1 else X)
    check_is_fitted(estimator)
    raise TypeError(
        f"{type(estimator).__name__} is not a multi-task estimator of sklearn_mtml (it "
        "has no fitted task layout)."
    )


def _align_wide_y(y, names):
    """A DataFrame ``y`` with the estimator's task columns in another order: reorder it."""
    if not isinstance(y, pd.DataFrame) or list(map(str, y.columns)) == list(map(str, names)):
        return y
    by_name = {str(c): c for c in y.columns}
    if set(by_name) != {str(n) for n in names}:
        return y  # different names: tasks are matched by position
    return y[[by_name[str(n)] for n in names]]


def _cached(cache: dict | None, key, compute):
    if cache is None:
        return compute()
    key = ("sklearn_mtml", *key)
    if key not in cache:
        cache[key] = compute()
    return cache[key]


def _only_tasks(applies, holder, y, y_out, task_ids, sample_weight):
    """Restrict scoring to the tasks a metric applies to (mixed task types)."""
    names = np.asarray(holder.task_names_, dtype=object)
    keep_t = np.flatnonzero(applies)
    classes = getattr(holder, "classes_", None)
    view = SimpleNamespace(
        task_names_=names[keep_t],
        classes_=None if classes is None else [classes[t] for t in keep_t],
    )
    if isinstance(y_out, list | tuple):
        y_out = [y_out[t] for t in keep_t]
    if task_ids is None:  # wide: keep the columns
        y = y.iloc[:, keep_t] if isinstance(y, pd.DataFrame) else np.asarray(y)[:, keep_t]
        if not isinstance(y_out, list):
            y_out = np.asarray(y_out)[:, keep_t]
        return view, y, y_out, None, sample_weight
    wanted = {_key(n) for n in names[keep_t]}  # long: keep the rows of those tasks
    rows = np.array([_key(t) in wanted for t in task_ids], dtype=bool)
    y = y[rows] if isinstance(y, pd.Series | pd.DataFrame) else np.asarray(y, dtype=object)[rows]
    y_out = ([p[rows] for p in y_out] if isinstance(y_out, list)
             else np.asarray(y_out)[rows])
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight)[rows]
    return view, y, y_out, np.asarray(task_ids, dtype=object)[rows], sample_weight


def _scores_by_task(metric: _Metric, estimator, X, y, sample_weight=None, cache=None,
                    name="metric") -> dict:
    """``{estimator task name: score}`` for every task with a label in ``y``.

    Only tasks of the metric's type are scored (R² of a classification task of a mixed
    ``MultiTaskNet`` has no meaning); a metric of no task's type is our error naming the
    metrics to use. ``cache`` (a dict shared by the scorers of one multi-metric call) lets
    the scorers of every task reuse one prediction and one pass over the tasks.
    """
    holder, X_holder = _cached(cache, ("task_view",), lambda: _task_view(estimator, X))
    task_ids = _cached(cache, ("task_ids",), lambda: task_ids_of(holder, X_holder))
    if task_ids is None:
        y = _align_wide_y(y, holder.task_names_)
    applies = _check_kind(metric, name, _task_kinds(holder), holder)
    method = metric.response_method
    y_out = _cached(cache, ("response", method), lambda: getattr(estimator, method)(X))
    if method == "predict_proba" and task_ids is not None:
        y_out = _per_task_proba(holder, y_out)
    if not all(applies):
        holder, y, y_out, task_ids, sample_weight = _only_tasks(
            applies, holder, y, y_out, task_ids, sample_weight
        )
    scores = metric.task_scores(y, y_out, task_ids, sample_weight, holder)
    if task_ids is not None:
        return {_key(k): v for k, v in scores.items()}
    names = list(holder.task_names_)
    if len(scores) != len(names):
        raise ValueError(f"y has {len(scores)} tasks but the estimator has {len(names)}.")
    # wide: y's own column names may differ (ndarray y); tasks are matched by position
    return {_key(name): v for name, v in zip(names, scores.values())}


def _per_task_proba(holder, proba):
    """Long format: ``predict_proba``'s ``(n, len(classes_))`` as one ``(n, n_classes_t)``
    array per task (each task's own label columns)."""
    if isinstance(proba, list | tuple) or np.ndim(proba) != 2:
        return proba
    labels = holder.classes_
    return [proba[:, label_columns(labels, classes)]
            for classes in holder._task_layout.classes]


def _n_samples_by_task(y, task_ids, names) -> dict:
    counts = {
        name: len(yt)
        for name, yt, _ in iter_tasks(y, _positions_like(y, y), task_ids)
    }
    if task_ids is not None:
        return {_key(k): v for k, v in counts.items()}
    return {_key(name): v for name, v in zip(names, counts.values())}


def _default_metrics(holder, estimator) -> list[str]:
    kinds = _task_kinds(holder) or (_REG,)
    metrics = []
    for kind in (_REG, _CLF):
        if kind in kinds:
            metrics += [m for m in _DEFAULT_METRICS[kind]
                        if m != "roc_auc" or hasattr(estimator, "predict_proba")]
    return metrics


def per_task_scores(
    estimator, X, y, metrics: str | Callable | Sequence | None = None, *,
    sample_weight: ArrayLike | None = None,
) -> pd.DataFrame:
    """Scores of a fitted multi-task estimator, one row per task.

    Each task is scored on its own observed labels in ``y``; missing labels of one task do
    not touch another task's score. Each metric scores the tasks of its type only: with
    the mixed task types of :class:`~sklearn_mtml.MultiTaskNet`, the regression metrics
    are ``NaN`` for classification tasks and the other way round.

    Parameters
    ----------
    estimator : fitted multi-task estimator or Pipeline ending in one
        Must have ``task_names_`` (and ``predict_proba`` for ``"roc_auc"``).
    X : array-like or DataFrame of shape (n_samples, n_columns)
        Input of ``estimator.predict``; in long format it holds the task column.
    y : array-like or DataFrame of shape (n_samples,) or (n_samples, n_tasks)
        True targets; ``NaN`` marks a missing label.
    metrics : str, callable, sequence of them or None, default=None
        Names among ``"r2"``, ``"rmse"``, ``"mae"`` (regression tasks), ``"accuracy"``,
        ``"f1"`` (macro), ``"f1_weighted"``, ``"roc_auc"`` and ``"log_loss"``
        (classification tasks), or callables ``metric(y_true, y_pred)`` (applied to every
        task's predictions, column named after the function). ``None``: ``("r2",
        "rmse")`` for regression tasks and ``("accuracy", "roc_auc")`` for classification
        tasks (both for a mixed ``MultiTaskNet``).
    sample_weight : array-like of shape (n_samples,), default=None
        Row weights.

    Returns
    -------
    scores : DataFrame
        Indexed by task (``index.name == "task"``), one column per metric plus
        ``n_samples``, the number of observed labels of the task. Tasks without a label
        in ``y`` have ``n_samples == 0`` and ``NaN`` scores.

    See Also
    --------
    multitask_scoring : The same per-task scores as scorers for ``GridSearchCV``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtml import MultiTaskRidge
    >>> from sklearn_mtml.metrics import per_task_scores
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(40, 3)
    >>> Y = np.column_stack([X @ [1.0, 2.0, 0.0], X @ [1.0, 1.5, 0.5]])
    >>> Y[:30, 1] = np.nan  # task 1 has only 10 labels
    >>> model = MultiTaskRidge(alpha=1.0).fit(X, Y)
    >>> table = per_task_scores(model, X, Y, metrics=("r2", "mae"))
    >>> list(table.columns), table["n_samples"].tolist()
    (['r2', 'mae', 'n_samples'], [40, 10])
    >>> bool((table["r2"] > 0.9).all())
    True

    A classifier gets classification metrics by default:

    >>> from sklearn_mtml import MultiTaskNetClassifier
    >>> labels = pd.DataFrame({"big": np.where(X[:, 0] > 0, "yes", "no"),
    ...                        "odd": (X[:, 1] > 0).astype(int)})
    >>> clf = MultiTaskNetClassifier(max_epochs=2, random_state=0).fit(X, labels)
    >>> list(per_task_scores(clf, X, labels).columns)
    ['accuracy', 'roc_auc', 'n_samples']
    """
    holder, X_holder = _task_view(estimator, X)
    if metrics is None:
        metrics = _default_metrics(holder, estimator)
    if isinstance(metrics, str) or callable(metrics):
        metrics = [metrics]
    names = list(holder.task_names_)
    cache: dict = {}  # one prediction for all the metrics
    columns = {}
    for metric in metrics:
        if callable(metric):
            spec, label = _callable_metric(metric, "predict", 1), metric.__name__
        else:
            spec, label = _get_metric(metric), metric
        columns[label] = _scores_by_task(spec, estimator, X, y, sample_weight, cache,
                                         name=label)
    task_ids = task_ids_of(holder, X_holder)
    if task_ids is None:
        y = _align_wide_y(y, names)
    counts = _n_samples_by_task(y, task_ids, names)
    index = pd.Index([_key(n) for n in names], name="task")
    table = pd.DataFrame(
        {label: [col.get(t, np.nan) for t in index] for label, col in columns.items()},
        index=index,
    )
    table["n_samples"] = [counts.get(t, 0) for t in index]
    return table


def _shared_cache(method_caller) -> dict | None:
    """The response cache sklearn's multi-metric scoring shares among its scorers.

    ``_MultimetricScorer`` calls ``scorer._score(partial(_cached_call, cache), ...)`` on
    subclasses of ``_BaseScorer``, with one ``cache`` dict per (estimator, X) evaluation.
    Reusing it lets ``multitask_scoring``'s one-scorer-per-task dict predict and pass over
    the tasks once per evaluation, not once per task: with many tasks the scorers would
    otherwise dominate a search. Anything else (a private API change) just means no sharing.
    """
    args = getattr(method_caller, "args", ())
    return args[0] if args and isinstance(args[0], dict) else None


class _TaskScorer(_BaseScorer):
    """``scorer(estimator, X, y)`` -> one task's score, or the mean over tasks."""

    def __init__(self, metric: _Metric, name: str, task=None, pooled=False):
        super().__init__(metric.task_scores, metric.sign, {}, metric.response_method)
        self._metric = metric
        self._name = name
        self.task = task
        self._pooled = pooled

    def __call__(self, estimator, X, y_true, sample_weight=None) -> float:
        return self._score(None, estimator, X, y_true, sample_weight=sample_weight)

    def _score(self, method_caller, estimator, X, y_true, sample_weight=None, **kwargs):
        cache = _shared_cache(method_caller)
        if self._pooled and self.task is None:
            holder, X_holder = _cached(cache, ("task_view",), lambda: _task_view(estimator, X))
            task_ids = _cached(cache, ("task_ids",), lambda: task_ids_of(holder, X_holder))
            y_pred = _cached(cache, ("response", "predict"), lambda: estimator.predict(X))
            return pooled_explained_variance(
                y_true, y_pred, task_ids=task_ids, sample_weight=sample_weight
            )
        scores = _cached(
            cache,
            ("scores", self._metric.key, id(y_true), id(sample_weight)),
            lambda: _scores_by_task(self._metric, estimator, X, y_true, sample_weight, cache,
                                    name=self._name),
        )
        if self.task is None:
            value = mean_over_tasks(scores)
        else:
            holder, _ = _cached(cache, ("task_view",), lambda: _task_view(estimator, X))
            known = {_key(n) for n in holder.task_names_}
            if _key(self.task) not in known:
                raise ValueError(
                    f"Task {self.task!r} is not one of the estimator's tasks "
                    f"{list(holder.task_names_)[:20]}."
                )
            _check_kind(self._metric, self._name, _task_kinds(holder), holder, self.task)
            # a task without labels in this split has no score (NaN), like sklearn's
            # undefined metrics; GridSearchCV reports it and ranks it last
            value = scores.get(_key(self.task), float("nan"))
        return self._metric.sign * value

    def __repr__(self) -> str:
        task = "" if self.task is None else f", task={self.task!r}"
        return f"make_task_scorer({self._name!r}{task})"


def make_task_scorer(
    metric: str | Callable = "r2", task=None, *, greater_is_better: bool = True,
    response_method: str = "predict", min_samples: int = 1,
) -> Callable:
    """Make a scorer of one task, or of the mean over tasks, for model selection.

    The scorer has sklearn's signature ``scorer(estimator, X, y)``, so it is a valid
    ``scoring=`` of ``GridSearchCV``, ``cross_validate`` and friends. Each task is scored
    on its own observed labels; in long format the task of each row is read from ``X``.

    Parameters
    ----------
    metric : str or callable, default="r2"
        ``"r2"``, ``"accuracy"``, ``"f1"`` (macro), ``"f1_weighted"``, ``"roc_auc"``,
        ``"neg_rmse"`` (alias ``"neg_root_mean_squared_error"``), ``"neg_mae"`` (alias
        ``"neg_mean_absolute_error"``), ``"pooled_explained_variance"`` (with
        ``task=None``: the School score over all rows), or a callable
        ``metric(y_true, y_pred) -> float`` applied to each task.
    task : task name or None, default=None
        A name of ``estimator.task_names_`` (a task id in long format) to score that task
        only; ``None`` for the mean over the tasks that have a score.
    greater_is_better : bool, default=True
        Callables only: ``False`` negates the score (errors).
    response_method : {"predict", "predict_proba"}, default="predict"
        Callables only: which estimator output the metric gets.
    min_samples : int, default=1
        Callables only: fewer observed labels of a task give ``NaN``.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y) -> float``, greater is better.

    See Also
    --------
    multitask_scoring : One scorer per task plus the mean, for multi-metric search.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.model_selection import GridSearchCV
    >>> from sklearn_mtml import MultiTaskRidge
    >>> from sklearn_mtml.metrics import make_task_scorer
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(60, 3)
    >>> Y = np.column_stack([X @ [1.0, 2.0, 0.0], X @ [1.0, 1.5, 0.5]])
    >>> Y[::3, 0] = np.nan
    >>> search = GridSearchCV(MultiTaskRidge(), {"alpha": [0.1, 100.0]}, cv=3,
    ...                       scoring=make_task_scorer("neg_rmse", task="task_1"))
    >>> search.fit(X, Y).best_params_
    {'alpha': 0.1}
    """
    if callable(metric):
        spec = _callable_metric(metric, response_method, 1 if greater_is_better else -1,
                                min_samples)
        return _TaskScorer(spec, getattr(metric, "__name__", "metric"), task)
    if metric == _POOLED:
        # pooled EV of a single task is that task's R² around its own mean
        return _TaskScorer(_METRICS["r2"], metric, task, pooled=True)
    name = _SCORER_ALIASES.get(metric, metric)
    spec = _get_metric(name)
    if spec.sign < 0 and metric == name:
        raise ValueError(
            f"{metric!r} is an error (lower is better); a scorer must be greater-is-better: "
            f"use 'neg_{metric}'."
        )
    return _TaskScorer(spec, metric, task)


def multitask_scoring(estimator_or_task_names, metric: str | Callable = "r2") -> dict:
    """Scorers of every task plus their mean, as a ``scoring=`` dict for multi-metric search.

    ``GridSearchCV(..., scoring=multitask_scoring(model), refit="mean")`` reports
    ``mean_test_<task>`` for every task and selects on the mean over tasks.

    Parameters
    ----------
    estimator_or_task_names : fitted estimator or sequence of task names
        A fitted multi-task estimator (its ``task_names_`` are used) or the task names
        themselves (wide: the columns of ``y``, or ``"task_0"``, ...; long: the task ids).
    metric : str or callable, default="r2"
        As in :func:`make_task_scorer`.

    Returns
    -------
    scoring : dict
        ``{str(task): scorer}`` for every task, plus ``"mean"``: the mean over tasks.

    See Also
    --------
    make_task_scorer : A single scorer.
    per_task_scores : Per-task scores of a fitted estimator as a DataFrame.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from sklearn.model_selection import GridSearchCV
    >>> from sklearn_mtml import MultiTaskRidge
    >>> from sklearn_mtml.metrics import multitask_scoring
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(60, 3)
    >>> Y = pd.DataFrame({"sales": X @ [1.0, 2.0, 0.0], "visits": X @ [1.0, 1.5, 0.5]})
    >>> scoring = multitask_scoring(["sales", "visits"], metric="r2")
    >>> sorted(scoring)
    ['mean', 'sales', 'visits']
    >>> search = GridSearchCV(MultiTaskRidge(), {"alpha": [0.1, 10.0]}, cv=3,
    ...                       scoring=scoring, refit="mean").fit(X, Y)
    >>> search.cv_results_["mean_test_visits"].shape
    (2,)
    """
    if isinstance(estimator_or_task_names, str):
        raise TypeError("Pass a sequence of task names, not a single string.")
    if isinstance(estimator_or_task_names, Sequence | np.ndarray | pd.Index):
        names = list(estimator_or_task_names)
    elif hasattr(estimator_or_task_names, "task_names_"):
        names = list(estimator_or_task_names.task_names_)
    elif hasattr(estimator_or_task_names, "steps") and hasattr(
        estimator_or_task_names[-1], "task_names_"
    ):
        names = list(estimator_or_task_names[-1].task_names_)
    else:
        raise ValueError(
            "multitask_scoring needs the task names: pass a fitted multi-task estimator or "
            "the names themselves (the columns of y, or the ids of the task column)."
        )
    keys = [str(_key(n)) for n in names]
    if "mean" in keys or len(set(keys)) != len(keys):
        raise ValueError(
            f"Task names must be distinct as strings and not 'mean'; got {keys[:20]}."
        )
    scoring = {key: make_task_scorer(metric, task=name) for key, name in zip(keys, names)}
    scoring["mean"] = make_task_scorer(metric)
    return scoring
