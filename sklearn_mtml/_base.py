"""Shared fit/predict/score path of every multi-task estimator (template methods).

Subclasses implement hooks only:

* ``_fit(self, data: TaskData)`` -- learn from validated, encoded targets;
* ``_predict_tasks(self, X) -> ndarray (n_samples, n_tasks)`` -- encoded predictions of
  every task (values for regression, class codes for classification);
* optionally ``_predict_rows(self, X, task_index)`` -- long format, each row for its own
  task (override when cheaper than predicting every task);
* classifiers: ``_predict_proba_tasks(self, X) -> list of (n_samples, n_classes_t)``.

``fit`` reads as the story: validate -> encode targets -> ``_fit`` -> record; a failed fit
leaves no fitted attribute behind (:func:`sklearn_mtml._targets.fit_guard`).
"""

from __future__ import annotations

import inspect

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils import _safe_indexing
from sklearn.utils.validation import _num_features, _num_samples, check_is_fitted

from ._targets import (
    CLASSIFICATION,
    REGRESSION,
    TaskData,
    _common_dtype,
    _missing,
    all_labels,
    check_predict_X,
    decode_predictions,
    fit_guard,
    keep_state,
    label_columns,
    record_tasks,
    validate_fit_data,
)
from ._task_scores import mean_over_tasks, mean_task_score, per_task_values
from ._weights import resolve_weights, warn_one_class


