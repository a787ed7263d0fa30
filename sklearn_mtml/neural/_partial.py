"""Continuing training: task and label coding of later ``partial_fit`` chunks."""

from __future__ import annotations

import dataclasses

import numpy as np

from .._targets import REGRESSION, TaskData, TaskLayout

__all__ = ["align_targets", "with_classes"]


def with_classes(layout: TaskLayout, classes) -> TaskLayout:
    """``layout`` with the label sets given to ``partial_fit(classes=...)``."""
    if layout.y_1d or layout.long:
        given = [classes] * layout.n_tasks
    else:
        given = list(classes)
        if len(given) != layout.n_tasks:
            raise ValueError(
                f"classes has {len(given)} entries but there are {layout.n_tasks} tasks."
            )
    new = tuple(None if kind == REGRESSION else np.unique(np.asarray(c))
                for c, kind in zip(given, layout.task_types))
    return dataclasses.replace(layout, classes=new)


def align_targets(data: TaskData, target: TaskLayout) -> TaskData:
    """``data`` expressed in the task / label coding of ``target`` (the first
    ``partial_fit`` call's layout, or the fitted one)."""
    layout = data.layout
    position = {name: j for j, name in enumerate(target.names)}
    unknown = [name for name in layout.names if name not in position]
    if unknown or (not layout.long and list(layout.names) != list(target.names)):
        raise ValueError(
            f"partial_fit got tasks {unknown or list(layout.names)} that differ from the "
            f"first call's {list(target.names)}."
        )

    def recode(t: int, j: int, values: np.ndarray) -> np.ndarray:
        labels, known = layout.classes[t], target.classes[j]
        if labels is None:
            return values
        inside = np.isin(labels, known)
        if not inside.all():
            raise ValueError(
                f"Task {layout.names[t]!r} has labels {list(labels[~inside])} not among "
                f"its classes {list(known)} (pass every label with `classes`)."
            )
        codes = np.searchsorted(known, labels)
        out = values.copy()
        observed = ~np.isnan(values)
        out[observed] = codes[values[observed].astype(np.intp)]
        return out

    if layout.long:
        task_map = np.array([position[name] for name in layout.names], dtype=np.intp)
        y_long = data.y_long.copy()
        for t in range(layout.n_tasks):
            rows = data.task_index == t
            y_long[rows] = recode(t, task_map[t], data.y_long[rows])
        aligned = TaskData(X=data.X, layout=target, task_index=task_map[data.task_index],
                           y_long=y_long)
    else:
        Y = np.column_stack([recode(t, t, data.Y[:, t]) for t in range(layout.n_tasks)])
        aligned = TaskData(X=data.X, layout=target, _Y=Y)
    return aligned
