"""Cross-validated predictions of multi-task estimators, missing labels included.

sklearn's :func:`~sklearn.model_selection.cross_val_predict` cannot be used as it is on
multi-task targets with missing labels:

* with an integer ``cv`` and a classifier, ``check_cv`` calls ``type_of_target(y)``, which
  rejects ``NaN`` and mixes of label types across tasks (strings in one task, ints in
  another) before any estimator code runs;
* for ``method="predict_proba"`` it label-encodes every column of ``y`` itself, so a missing
  label (``NaN``) becomes a class of its own: a binary task with a missing label comes back
  with three probability columns.

This module keeps sklearn's machinery (``check_cv``, ``_safe_split``, metadata routing,
``Parallel``, ``_enforce_prediction_order``) and replaces only those two steps: an integer
``cv`` falls back to the splitter sklearn itself uses for multi-output targets, and the
probability columns of each fold are aligned to the classes the folds learnt, which never
include "missing".
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from sklearn.base import clone, is_classifier
from sklearn.model_selection import KFold, StratifiedKFold, check_cv
from sklearn.model_selection._validation import (
    _check_is_permutation,
    _enforce_prediction_order,
)
from sklearn.utils import Bunch, indexable
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    _routing_enabled,
    process_routing,
)
from sklearn.utils.metaestimators import _safe_split
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import _check_method_params, _num_samples

from .._targets import _as_key, all_labels, label_columns

__all__ = ["cross_val_predict"]

_METHODS = ("predict", "predict_proba", "predict_log_proba")


def _missing(values) -> np.ndarray:
    return np.asarray(pd.isna(np.asarray(values, dtype=object)), dtype=bool)


def _resolve_cv(cv, X, y, classifier: bool):
    """A splitter for ``cv``: sklearn's choice wherever sklearn can make it.

    An integer (or ``None``) ``cv`` gives what :func:`~sklearn.model_selection.check_cv`
    gives. Where ``check_cv`` rejects ``y`` (missing labels, label types mixed across
    tasks), a multi-task ``y`` gets ``KFold`` (what ``check_cv`` picks for any multi-output
    target) and a single task ``StratifiedKFold`` on its labels, missing labels counted as
    one more stratum so that they spread over the folds too.
    """
    if cv is not None and not isinstance(cv, numbers.Integral):
        return check_cv(cv)
    try:
        return check_cv(cv, y, classifier=classifier)
    except (TypeError, ValueError):
        pass
    n_splits = 5 if cv is None else int(cv)
    labels = y.to_numpy(dtype=object) if hasattr(y, "to_numpy") else np.asarray(y, dtype=object)
    if not classifier or labels.ndim != 1:
        return KFold(n_splits)
    missing = _missing(labels)
    strata = np.where(missing, "\x00missing", [repr(v) for v in labels])
    _, codes = np.unique(strata, return_inverse=True)
    return check_cv(list(StratifiedKFold(n_splits).split(np.zeros(len(codes)), codes)))


def _final_step(estimator):
    steps = getattr(estimator, "steps", None)
    return estimator[-1] if steps else estimator


def _fit_and_predict_fold(estimator, X, y, train, test, fit_params, method):
    """Fit on ``train``, apply ``method`` to ``test``; return it with the fold's classes."""
    fit_params = _check_method_params(X, params=fit_params, indices=train)
    X_train, y_train = _safe_split(estimator, X, y, train)
    X_test, _ = _safe_split(estimator, X, y, test, train)
    if y_train is None:
        estimator.fit(X_train, **fit_params)
    else:
        estimator.fit(X_train, y_train, **fit_params)
    out = getattr(estimator, method)(X_test)
    final = _final_step(estimator)
    classes = getattr(final, "classes_", None)
    names = getattr(final, "task_names_", None)
    return out, classes, (None if names is None else list(names))


def _align(proba, fold_classes, classes, method):
    """Put a fold's columns under ``classes`` (the union), filling classes it never saw."""
    codes = label_columns(classes, np.asarray(fold_classes))
    return _enforce_prediction_order(codes, np.asarray(proba), len(classes), method)