class _MultiTaskMixin:
    """fit / predict template shared by regressors and classifiers."""

    #: task type of every task; estimators mixing types override ``_get_task_types``.
    _task_type = REGRESSION
    #: NaN allowed in X (an absent modality); classic estimators keep False.
    _allow_nan_X = False

    def _get_task_types(self):
        return self._task_type

    #: ``convert_X(features, reset)`` hook; ``None`` = finite float64 array (the default).
    _convert_X = None

    def fit(self, X, y, sample_weight=None, **fit_params):
        """Fit the model on all tasks.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_columns)
            Features, plus the task-id column when ``task_column`` is set.
        y : array-like, Series or DataFrame of shape (n_samples,) or (n_samples, n_tasks)
            Targets; ``NaN`` marks a missing label.
        sample_weight : array-like of shape (n_samples,) or (n_samples, n_tasks), \
                default=None
            Weight of each row (1-D), or in wide format of each row and task (2-D, ``NaN``
            meaning 0). Weights enter the loss or the normal equations: an integer weight
            ``k`` fits as the row repeated ``k`` times. In long format one weight per row,
            for its own task. Multiplied by the weights of ``class_weight``, where the
            estimator has it.
        **fit_params : dict
            Passed to the estimator's training routine.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        if hasattr(self, "_parameter_constraints"):
            self._validate_params()
        continuing = self._continues_fit()
        if continuing:
            self._check_continued_X(X)
        # a continued fit that fails leaves the fitted model as it was; a new one, nothing
        with keep_state(self) if continuing else fit_guard(self):
            data = validate_fit_data(
                self,
                X,
                y,
                task_types=self._get_task_types(),
                task_column=getattr(self, "task_column", None),
                allow_nan_X=self._allow_nan_X,
                convert_X=self._convert_X,
                reset=not continuing,
            )
            weight = resolve_weights(self, data, sample_weight,
                                     getattr(self, "class_weight", None))
            warn_one_class(self, data.layout)
            if weight is not None:  # hooks written before weights keep working unweighted
                if "sample_weight" not in inspect.signature(self._fit).parameters:
                    raise ValueError(f"{type(self).__name__} does not support sample_weight.")
                fit_params["sample_weight"] = weight
            self._record_tasks(data)
            self._fit(data, **fit_params)
        return self

    def _continues_fit(self) -> bool:
        """Whether ``fit`` continues the fitted model (warm start) instead of starting anew."""
        return False

    def _check_continued_X(self, X) -> None:
        """A continued fit needs the fitted model's columns (sklearn's rule for warm start)."""
        try:
            n = _num_features(X)
        except TypeError:
            return
        if n != self.n_features_in_:
            raise ValueError(
                f"warm_start=True continues the fitted {type(self).__name__}, which has "
                f"{self.n_features_in_} input columns, but X has {n}. Set warm_start=False "
                "to fit a new model on other columns."
            )

    def _record_tasks(self, data: TaskData) -> None:
        """Record the tasks of ``data`` (estimators read them while fitting)."""
        record_tasks(self, data.layout)
        self._set_label_attributes(data)

    def _set_label_attributes(self, data: TaskData) -> None:
        """Hook for classifiers (``classes_``)."""

    def _fit(self, data: TaskData, **fit_params):  # pragma: no cover - abstract
        raise NotImplementedError

    def _predict_rows(self, X, task_index):
        """Long format: each row's encoded prediction for its own task."""
        P = self._predict_tasks(X)
        return P[np.arange(X.shape[0]), task_index]

    #: Long format, a task id unseen in fit: ``"error"``, or ``"auto"`` (the shared part's
    #: prediction where the model has one). Estimators with a shared part take it as the
    #: parameter ``unseen_tasks``; the others always refuse an unseen task.
    unseen_tasks = "error"

    def _has_shared_part(self) -> bool:
        """Whether the fitted model has a part shared by all tasks (a new task's model)."""
        return False

    def _allows_unseen(self) -> bool:
        return self.unseen_tasks == "auto" and self._has_shared_part()

    def _predict_shared(self, X) -> np.ndarray:  # pragma: no cover - with _has_shared_part
        """Decoded predictions of the shared part (rows of tasks unseen in fit)."""
        raise NotImplementedError

    #: rows validated and predicted at a time: predict's memory does not grow with the
    #: number of rows beyond the output (validation copies X, one chunk at a time)
    _predict_chunk_rows = 65536

    def _chunks(self, X):
        """``X`` itself, or consecutive row blocks of at most ``_predict_chunk_rows``."""
        try:
            n = _num_samples(X)
        except TypeError:  # not row-indexable: one block
            return [X]
        step = self._predict_chunk_rows
        if n <= step:
            return [X]
        return [_safe_indexing(X, slice(i, min(i + step, n))) for i in range(0, n, step)]

    def _in_blocks(self, X, predict_block):
        """Validate ``X`` and call ``predict_block(features, task_index)`` one row block at
        a time; its outputs (a sequence of arrays, or ``None`` entries) are concatenated
        entry by entry over the blocks."""
        check_is_fitted(self, "_task_layout")
        parts = []
        for block in self._chunks(X):
            features, task_index = check_predict_X(self, block, self._allow_nan_X,
                                                   self._convert_X, self._allows_unseen())
            parts.append(predict_block(features, task_index))
        if len(parts) == 1:
            return parts[0]
        return [None if column[0] is None else np.concatenate(column)
                for column in zip(*parts)]

    def _decoded_block(self, features, task_index):
        """One block's predictions in the user's format (a 1-tuple, for ``_in_blocks``)."""
        layout = self._task_layout
        if task_index is None:
            return (decode_predictions(layout, self._predict_tasks(features)),)
        seen = task_index >= 0
        if seen.all():
            P = self._predict_rows(features, task_index)
            return (decode_predictions(layout, P, task_index),)
        out = np.empty(len(task_index), dtype=object)
        rows = np.flatnonzero(seen)
        if len(rows):
            part = _safe_indexing(features, rows)
            out[rows] = decode_predictions(
                layout, self._predict_rows(part, task_index[rows]), task_index[rows])
        unseen = np.flatnonzero(~seen)
        out[unseen] = self._predict_shared(_safe_indexing(features, unseen))
        if all(c is None for c in layout.classes):
            return (out.astype(np.float64),)
        return (_common_dtype(out, list(layout.classes)),)

    def predict(self, X):
        """Predict every task (wide) or each row's own task (long format).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_columns)

        Returns
        -------
        y_pred : ndarray of shape (n_samples, n_tasks), or (n_samples,) for a 1-D fit
            target or for long format.
        """
        (out,) = self._in_blocks(X, self._decoded_block)
        if out.dtype.kind == "f" and not np.isfinite(out).all():
            raise ValueError(
                f"{type(self).__name__} produced non-finite predictions; the fit diverged "
                "(try stronger regularisation or a smaller learning rate)."
            )
        return out

    def _score_metric(self, task_type):
        return r2_score if task_type == REGRESSION else accuracy_score

    def score(self, X, y, sample_weight=None):
        """R² (regression) or accuracy (classification) on the observed labels.

        Wide format: the mean over tasks of each task's score (sklearn's
        ``uniform_average``); a task with no observed label in ``y`` is left out, a
        regression task needs two. Long format (``task_column``, a 1-D ``y``): the score over
        all rows, as sklearn scores any 1-D ``y`` (per-task means are scorers of
        :mod:`sklearn_mtml.metrics`).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_columns)
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            True targets; ``NaN`` marks a missing label.
        sample_weight : array-like of shape (n_samples,) or (n_samples, n_tasks), optional
            Weight of each row, or (wide format) of each row and task (``NaN`` = 0).

        Returns
        -------
        score : float
        """
        y_pred = self.predict(X)
        layout = self._task_layout
        if layout.long:
            return self._pooled_score(y, y_pred, sample_weight)
        types = set(layout.task_types)
        per_task_weights = sample_weight is not None and np.ndim(sample_weight) == 2
        if len(types) == 1 and not per_task_weights:
            (kind,) = types
            return mean_task_score(
                self._score_metric(kind), y, y_pred, None, sample_weight,
                min_samples=2 if kind == REGRESSION else 1,
            )
        # Mixed task types or per-task weights: each task with its own metric and weights.
        scores = []
        y_arr = y.to_numpy(dtype=object) if hasattr(y, "to_numpy") else np.asarray(y, dtype=object)
        y_arr = y_arr.reshape(len(y_arr), -1)
        P = np.asarray(y_pred).reshape(len(y_arr), -1)
        for t, kind in enumerate(layout.task_types):
            weight = sample_weight
            if per_task_weights:  # NaN = weight 0, as in fit
                weight = np.nan_to_num(np.asarray(sample_weight, dtype=float)[:, t])
            vals = per_task_values(
                self._score_metric(kind), y_arr[:, t], P[:, t], None,
                weight, min_samples=2 if kind == REGRESSION else 1,
            )
            scores.extend(vals.values())
        return mean_over_tasks(scores)

    def _pooled_score(self, y, y_pred, sample_weight) -> float:
        """Long format: the metric over every row with an observed label."""
        (kind,) = set(self._task_layout.task_types)
        y_true = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y, dtype=object)
        y_true = y_true.reshape(len(y_pred))
        observed = ~_missing(y_true)
        if observed.sum() < (2 if kind == REGRESSION else 1):
            return float("nan")
        weight = None if sample_weight is None else np.asarray(sample_weight)[observed]
        y_true = y_true[observed]
        if kind == REGRESSION:
            return float(self._score_metric(kind)(y_true.astype(np.float64), y_pred[observed],
                                                  sample_weight=weight))
        # accuracy, by equality of labels: the tasks' label sets may mix types
        hits = y_true == np.asarray(y_pred, dtype=object)[observed]
        return float(np.average(hits.astype(np.float64), weights=weight))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        tags.input_tags.allow_nan = self._allow_nan_X
        return tags


