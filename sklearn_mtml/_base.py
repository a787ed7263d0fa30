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
from sklearn.utils.validation import _num_samples, check_is_fitted

from ._targets import (
    CLASSIFICATION,
    REGRESSION,
    TaskData,
    check_predict_X,
    decode_predictions,
    fit_guard,
    record_tasks,
    task_ids_of,
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
        with fit_guard(self):
            data = validate_fit_data(
                self,
                X,
                y,
                task_types=self._get_task_types(),
                task_column=getattr(self, "task_column", None),
                allow_nan_X=self._allow_nan_X,
                convert_X=self._convert_X,
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
                                                   self._convert_X)
            parts.append(predict_block(features, task_index))
        if len(parts) == 1:
            return parts[0]
        return [None if column[0] is None else np.concatenate(column)
                for column in zip(*parts)]

    def _encoded_predictions(self, X):
        return self._in_blocks(X, self._encoded_block)

    def _encoded_block(self, features, task_index):
        if task_index is None:
            return self._predict_tasks(features), None
        return self._predict_rows(features, task_index), task_index

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
        P, task_index = self._encoded_predictions(X)
        out = decode_predictions(self._task_layout, P, task_index)
        if out.dtype.kind == "f" and not np.isfinite(out).all():
            raise ValueError(
                f"{type(self).__name__} produced non-finite predictions; the fit diverged "
                "(try stronger regularisation or a smaller learning rate)."
            )
        return out

    def _score_metric(self, task_type):
        return r2_score if task_type == REGRESSION else accuracy_score

    def score(self, X, y, sample_weight=None):
        """Mean over tasks of the per-task score on each task's observed labels.

        The per-task score is R² for regression tasks and accuracy for classification tasks
        (DESIGN.md). Tasks with no observed label in ``y`` are left out; a regression task
        needs two labels for R².

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_columns)
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            True targets; ``NaN`` marks a missing label.
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        score : float
        """
        y_pred = self.predict(X)
        layout = self._task_layout
        types = set(layout.task_types)
        if len(types) == 1:
            (kind,) = types
            return mean_task_score(
                self._score_metric(kind), y, y_pred, task_ids_of(self, X), sample_weight,
                min_samples=2 if kind == REGRESSION else 1,
            )
        # Mixed task types (wide only): score each task with its own metric.
        scores = []
        y_arr = y.to_numpy(dtype=object) if hasattr(y, "to_numpy") else np.asarray(y, dtype=object)
        for t, kind in enumerate(layout.task_types):
            vals = per_task_values(
                self._score_metric(kind), y_arr[:, t], np.asarray(y_pred)[:, t], None,
                sample_weight, min_samples=2 if kind == REGRESSION else 1,
            )
            scores.extend(vals.values())
        return mean_over_tasks(scores)

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


class MultiTaskClassifierMixin(_MultiTaskMixin, ClassifierMixin):
    """Mixin for multi-task classifiers: labels in the user's types, per-task probabilities.

    ``classes_`` is the array of labels for a single task (1-D ``y``) and a list of arrays,
    one per task, otherwise (as sklearn's multi-output classifiers).
    """

    _task_type = CLASSIFICATION

    def _set_label_attributes(self, data: TaskData) -> None:
        classes = [c for c in data.layout.classes]
        self.classes_ = classes[0] if data.layout.y_1d else classes

    def predict_proba(self, X):
        """Class probabilities per task.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_columns)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes) for a 1-D fit target, else a list
            with one ``(n_samples, n_classes_t)`` array per task.
        """
        probas = self._in_blocks(X, lambda features, _: self._predict_proba_tasks(features))
        for t, p in enumerate(probas):
            if not np.isfinite(p).all():
                raise ValueError(
                    f"{type(self).__name__} produced non-finite probabilities for task "
                    f"{self._task_layout.names[t]!r}; the fit diverged."
                )
        return probas[0] if self._task_layout.y_1d else probas

    def _predict_proba_tasks(self, X):  # pragma: no cover - abstract
        raise NotImplementedError

    def _predict_tasks(self, X):
        return np.column_stack([p.argmax(axis=1) for p in self._predict_proba_tasks(X)])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        return tags
