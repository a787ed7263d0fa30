"""Sample and class weights: one validation, one normal form, used by every estimator.

DESIGN.md ("Weights"): ``sample_weight`` is 1-D (one weight per row) or, in wide format,
2-D (one weight per row and task; ``NaN`` = 0); ``class_weight`` is per task. Both enter
the loss (the nets) or the normal equations (the linear models), never by row repetition.

:func:`resolve_weights` turns them into one array in the shape of the targets: ``(n,
n_tasks)`` in wide format, ``(n,)`` (each row for its own task) in long format, or ``None``
when every weight is 1 (the unweighted code paths then run unchanged). An integer weight
``k`` means the same as the label repeated ``k`` times; the number of rows of that repeated
data is :func:`effective_rows`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ._targets import CLASSIFICATION, TaskData, TaskLayout

__all__ = ["effective_rows", "observed_weights", "resolve_weights", "warn_one_class"]


def _name(estimator) -> str:
    return type(estimator).__name__


def _as_array(sample_weight, layout: TaskLayout) -> np.ndarray:
    """``sample_weight`` as a float array; a DataFrame's columns are matched to the tasks."""
    if isinstance(sample_weight, pd.DataFrame) and not layout.long:
        columns = [str(c) for c in sample_weight.columns]
        names = [str(n) for n in layout.names]
        if set(columns) == set(names) and columns != names:
            sample_weight = sample_weight[[sample_weight.columns[columns.index(n)]
                                           for n in names]]
    if isinstance(sample_weight, pd.DataFrame | pd.Series):
        values = sample_weight.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        try:
            values = np.array(sample_weight, dtype=np.float64)  # a copy: never written back
        except (TypeError, ValueError) as exc:
            raise ValueError(f"sample_weight must be numeric: {exc}") from None
    return values


def _check_sample_weight(estimator, sample_weight, layout: TaskLayout, n: int) -> np.ndarray:
    """Validated sample weights: ``(n,)`` or ``(n, n_tasks)`` (wide only), NaN as 0 in 2-D."""
    w = _as_array(sample_weight, layout)
    if w.ndim == 0:
        raise ValueError(
            f"sample_weight must be an array of one weight per row, got the scalar {w}."
        )
    if w.ndim == 2 and w.shape[1] == 1 and layout.n_tasks == 1:
        w = w[:, 0]
    if w.ndim == 1:
        if len(w) != n:
            raise ValueError(
                f"sample_weight has {len(w)} entries but X has {n} rows: pass one weight "
                "per row."
            )
        if np.isnan(w).any():
            raise ValueError(
                "sample_weight has NaN; a 1-D sample_weight needs a weight for every row "
                "(only a 2-D, per-task sample_weight reads NaN as weight 0)."
            )
    elif w.ndim == 2:
        if layout.long:
            raise ValueError(
                f"sample_weight has shape {w.shape}, but in long format (task_column) each "
                "row belongs to one task: pass a 1-D sample_weight of one weight per row."
            )
        if w.shape != (n, layout.n_tasks):
            raise ValueError(
                f"sample_weight has shape {w.shape}; expected ({n},) (one weight per row) "
                f"or ({n}, {layout.n_tasks}) (one weight per row and task)."
            )
        w = np.where(np.isnan(w), 0.0, w)
    else:
        raise ValueError(
            f"sample_weight must be 1-D (per row) or 2-D (per row and task), got shape "
            f"{w.shape}."
        )
    if np.isinf(w).any():
        raise ValueError("sample_weight has infinite values; weights must be finite.")
    if (w < 0).any():
        raise ValueError("sample_weight has negative values; weights must be >= 0.")
    if not (w > 0).any():
        raise ValueError(
            "sample_weight is zero everywhere: at least one weight must be non-zero."
        )
    return w


def _label_lookup(classes: np.ndarray) -> dict:
    """``{label: code}`` with Python scalars as keys (``1``, ``1.0`` and ``True`` agree)."""
    return {label: code for code, label in enumerate(np.asarray(classes).tolist())}