class MultiTaskRegressorMixin(_MultiTaskMixin, RegressorMixin):
    """Mixin for multi-task regressors: R² averaged over tasks as ``score``."""

    _task_type = REGRESSION

    def _predict_shared(self, X) -> np.ndarray:
        """The mean over the tasks' predictions (estimators with a shared part refine it)."""
        return np.asarray(self._predict_tasks(X), dtype=np.float64).mean(axis=1)


class MultiTaskClassifierMixin(_MultiTaskMixin, ClassifierMixin):
    """Mixin for multi-task classifiers: labels in the user's types, per-task probabilities.

    ``classes_`` is the array of labels for a single task (1-D ``y``) and a list of arrays,
    one per task, otherwise (as sklearn's multi-output classifiers).
    """

    _task_type = CLASSIFICATION

    def _set_label_attributes(self, data: TaskData) -> None:
        layout = data.layout
        classes = list(layout.classes)
        if layout.long:  # one 1-D y: the labels of every task, as sklearn has for 1-D y
            self.classes_ = all_labels(classes)
        else:
            self.classes_ = classes[0] if layout.y_1d else classes

    def predict_proba(self, X):
        """Class probabilities per task.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_columns)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes) for a 1-D fit target, else a list
            with one ``(n_samples, n_classes_t)`` array per task. Long format: one
            ``(n_samples, n_classes)`` array over ``classes_`` (every label seen in fit),
            each row from its own task (0 for a label its task never had).
        """
        check_is_fitted(self, "_task_layout")
        layout = self._task_layout
        if layout.long:
            probas = self._in_blocks(X, self._long_proba_block)
        else:
            probas = self._in_blocks(X, lambda features, _: self._predict_proba_tasks(features))
        for t, p in enumerate(probas):
            if not np.isfinite(p).all():
                what = "" if layout.long else f" for task {layout.names[t]!r}"
                raise ValueError(
                    f"{type(self).__name__} produced non-finite probabilities{what}; the "
                    "fit diverged."
                )
        return probas[0] if layout.y_1d or layout.long else probas

    def _on_all_labels(self, probas) -> list[np.ndarray]:
        """Each task's probabilities as columns of ``classes_`` (long format)."""
        out = []
        for classes, p in zip(self._task_layout.classes, probas):
            full = np.zeros((len(p), len(self.classes_)))
            full[:, label_columns(self.classes_, classes)] = p
            out.append(full)
        return out

    def _long_proba_block(self, features, task_index):
        mapped = self._on_all_labels(self._predict_proba_tasks(features))
        out = np.zeros_like(mapped[0])
        for t, p in enumerate(mapped):
            rows = task_index == t
            out[rows] = p[rows]
        unseen = task_index < 0
        if unseen.any():  # the shared part: the mean over the tasks' heads
            out[unseen] = np.mean([p[unseen] for p in mapped], axis=0)
        return (out,)

    def _predict_shared(self, X) -> np.ndarray:
        mapped = self._on_all_labels(self._predict_proba_tasks(X))
        return self.classes_[np.mean(mapped, axis=0).argmax(axis=1)]

    def _predict_proba_tasks(self, X):  # pragma: no cover - abstract
        raise NotImplementedError

    def _predict_tasks(self, X):
        return np.column_stack([p.argmax(axis=1) for p in self._predict_proba_tasks(X)])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        return tags
