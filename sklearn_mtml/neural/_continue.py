"""Continuing training: warm start, ``partial_fit``, switching ``accelerator=``.

What may change between the calls (learning rate, batch size, epochs, early stopping,
callbacks) takes effect; what the network was built from (architecture, sizes, balancing,
tasks, labels, columns) may not, and is refused, naming it, before anything is touched.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import validate_data

from .._targets import TaskLayout, fit_guard, keep_state, validate_fit_data
from .._weights import resolve_weights
from ._partial import align_targets, with_classes

__all__ = ["ContinuedTrainingMixin"]


class ContinuedTrainingMixin:
    """Warm start and ``partial_fit`` of :class:`~sklearn_mtml.neural._base.BaseMultiTaskNet`
    (which supplies ``_fit``, ``_make_net`` and ``_net_callbacks``)."""

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train for one epoch on ``X, y``, continuing from the current weights.

        The first call sets up the tasks (and, for classification, the labels: pass
        ``classes`` when a batch may not show every label).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_columns)
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
        classes : array-like, or list of array-like (one per task), default=None
            All labels of each classification task; needed on the first call only.
        sample_weight : array-like of shape (n_samples,) or (n_samples, n_tasks), \
                default=None
            Weights of this chunk's rows (or, wide format, rows and tasks; ``NaN`` = 0),
            as in ``fit``. ``class_weight`` applies too, except ``"balanced"``, which needs
            the labels of all chunks (as sklearn's ``partial_fit``): pass explicit class
            weights.

        Returns
        -------
        self : object
        """
        self._validate_params()
        fitted = hasattr(self, "net_")
        if fitted:
            validate_data(self, X, reset=False, skip_check_array=True)
        previous = getattr(self, "_net_layout_", None)
        # The first call sets the model up (a failure leaves it unfitted); a later chunk that
        # fails leaves the model as it was, and may lack some task's labels.
        with fit_guard(self) if not fitted else keep_state(self):
            data = validate_fit_data(
                self, X, y, task_types=self._get_task_types(),
                task_column=self.task_column,
                allow_nan_X=self._allow_nan_X, convert_X=self._convert_X,
                require_labels=not fitted,
            )
            if fitted or classes is not None:
                target = previous if fitted else with_classes(data.layout, classes)
                data = align_targets(data, target)
            weight = resolve_weights(self, data, sample_weight, self.class_weight,
                                     partial=True)
            self._record_tasks(data)
            self._fit(data, epochs=1, partial=True, sample_weight=weight)
        return self

    def _update_net(self, net, early_stopping: bool) -> None:
        """Warm start: the current ``lr``, ``weight_decay``, batch size, epochs, verbosity,
        early stopping and callbacks apply to the continued training (skorch's
        ``set_params``; the optimizer keeps its state)."""
        net.set_params(
            lr=float(self.lr), batch_size=int(self.batch_size),
            max_epochs=int(self.max_epochs), verbose=int(self.verbose),
            optimizer__param_groups__0__weight_decay=float(self.weight_decay),
            callbacks=self._net_callbacks(early_stopping),
        )
        net.initialize_callbacks()

    def _rewrap_net(self, X_t, layout: TaskLayout, device, accelerator):
        """The previous net's training state (weights, balancing state, optimizer state,
        history) in a net with or without an accelerator: ``warm_start``/``partial_fit``
        may switch ``accelerator=`` on or off (e.g. after ``load_safe``)."""
        old = self.net_
        early_stopping = any(name == "early_stopping" for name, _ in old.callbacks_)
        net = self._make_net(X_t, layout, device, early_stopping=early_stopping,
                             accelerator=accelerator)
        net.module_.load_state_dict(old.module_.state_dict())
        net.criterion_.load_state_dict(old.criterion_.state_dict())
        optimizer = getattr(net.optimizer_, "optimizer", net.optimizer_)
        optimizer.load_state_dict(getattr(old.optimizer_, "optimizer", old.optimizer_)
                                  .state_dict())
        net.history = old.history
        return net

    #: parameters the network is built from: a continued fit may not change them
    _structural_params = (
        "architecture", "architecture_params", "hidden_layer_sizes", "tower_sizes",
        "n_experts", "expert_sizes", "n_task_experts", "n_levels", "loss_weighting",
        "loss_weighting_params",
    )

    def _structure(self) -> tuple:
        return tuple((name, repr(getattr(self, name))) for name in self._structural_params)

    def _check_same_structure(self) -> None:
        built = dict(self.net_.config.structure)
        changed = [name for name, value in self._structure()
                   if name in built and built[name] != value]
        if changed:
            was = ", ".join(f"{name}={built[name]}" for name in changed)
            raise ValueError(
                f"{type(self).__name__} cannot continue training (warm_start / partial_fit) "
                f"after {changed} changed (the network was built with {was}); set them "
                "back, or fit a new model with warm_start=False."
            )

    def _continues_fit(self) -> bool:
        return self.warm_start and hasattr(self, "net_")

    def _check_same_tasks(self, layout: TaskLayout) -> None:
        old = self._net_layout_
        same = (
            list(old.names) == list(layout.names)
            and old.task_types == layout.task_types
            and all((a is None and b is None) or (a is not None and b is not None
                    and len(a) == len(b) and np.all(a == b))
                    for a, b in zip(old.classes, layout.classes))
        )
        if not same:
            raise ValueError(
                f"{type(self).__name__} cannot continue training (warm_start / partial_fit) "
                "on other tasks or labels than the first fit's; fit a new model instead."
            )