def _as_slots(out, classes, names):
    """A fold's output as ``{slot: (array or None, its classes)}``.

    A slot is a task name for the per-task lists of multi-task classifiers, ``None`` for
    the single array of a one-task (or long-format, 1-D ``y``) classifier.
    """
    if isinstance(out, list | tuple):
        if names is None or len(names) != len(out):
            names = list(range(len(out)))
        if not isinstance(classes, list | tuple):
            classes = [classes] * len(out)
        return {_as_key(n): (p, c) for n, p, c in zip(names, out, classes)}
    return {None: (out, classes)}


def _concat_probas(folds, tests, n_samples, method):
    slot_folds = [_as_slots(out, classes, names) for out, classes, names in folds]
    slots = list(dict.fromkeys(s for fold in slot_folds for s in fold))
    result = {}
    for slot in slots:
        present = [fold[slot] for fold in slot_folds if slot in fold]
        if all(p is None for p, _ in present):
            result[slot] = None  # a regression task of MultiTaskNet: no probabilities
            continue
        classes = all_labels([c for p, c in present if p is not None])
        out = np.full((n_samples, len(classes)), np.nan)
        for fold, test in zip(slot_folds, tests):
            if slot in fold and fold[slot][0] is not None:
                proba, fold_classes = fold[slot]
                out[test] = _align(proba, fold_classes, classes, method)
            # a task absent from a fold's training rows has no model there: NaN rows
        result[slot] = out
    if list(result) == [None]:
        return result[None]
    return list(result.values())


def _concat_predictions(outputs, tests, n_samples):
    first = np.asarray(outputs[0])
    dtype = np.result_type(*[np.asarray(o).dtype for o in outputs])
    out = np.empty((n_samples, *first.shape[1:]), dtype=dtype)
    for pred, test in zip(outputs, tests):
        out[test] = np.asarray(pred)
    return out


