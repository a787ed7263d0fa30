"""Registry of the balancing methods, by name."""

from __future__ import annotations

import inspect

from ..utils._registry import Registry
from ._aligned_mtl import AlignedMTL
from ._base import LossWeighting, _check_n_tasks
from ._cagrad import CAGrad
from ._dwa import DynamicWeightAverage
from ._famo import FAMO
from ._fixed import FixedWeighting
from ._gradnorm import GradNorm
from ._imtl import IMTL
from ._mgda import MGDA
from ._nash_mtl import NashMTL
from ._pcgrad import PCGrad
from ._random import RandomWeighting
from ._uncertainty import UncertaintyWeighting

#: Balancing methods by name (the values accepted by ``loss_weighting=``).
WEIGHTINGS = Registry("loss_weighting", LossWeighting, {
    "fixed": FixedWeighting,
    "uncertainty": UncertaintyWeighting,
    "dwa": DynamicWeightAverage,
    "random": RandomWeighting,
    "gradnorm": GradNorm,
    "pcgrad": PCGrad,
    "mgda": MGDA,
    "cagrad": CAGrad,
    "nash_mtl": NashMTL,
    "aligned_mtl": AlignedMTL,
    "famo": FAMO,
    "imtl": IMTL,
})

_TASK_TYPES = ("regression", "classification")


def _check_task_types(task_types, n_tasks: int) -> tuple[str, ...] | None:
    if task_types is None:
        return None
    task_types = tuple(task_types)
    if len(task_types) != n_tasks:
        raise ValueError(f"task_types has length {len(task_types)} but there are {n_tasks} tasks.")
    unknown = sorted({str(t) for t in task_types if t not in _TASK_TYPES})
    if unknown:
        raise ValueError(f"Unknown task types {unknown}; expected one of {list(_TASK_TYPES)}.")
    return task_types


def get_weighting(
    spec,
    n_tasks: int,
    task_weights=None,
    task_types=None,
    **params,
) -> LossWeighting:
    """Build a balancing method from a name, a class or an instance.

    Parameters
    ----------
    spec : str, LossWeighting subclass or LossWeighting instance
        A key of :data:`WEIGHTINGS`, a subclass of :class:`LossWeighting` (or a factory;
        built with ``n_tasks``, ``task_weights`` and ``**params``), or an instance, returned
        as is after checking that it has ``n_tasks`` tasks (estimators pass a copy).
    n_tasks : int
        Number of tasks.
    task_weights : array-like of shape (n_tasks,), default=None
        Fixed per-task multipliers, applied by every method. Not allowed with an instance
        (give them to its constructor).
    task_types : sequence of {"regression", "classification"}, default=None
        Kind of each task, passed to the methods whose constructor takes ``task_types``
        (uncertainty weighting); ignored by the others.
    **params
        Hyper-parameters of the method (e.g. ``temperature=2.0`` for ``"dwa"``).

    Returns
    -------
    weighting : LossWeighting
        The balancing module.

    Raises
    ------
    ValueError
        If the name is unknown (the message lists the valid names), if ``task_weights`` or
        ``task_types`` do not have ``n_tasks`` entries, or if an instance has another
        number of tasks.

    Examples
    --------
    >>> from sklearn_mtml.balancing import get_weighting
    >>> get_weighting("fixed", n_tasks=3)
    FixedWeighting(n_tasks=3)
    >>> get_weighting("fixed", n_tasks=2, task_weights=[1.0, 2.0]).weights()
    tensor([1., 2.])
    """
    n_tasks = _check_n_tasks(n_tasks)
    task_types = _check_task_types(task_types, n_tasks)
    factory = WEIGHTINGS.lookup(spec)
    if isinstance(factory, LossWeighting):
        if factory.n_tasks != n_tasks:
            raise ValueError(
                f"The balancing instance {factory!r} was built for {factory.n_tasks} tasks, "
                f"but there are {n_tasks} tasks."
            )
        if task_weights is not None or params:
            raise ValueError(
                "task_weights and method parameters cannot be combined with a "
                "LossWeighting instance; pass them to its constructor."
            )
        return factory
    if task_types is not None and "task_types" in inspect.signature(factory).parameters:
        params = {"task_types": task_types, **params}
    return factory(n_tasks, task_weights=task_weights, **params)