def _per_task_class_weight(estimator, class_weight, layout: TaskLayout) -> list:
    """``class_weight`` as one entry per task: ``None``, ``"balanced"`` or a label dict."""
    n_tasks = layout.n_tasks
    if isinstance(class_weight, str):
        if class_weight != "balanced":
            raise ValueError(
                f"class_weight={class_weight!r} is not understood; use 'balanced', a dict "
                "{label: weight}, or per task a dict {task name: {label: weight}} or a "
                "list of dicts in task order."
            )
        return ["balanced" if kind == CLASSIFICATION else None for kind in layout.task_types]
    if isinstance(class_weight, Mapping):
        values = list(class_weight.values())
        per_task = bool(values) and all(isinstance(v, Mapping) or (isinstance(v, str)
                                                                   and v == "balanced")
                                        for v in values)
        if not per_task:  # one {label: weight} dict for every classification task
            entries = [class_weight if kind == CLASSIFICATION else None
                       for kind in layout.task_types]
            known = set()
            for classes in layout.classes:
                if classes is not None:
                    known.update(_label_lookup(classes))
            unknown = [k for k in class_weight if k not in known]
            if unknown:
                raise ValueError(
                    f"class_weight names unknown class label(s) {unknown}; the labels are "
                    f"{sorted(known, key=str)}. For weights per task pass "
                    "{task name: {label: weight}}."
                )
            return [None if e is None else dict(e) for e in entries]
        names = {str(n): t for t, n in enumerate(layout.names)}
        position = {**names, **{n: t for t, n in enumerate(layout.names)}}
        unknown = [k for k in class_weight if k not in position]
        if unknown:
            raise ValueError(
                f"class_weight names unknown task(s) {unknown}; the tasks are "
                f"{list(layout.names)}."
            )
        entries = [None] * n_tasks
        for key, value in class_weight.items():
            entries[position[key]] = value
        return entries
    if isinstance(class_weight, Sequence):
        if len(class_weight) != n_tasks:
            raise ValueError(
                f"class_weight has {len(class_weight)} entries but there are {n_tasks} "
                "tasks: pass one dict (or 'balanced', or None) per task, in task order."
            )
        return list(class_weight)
    raise ValueError(
        f"class_weight must be None, 'balanced', a dict or a list of dicts; got "
        f"{type(class_weight).__name__}."
    )


def _class_weight_table(estimator, class_weight, data: TaskData, partial: bool = False) -> list:
    """Per task, the weight of each class code (``None``: every class weighs 1)."""
    layout = data.layout
    if CLASSIFICATION not in layout.task_types:
        raise ValueError(
            f"class_weight={class_weight!r} is given, but {_name(estimator)} has no "
            "classification task: class weights apply to class labels (use sample_weight "
            "to weigh regression labels)."
        )
    entries = _per_task_class_weight(estimator, class_weight, layout)
    if partial and any(isinstance(e, str) for e in entries):
        raise ValueError(
            "class_weight='balanced' is not supported by partial_fit: it needs the "
            "labels of every chunk. Pass explicit class weights {label: weight}."
        )
    _, tasks, codes = data.observed_labels()
    tables = []
    for t, entry in enumerate(entries):
        if entry is None:
            tables.append(None)
            continue
        name, classes = layout.names[t], layout.classes[t]
        if layout.task_types[t] != CLASSIFICATION:
            raise ValueError(
                f"class_weight is given for task {name!r}, which is a regression task; "
                "class weights apply to classification tasks only."
            )
        if isinstance(entry, str):
            if entry != "balanced":
                raise ValueError(
                    f"class_weight for task {name!r} is {entry!r}; use 'balanced' or a "
                    "dict {label: weight}."
                )
            # sklearn's compute_class_weight: n_labels / (n_classes * count per class)
            counts = np.bincount(codes[tasks == t].astype(np.intp), minlength=len(classes))
            table = np.where(counts > 0,
                             counts.sum() / (len(classes) * np.maximum(counts, 1)), 0.0)
            tables.append(table)
            continue
        if not isinstance(entry, Mapping):
            raise ValueError(
                f"class_weight for task {name!r} must be a dict {{label: weight}} or "
                f"'balanced', got {type(entry).__name__}."
            )
        lookup = _label_lookup(classes)
        unknown = [k for k in entry if k not in lookup]
        if unknown:
            raise ValueError(
                f"class_weight for task {name!r} names unknown class label(s) {unknown}; "
                f"its classes are {list(np.asarray(classes).tolist())}."
            )
        table = np.ones(len(classes))
        for key, value in entry.items():
            value = float(value)
            if not np.isfinite(value) or value < 0:
                raise ValueError(
                    f"class_weight for task {name!r}, class {key!r} is {value}; class "
                    "weights must be finite and >= 0."
                )
            table[lookup[key]] = value
        tables.append(table)
    return tables