def cross_val_predict(
    estimator,
    X: ArrayLike,
    y: ArrayLike | None = None,
    *,
    groups: ArrayLike | None = None,
    cv: int | Iterable | object | None = None,
    n_jobs: int | None = None,
    verbose: int = 0,
    params: dict | None = None,
    pre_dispatch: int | str = "2*n_jobs",
    method: str = "predict",
):
    """Cross-validated predictions that keep missing labels missing.

    The multi-task counterpart of :func:`sklearn.model_selection.cross_val_predict`, with
    the same signature. Each row is predicted by the model fitted on the folds it is not
    in. It differs from sklearn's where sklearn cannot handle the task contract:

    * missing labels (``NaN`` / ``None`` / ``pd.NA``) are never a class: for
      ``method="predict_proba"`` each task gets one column per class seen in ``y``, in the
      estimator's order (sorted), zeros where a fold never saw a class;
    * an integer ``cv`` works with missing labels and with label types that differ between
      tasks (see ``cv``).

    Parameters
    ----------
    estimator : estimator
        A multi-task estimator of this package, or a Pipeline ending in one (any sklearn
        estimator works as with sklearn's function).
    X : array-like or DataFrame of shape (n_samples, n_columns)
        Input; in long format it holds the task column.
    y : array-like or DataFrame of shape (n_samples,) or (n_samples, n_tasks), default=None
        Targets; ``NaN`` / ``None`` / ``pd.NA`` marks a missing label.
    groups : array-like of shape (n_samples,), default=None
        Group labels passed to the splitter (e.g. ``GroupKFold``), or the task ids for
        :class:`~sklearn_mtml.model_selection.TaskKFold`.
    cv : int, cross-validation generator, iterable or None, default=None
        As in sklearn: ``None`` is 5-fold. An integer gives the folds sklearn's
        ``check_cv`` gives where it accepts ``y``; where it rejects ``y`` (missing labels,
        mixed label types) a multi-task ``y`` gets ``KFold(cv)`` -- what ``check_cv`` uses
        for every multi-output target -- and a single classification task
        ``StratifiedKFold(cv)`` with missing labels as one more stratum. In long format pass
        :class:`~sklearn_mtml.model_selection.TaskKFold` so every task is in every
        training set. The test folds must be a partition of the rows.
    n_jobs : int, default=None
        Number of folds fitted in parallel (joblib).
    verbose : int, default=0
        Verbosity of joblib.
    params : dict, default=None
        Parameters passed to ``estimator.fit`` (and, with metadata routing enabled, routed
        to the splitter and the estimator as in sklearn).
    pre_dispatch : int or str, default="2*n_jobs"
        Passed to joblib.
    method : {"predict", "predict_proba", "predict_log_proba"}, default="predict"
        The estimator method whose output is returned.

    Returns
    -------
    predictions : ndarray or list of ndarray
        ``"predict"``: what ``estimator.predict`` returns, for every row, in the user's
        label types. ``"predict_proba"`` / ``"predict_log_proba"``: the shape the estimator
        gives -- an ``(n_samples, n_classes)`` array for a single task, else a list with one
        ``(n_samples, n_classes_t)`` array per task (``None`` for a regression task of
        :class:`~sklearn_mtml.MultiTaskNet`). Columns follow the sorted classes of each
        task in ``y``; a fold that never saw a class gives it probability 0 (log-probability
        the smallest float), as sklearn does. Rows whose task had no training row in their
        fold (long format) are ``NaN``.

    Raises
    ------
    ValueError
        If ``method`` is not one of the above, the estimator lacks it, or the test folds
        are not a partition of the rows.

    See Also
    --------
    sklearn.model_selection.cross_val_predict : sklearn's function, for single-task ``y``
        without missing labels.
    sklearn_mtml.metrics.per_task_roc_auc : Score the returned probabilities per task.

    Notes
    -----
    Written rather than reused because sklearn's ``cross_val_predict`` label-encodes ``y``
    itself before fitting; everything else (splitting, routing, parallel fits, column
    alignment with ``_enforce_prediction_order``) is sklearn's own code.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from sklearn_mtml import MultiTaskNetClassifier
    >>> from sklearn_mtml.model_selection import cross_val_predict
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(60, 3)
    >>> y = pd.DataFrame({"churn": np.where(X[:, 0] > 0, "yes", "no"),
    ...                   "clicks": (X[:, 1] > 0).astype(float)})
    >>> y.loc[::7, "clicks"] = np.nan  # missing labels
    >>> proba = cross_val_predict(MultiTaskNetClassifier(max_epochs=2, random_state=0),
    ...                           X, y, cv=3, method="predict_proba")
    >>> [p.shape for p in proba]  # two classes per task, no class for "missing"
    [(60, 2), (60, 2)]
    """
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}.")
    if not hasattr(estimator, method):
        raise ValueError(
            f"{type(estimator).__name__} has no {method}; "
            + ("" if is_classifier(estimator) else "use method='predict' for a regressor.")
        )
    X, y = indexable(X, y)
    params = {} if params is None else dict(params)
    cv = _resolve_cv(cv, X, y, is_classifier(estimator))
    if _routing_enabled():
        if groups is not None:
            raise ValueError(
                "groups is given directly with metadata routing enabled: pass it in "
                "params= and request it on the splitter instead, as in sklearn."
            )
        router = (
            MetadataRouter(owner="cross_val_predict")
            .add(splitter=cv, method_mapping=MethodMapping().add(caller="fit", callee="split"))
            .add(estimator=estimator,
                 method_mapping=MethodMapping().add(caller="fit", callee="fit"))
        )
        routed = process_routing(router, "fit", **params)
    else:
        routed = Bunch(splitter=Bunch(split={"groups": groups}),
                       estimator=Bunch(fit=params))

    splits = list(cv.split(X, y, **routed.splitter.split))
    tests = [np.asarray(test) for _, test in splits]
    n_samples = _num_samples(X)
    test_indices = np.concatenate(tests) if tests else np.array([], dtype=int)
    if not _check_is_permutation(test_indices, n_samples):
        n_untested = n_samples - len(np.unique(test_indices))
        raise ValueError(
            "cross_val_predict needs every row in exactly one test fold; "
            + (f"{n_untested} row(s) are in none" if n_untested else "some rows are in two")
            + " (TaskKFold keeps a task's only row in training: drop single-row tasks or "
            "use another splitter)."
        )
    parallel = Parallel(n_jobs=n_jobs, verbose=verbose, pre_dispatch=pre_dispatch)
    folds = parallel(
        delayed(_fit_and_predict_fold)(
            clone(estimator), X, y, train, test, routed.estimator.fit, method
        )
        for train, test in splits
    )
    if method == "predict":
        return _concat_predictions([out for out, _, _ in folds], tests, n_samples)
    return _concat_probas(folds, tests, n_samples, method)
