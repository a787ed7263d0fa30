"""Displays of a neural estimator's training history: per-task losses and task weights."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ._base import final_estimator, fitted_history, get_axes, history_column

__all__ = ["TaskLossDisplay", "TaskWeightDisplay"]

_PHASES = ("train", "valid")
_PHASE_STYLE = {"train": "-", "valid": "--"}


def _epochs(n_epochs: int, epochs) -> np.ndarray:
    if epochs is None:
        return np.arange(1, n_epochs + 1)
    epochs = np.asarray(epochs)
    if epochs.shape != (n_epochs,):
        raise ValueError(f"epochs has shape {epochs.shape}; expected ({n_epochs},).")
    return epochs


class TaskLossDisplay:
    """Per-task learning curves: each task's loss per epoch, and their mean.

    Build it with :meth:`from_estimator` from a fitted neural estimator's ``history_``.
    Losses are those the network minimises: squared error on standardised targets for
    regression tasks, cross-entropy for classification tasks, each averaged over the task's
    observed labels. The mean is the (``task_weights``-weighted) mean over tasks that early
    stopping watches, not the balanced training objective.

    Parameters
    ----------
    task_losses : dict of str to ndarray of shape (n_epochs, n_tasks)
        Per phase (``"train"``, ``"valid"``) the loss of each task per epoch.
    task_names : array-like of shape (n_tasks,)
    mean_losses : dict of str to ndarray of shape (n_epochs,) or None, default=None
        Per phase, the mean over tasks (drawn as a black line).
    epochs : array-like of shape (n_epochs,) or None, default=None
        x values (default ``1, 2, ..., n_epochs``).

    Attributes
    ----------
    lines_ : ndarray of matplotlib Line2D, shape (n_phases, n_tasks) or (n_phases, n_tasks + 1)
        One row per phase, one column per task, the mean last.
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    See Also
    --------
    TaskWeightDisplay : the task-balancing weights per epoch.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sklearn_mtml.inspection import TaskLossDisplay
    >>> from sklearn_mtml.neural import MultiTaskNetRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 3))
    >>> Y = np.column_stack([X[:, 0], X[:, 1] - X[:, 2]])
    >>> net = MultiTaskNetRegressor(hidden_layer_sizes=(8,), max_epochs=5, lr=0.01,
    ...                             random_state=0, n_threads=1).fit(X, Y)
    >>> display = TaskLossDisplay.from_estimator(net)
    >>> display.lines_.shape  # one phase (no validation split), two tasks and the mean
    (1, 3)
    >>> [t.get_text() for t in display.ax_.get_legend().get_texts()]
    ['task_0', 'task_1', 'mean over tasks']
    """

    def __init__(self, task_losses: Mapping, task_names, *, mean_losses: Mapping | None = None,
                 epochs=None):
        self.task_losses = {k: np.asarray(v, dtype=np.float64) for k, v in task_losses.items()}
        self.task_names = np.asarray(task_names, dtype=object)
        self.mean_losses = (None if mean_losses is None else
                            {k: np.asarray(v, dtype=np.float64) for k, v in mean_losses.items()})
        self.epochs = epochs

    def plot(self, ax=None, *, log_scale: bool = False) -> TaskLossDisplay:
        """Draw one line per task (and the mean) for every phase.

        Tasks keep one colour across phases; training is solid, validation dashed.

        Parameters
        ----------
        ax : matplotlib Axes or None, default=None
        log_scale : bool, default=False
            Logarithmic y axis.

        Returns
        -------
        display : TaskLossDisplay
        """
        from matplotlib.lines import Line2D

        ax = get_axes(ax)
        phases = [p for p in _PHASES if p in self.task_losses] + [
            p for p in self.task_losses if p not in _PHASES]
        if not phases:
            raise ValueError("TaskLossDisplay has no losses to draw.")
        n_epochs, n_tasks = self.task_losses[phases[0]].shape
        if n_tasks != len(self.task_names):
            raise ValueError(f"task_losses has {n_tasks} tasks but task_names "
                             f"{len(self.task_names)}.")
        x = _epochs(n_epochs, self.epochs)
        colors = [f"C{t % 10}" for t in range(n_tasks)]
        with_mean = self.mean_losses is not None
        lines = np.empty((len(phases), n_tasks + int(with_mean)), dtype=object)
        for i, phase in enumerate(phases):
            style = _PHASE_STYLE.get(phase, ":")
            # only the first phase's lines enter the legend: colour = task, style = phase
            hide = "" if i == 0 else "_"
            for t in range(n_tasks):
                (lines[i, t],) = ax.plot(x, self.task_losses[phase][:, t], style,
                                         color=colors[t], label=f"{hide}{self.task_names[t]}")
            if with_mean:
                (lines[i, -1],) = ax.plot(x, self.mean_losses[phase], style, color="black",
                                          linewidth=2, label=f"{hide}mean over tasks")
        handles, labels = ax.get_legend_handles_labels()
        if len(phases) > 1:
            for phase in phases:
                handles.append(Line2D([], [], color="grey", linestyle=_PHASE_STYLE.get(phase, ":")))
                labels.append(phase)
        ax.legend(handles, labels, fontsize="small", ncol=2 if len(labels) > 6 else 1)
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss (standardised targets)")
        ax.set_title("Per-task loss")
        if log_scale:
            ax.set_yscale("log")
        self.lines_, self.ax_, self.figure_ = lines, ax, ax.figure
        return self

    @classmethod
    def from_estimator(cls, estimator, *, which: str | Sequence[str] | None = None,
                       mean: bool = True, ax=None, log_scale: bool = False) -> TaskLossDisplay:
        """Plot the per-task losses recorded in a fitted neural estimator's ``history_``.

        Parameters
        ----------
        estimator : fitted estimator
            A neural multi-task or multi-modal estimator, or a pipeline ending in one.
        which : {"train", "valid"}, sequence of them, or None, default=None
            Phases to draw; ``None``: every phase recorded (``"valid"`` is recorded only
            with ``early_stopping=True``).
        mean : bool, default=True
            Also draw the mean over tasks.
        ax : matplotlib Axes or None, default=None
        log_scale : bool, default=False

        Returns
        -------
        display : TaskLossDisplay
        """
        history, names = fitted_history(estimator, cls.__name__)
        phases = _PHASES if which is None else ((which,) if isinstance(which, str)
                                                else tuple(which))
        unknown = [p for p in phases if p not in _PHASES]
        if unknown or not phases:
            raise ValueError(f"which must hold 'train' and/or 'valid', got {which!r}.")
        task_losses, mean_losses = {}, {}
        for phase in phases:
            losses = history_column(history, f"{phase}_task_losses", len(names))
            if losses is None:
                if which is None:
                    continue
                hint = " (fit with early_stopping=True)" if phase == "valid" else ""
                raise ValueError(f"{type(estimator).__name__}.history_ records no "
                                 f"{phase} losses{hint}.")
            task_losses[phase] = losses
            mean_losses[phase] = history_column(history, f"{phase}_loss")
        return cls(task_losses, names, mean_losses=mean_losses if mean else None).plot(
            ax=ax, log_scale=log_scale)


class TaskWeightDisplay:
    """Trajectories of the task-balancing weights, one line per task.

    The weights are those the balancing method (``loss_weighting``) held at the end of
    each epoch: learned weightings (``"uncertainty"``, ``"dwa"``, ``"gradnorm"``, ...) move;
    ``"fixed"`` draws flat lines at ``task_weights``.

    Parameters
    ----------
    weights : ndarray of shape (n_epochs, n_tasks)
    task_names : array-like of shape (n_tasks,)
    epochs : array-like of shape (n_epochs,) or None, default=None
        x values (default ``1, 2, ..., n_epochs``).
    title : str or None, default=None

    Attributes
    ----------
    lines_ : ndarray of matplotlib Line2D, shape (n_tasks,)
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    See Also
    --------
    TaskLossDisplay : the per-task losses per epoch.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sklearn_mtml.inspection import TaskWeightDisplay
    >>> from sklearn_mtml.neural import MultiTaskNetRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 3))
    >>> Y = np.column_stack([X[:, 0], 10 * X[:, 1] + rng.normal(size=100)])
    >>> net = MultiTaskNetRegressor(hidden_layer_sizes=(8,), max_epochs=5, lr=0.05,
    ...                             loss_weighting="uncertainty", random_state=0,
    ...                             n_threads=1).fit(X, Y)
    >>> display = TaskWeightDisplay.from_estimator(net)
    >>> len(display.lines_), display.ax_.get_ylabel()
    (2, 'task weight')
    """

    def __init__(self, weights, task_names, *, epochs=None, title: str | None = None):
        self.weights = np.asarray(weights, dtype=np.float64)
        self.task_names = np.asarray(task_names, dtype=object)
        self.epochs = epochs
        self.title = title

    def plot(self, ax=None) -> TaskWeightDisplay:
        """Draw one line per task.

        Parameters
        ----------
        ax : matplotlib Axes or None, default=None

        Returns
        -------
        display : TaskWeightDisplay
        """
        if self.weights.ndim != 2 or self.weights.shape[1] != len(self.task_names):
            raise ValueError(f"weights has shape {self.weights.shape}; expected "
                             f"(n_epochs, {len(self.task_names)}).")
        ax = get_axes(ax)
        x = _epochs(len(self.weights), self.epochs)
        lines = np.empty(len(self.task_names), dtype=object)
        for t, name in enumerate(self.task_names):
            (lines[t],) = ax.plot(x, self.weights[:, t], marker=".", color=f"C{t % 10}",
                                  label=str(name))
        ax.legend(fontsize="small", ncol=2 if len(lines) > 6 else 1)
        ax.set_xlabel("epoch")
        ax.set_ylabel("task weight")
        ax.set_title(self.title or "Task weights")
        self.lines_, self.ax_, self.figure_ = lines, ax, ax.figure
        return self

    @classmethod
    def from_estimator(cls, estimator, *, ax=None) -> TaskWeightDisplay:
        """Plot the ``task_weights`` recorded in a fitted neural estimator's ``history_``.

        Parameters
        ----------
        estimator : fitted estimator
            A neural multi-task or multi-modal estimator, or a pipeline ending in one.
        ax : matplotlib Axes or None, default=None

        Returns
        -------
        display : TaskWeightDisplay
        """
        history, names = fitted_history(estimator, cls.__name__)
        weights = history_column(history, "task_weights", len(names))
        if weights is None:
            raise ValueError(f"{type(estimator).__name__}.history_ records no task_weights.")
        method = getattr(final_estimator(estimator), "loss_weighting", None)
        title = f"Task weights ({method})" if isinstance(method, str) else None
        return cls(weights, names, title=title).plot(ax=ax)