def resolve_weights(estimator, data: TaskData, sample_weight=None,
                    class_weight=None, partial: bool = False) -> np.ndarray | None:
    """Per-label weights from ``sample_weight`` and ``class_weight``, or ``None``.

    Parameters
    ----------
    estimator : estimator instance
        Named in the messages.
    data : TaskData
        The validated training data.
    sample_weight : array-like of shape (n_samples,) or (n_samples, n_tasks), or None
        One weight per row, or (wide format) per row and task, ``NaN`` meaning 0.
    class_weight : None, "balanced", dict or list of dicts
        Per task: ``{task name: {label: weight} or "balanced"}``, a list of those in task
        order, ``"balanced"`` for every classification task, or one ``{label: weight}``
        for every classification task (the usual form for a 1-D ``y``).
    partial : bool, default=False
        A ``partial_fit`` chunk: a task (or class) may lack labels of non-zero weight in
        it, and only the weights themselves are checked.

    Returns
    -------
    weight : ndarray of shape (n_samples, n_tasks) (wide) or (n_samples,) (long), or None
        The weight of each label (also at missing labels, where it is never read); ``None``
        when every weight is 1.

    Raises
    ------
    ValueError
        Naming the problem: negative, infinite or NaN (1-D) weights, a wrong length or
        shape, all weights zero, a task whose labels all weigh zero, an unknown task or
        class label in ``class_weight``, or a class made to vanish by the weights.
    """
    if sample_weight is None and class_weight is None:
        return None
    layout = data.layout
    n = len(data.y_long) if layout.long else data.Y.shape[0]
    weight = None
    if sample_weight is not None:
        w = _check_sample_weight(estimator, sample_weight, layout, n)
        if layout.long or w.ndim == 2:
            weight = w
        else:
            weight = np.repeat(w[:, None], layout.n_tasks, axis=1)
    if class_weight is not None:
        tables = _class_weight_table(estimator, class_weight, data, partial)
        if any(table is not None for table in tables):
            if weight is None:
                weight = np.ones(n) if layout.long else np.ones((n, layout.n_tasks))
            weight = _apply_class_weight(weight, tables, data)
    if weight is None:
        return None
    if not partial:
        _check_task_weights(estimator, weight, data)
    if np.all(weight == 1.0):
        return None
    return weight


def _apply_class_weight(weight: np.ndarray, tables: list, data: TaskData) -> np.ndarray:
    weight = weight.copy()
    if data.layout.long:
        rows, tasks, codes = data.observed_labels()
        for t, table in enumerate(tables):
            if table is not None:
                mine = tasks == t
                weight[rows[mine]] *= table[codes[mine].astype(np.intp)]
        return weight
    for t, table in enumerate(tables):
        if table is not None:
            observed = data.mask[:, t]
            weight[observed, t] *= table[data.Y[observed, t].astype(np.intp)]
    return weight


def _check_task_weights(estimator, weight: np.ndarray, data: TaskData) -> None:
    """Every task keeps a label of non-zero weight, and a classification task a second
    class (a class made to vanish by the weights is an error, naming it)."""
    layout = data.layout
    _, tasks, values = data.observed_labels()
    w = observed_weights(data, weight)
    totals = np.bincount(tasks, weights=w, minlength=layout.n_tasks)
    empty = [layout.names[t] for t in np.flatnonzero(totals <= 0)]
    if empty:
        raise ValueError(
            f"The weights are zero for every label of task(s) {empty}; each task needs a "
            "label of non-zero weight (drop the task from y instead)."
        )
    for t, (kind, classes) in enumerate(zip(layout.task_types, layout.classes)):
        if kind != CLASSIFICATION or classes is None or len(classes) < 2:
            continue
        mine = tasks == t
        per_class = np.bincount(values[mine].astype(np.intp), weights=w[mine],
                                minlength=len(classes))
        if np.count_nonzero(per_class > 0) < 2:
            kept = classes[per_class > 0].tolist()
            raise ValueError(
                f"The weights leave task {layout.names[t]!r} a single class {kept}: every "
                "other class has total weight zero, and a classifier needs two classes of "
                "non-zero weight."
            )


def observed_weights(data: TaskData, weight: np.ndarray | None) -> np.ndarray:
    """The weight of each observed label, in the order of ``data.observed_labels()``."""
    rows, tasks, _ = data.observed_labels()
    if weight is None:
        return np.ones(len(rows))
    if weight.ndim == 1:
        return weight[rows]
    return weight[rows, tasks]


def effective_rows(data: TaskData, weight: np.ndarray | None) -> float:
    """The number of rows of the data that repeats each row as its weight says.

    ``n`` without weights; the sum of the weights (1-D); with per-task weights, a row
    weighed ``w_t`` for task ``t`` stands for ``max_t w_t`` rows (each task's label in
    ``w_t`` of them): the sum over rows of the largest weight.
    """
    if weight is None:
        return float(len(data.y_long) if data.layout.long else data.Y.shape[0])
    if weight.ndim == 1:
        return float(weight.sum())
    return float(weight.max(axis=1).sum())


def warn_one_class(estimator, layout: TaskLayout) -> None:
    """Warn, naming them, about classification tasks with a single class in training."""
    single = [name for name, kind, classes in zip(layout.names, layout.task_types,
                                                  layout.classes)
              if kind == CLASSIFICATION and classes is not None and len(classes) == 1]
    if single:
        warnings.warn(
            f"{_name(estimator)}: task(s) {single[:10]} have a single class in the "
            "training labels; the model always predicts it for them (probability 1) and "
            "per-task scores such as ROC AUC are undefined there.",
            UserWarning, stacklevel=3,
        )
