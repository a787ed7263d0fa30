"""How tasks relate inside a network: cosine similarity of their shared-parameter gradients."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from ._base import final_estimator, get_axes

__all__ = ["TaskRelationDisplay", "task_gradient_similarity"]


def task_gradient_similarity(estimator, X, y) -> pd.DataFrame:
    """Pairwise cosine similarity of the tasks' gradients on the shared parameters.

    For each task, the gradient of its mean loss on ``X, y`` (over its observed labels)
    with respect to the network's shared parameters (those the balancing methods see:
    the trunk of ``"shared_bottom"``, the experts of ``"mmoe"``, ...) is computed with the
    fitted network in evaluation mode. Entry ``(i, j)`` is the cosine of the angle between
    the gradients of tasks ``i`` and ``j``: near 1 the tasks pull the shared layers the
    same way, near 0 they are unrelated, below 0 they conflict (the case gradient methods
    such as ``"pcgrad"`` address).

    Parameters
    ----------
    estimator : fitted estimator
        A neural multi-task or multi-modal estimator, or a pipeline ending in one (its
        earlier steps transform ``X``).
    X : array-like or DataFrame of shape (n_samples, n_columns)
    y : array-like of shape (n_samples,) or (n_samples, n_tasks)
        Targets for the estimator's tasks; ``NaN`` marks a missing label.

    Returns
    -------
    similarity : DataFrame of shape (n_tasks, n_tasks)
        Indexed by the task names on both axes; symmetric with ones on the diagonal. A
        task without an observed label in ``y``, or with a zero gradient, has ``NaN``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtml.inspection import task_gradient_similarity
    >>> from sklearn_mtml.neural import MultiTaskNetRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 3))
    >>> Y = np.column_stack([X[:, 0], -X[:, 0], X[:, 2]])
    >>> net = MultiTaskNetRegressor(hidden_layer_sizes=(8,), max_epochs=5, lr=0.01,
    ...                             random_state=0, n_threads=1).fit(X, Y)
    >>> sim = task_gradient_similarity(net, X, Y)
    >>> sim.shape, list(sim.index)
    ((3, 3), ['task_0', 'task_1', 'task_2'])
    >>> bool(np.allclose(np.diag(sim), 1.0)), bool(np.allclose(sim, sim.T))
    (True, True)
    """
    import torch

    from ..utils._torch import torch_threads

    if hasattr(estimator, "steps"):
        check_is_fitted(estimator)
        X = estimator[:-1].transform(X) if len(estimator.steps) > 1 else X
    model = final_estimator(estimator)
    check_is_fitted(model)
    if not hasattr(model, "_batch_task_losses") or not hasattr(model, "net_"):
        raise TypeError(
            "task_gradient_similarity needs a fitted neural multi-task estimator (e.g. "
            f"MultiTaskNetRegressor); got {type(model).__name__}."
        )
    names = np.asarray(model.task_names_, dtype=object)
    module = model.net_.module_
    shared = [p for p in model.net_.shared_parameters_ if p.requires_grad]
    if not shared:
        raise ValueError(
            f"{type(model).__name__}'s network has no trainable shared parameters "
            f"(architecture={model.architecture!r}?): task gradients have nothing in common."
        )
    n_tasks = len(names)
    was_training = module.training
    module.eval()  # dropout off: the gradient of the model that predicts
    grads = [None] * n_tasks
    totals = np.zeros(n_tasks)
    try:
        with torch_threads(model._threads_for(module, model.device_,
                                              model._predict_batch_size)):
            for losses, counts in model._batch_task_losses(X, y):
                for t in range(n_tasks):
                    count = float(counts[t])
                    if count == 0:
                        continue
                    # the batch's sum of task t's losses, so batches add up to the data mean
                    parts = torch.autograd.grad(losses[t] * count, shared, retain_graph=True,
                                                allow_unused=True)
                    flat = torch.cat([
                        (torch.zeros_like(p) if g is None else g).reshape(-1).double().cpu()
                        for p, g in zip(shared, parts)
                    ])
                    grads[t] = flat if grads[t] is None else grads[t] + flat
                    totals[t] += count
    finally:
        module.train(was_training)
    width = sum(p.numel() for p in shared)
    G = torch.stack([torch.zeros(width, dtype=torch.float64) if g is None else g / max(c, 1.0)
                     for g, c in zip(grads, totals)]).numpy()
    norms = np.linalg.norm(G, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        unit = G / norms[:, None]
    unit[norms == 0] = np.nan
    similarity = np.clip(unit @ unit.T, -1.0, 1.0)
    np.fill_diagonal(similarity, np.where(norms > 0, 1.0, np.nan))
    return pd.DataFrame(similarity, index=pd.Index(names, name="task"),
                        columns=pd.Index(names, name="task"))


class TaskRelationDisplay:
    """Annotated heatmap of a task-by-task relation matrix.

    Build it with :meth:`from_estimator` (cosine similarity of the tasks' gradients on the
    shared parameters, :func:`task_gradient_similarity`) or directly from any square
    matrix indexed by task names.

    Parameters
    ----------
    matrix : DataFrame of shape (n_tasks, n_tasks), or ndarray with ``task_names``
    task_names : array-like of shape (n_tasks,) or None, default=None
        Default: the index of ``matrix``.
    label : str, default="gradient cosine similarity"
        What the values are (colour bar label).

    Attributes
    ----------
    im_ : matplotlib AxesImage
    text_ : ndarray of matplotlib Text, shape (n_tasks, n_tasks), or None
        The annotations (``None`` when ``values_format`` is ``None``).
    colorbar_ : matplotlib Colorbar
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from sklearn_mtml.inspection import TaskRelationDisplay
    >>> sim = pd.DataFrame([[1.0, -0.2], [-0.2, 1.0]], index=["a", "b"], columns=["a", "b"])
    >>> display = TaskRelationDisplay(sim).plot()
    >>> [t.get_text() for t in display.ax_.get_xticklabels()], display.text_[0, 1].get_text()
    (['a', 'b'], '-0.20')
    """

    def __init__(self, matrix, task_names=None, *, label: str = "gradient cosine similarity"):
        if task_names is None:
            task_names = getattr(matrix, "index", None)
            if task_names is None:
                task_names = [f"task_{t}" for t in range(np.shape(matrix)[0])]
        self.matrix = np.asarray(matrix, dtype=np.float64)
        self.task_names = np.asarray(task_names, dtype=object)
        self.label = label

    def plot(self, ax=None, *, cmap: str = "RdBu_r", values_format: str | None = ".2f",
             colorbar: bool = True, vmin: float = -1.0, vmax: float = 1.0
             ) -> TaskRelationDisplay:
        """Draw the heatmap, task names on both axes, values written in the cells.

        Parameters
        ----------
        ax : matplotlib Axes or None, default=None
        cmap : str or matplotlib Colormap, default="RdBu_r"
        values_format : str or None, default=".2f"
            Format of the annotations; ``None`` writes none.
        colorbar : bool, default=True
        vmin, vmax : float, default=-1.0, 1.0
            Colour scale limits (the range of a cosine).

        Returns
        -------
        display : TaskRelationDisplay
        """
        n = len(self.task_names)
        if self.matrix.shape != (n, n):
            raise ValueError(f"matrix has shape {self.matrix.shape}; expected ({n}, {n}).")
        ax = get_axes(ax)
        im = ax.imshow(self.matrix, cmap=cmap, vmin=vmin, vmax=vmax)
        labels = [str(name) for name in self.task_names]
        ax.set_xticks(np.arange(n), labels=labels, rotation=45, ha="right",
                      rotation_mode="anchor")
        ax.set_yticks(np.arange(n), labels=labels)
        ax.set_xlabel("task")
        ax.set_ylabel("task")
        ax.set_title("Task relations")
        text = None
        if values_format is not None:
            text = np.empty((n, n), dtype=object)
            middle = (vmin + vmax) / 2
            spread = (vmax - vmin) / 2 or 1.0
            for i in range(n):
                for j in range(n):
                    value = self.matrix[i, j]
                    strong = np.isfinite(value) and abs(value - middle) > 0.6 * spread
                    text[i, j] = ax.text(j, i, format(value, values_format), ha="center",
                                         va="center", color="white" if strong else "black")
        self.colorbar_ = ax.figure.colorbar(im, ax=ax, label=self.label) if colorbar else None
        self.im_, self.text_, self.ax_, self.figure_ = im, text, ax, ax.figure
        return self

    @classmethod
    def from_estimator(cls, estimator, X, y, *, ax=None, values_format: str | None = ".2f",
                       cmap: str = "RdBu_r") -> TaskRelationDisplay:
        """Compute :func:`task_gradient_similarity` on ``X, y`` and plot it.

        Parameters
        ----------
        estimator, X, y
            As :func:`task_gradient_similarity`.
        ax : matplotlib Axes or None, default=None
        values_format : str or None, default=".2f"
        cmap : str or matplotlib Colormap, default="RdBu_r"

        Returns
        -------
        display : TaskRelationDisplay
        """
        similarity = task_gradient_similarity(estimator, X, y)
        return cls(similarity).plot(ax=ax, values_format=values_format, cmap=cmap)
