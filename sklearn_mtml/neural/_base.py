"""The estimator base of every neural estimator of the package.

:class:`BaseMultiTaskNet` composes a skorch net (``net_``; DESIGN.md: composition, not
subclassing) and owns everything that is not the network itself. Its ``fit`` reads as the
story validate -> encode -> build -> train -> record; the pieces live beside it:
:mod:`._data` (preloaded tensors and batches), :mod:`._loss` (the masked per-task loss),
:mod:`._net` (the skorch net), :mod:`._callbacks` (epoch-level behaviour),
:mod:`._params` (the parameter specification) and :mod:`._accelerate` (Accelerate).

Estimators built on it (``MultiTaskNetRegressor``, ``MultiTaskNetClassifier``,
``MultiTaskNet``, the multi-modal estimators) only choose a mixin of
:mod:`sklearn_mtml._base` and, where they need to, override the hooks listed in
:class:`BaseMultiTaskNet`.
"""

from __future__ import annotations

import copy
import dataclasses
import numbers
from collections.abc import Mapping

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted
from skorch.callbacks import EarlyStopping
from torch import nn

from .._targets import (
    CLASSIFICATION,
    TaskData,
    TaskLayout,
    as_task_list,
    validate_fit_data,
)
from ..balancing import WEIGHTINGS, get_weighting
from ..nn.heads import ACTIVATIONS, TaskHeads
from ..nn.sharing import ARCHITECTURES, build_architecture
from ..utils._torch import torch_threads
from . import _accelerate
from ._callbacks import EpochProgressBar
from ._context import local_torch_rng, resolve_device, seed_from
from ._continue import ContinuedTrainingMixin
from ._data import TaskTensors, TensorInput, n_rows, take, to_device
from ._defaults import AutoDefaultsMixin
from ._encoding import encode_targets, split, target_scaling
from ._loss import MaskedTaskLoss, cross_entropy, squared_error
from ._net import NetConfig, _MultiTaskNeuralNet
from ._optimizers import OPTIMIZERS
from ._params import NET_PARAMS, architecture_options, constraints, make_init
from ._partial import align_targets
from ._predict import NetPredictMixin
from ._transfer import transfer_shared

__all__ = ["BaseMultiTaskNet", "MaskedTaskLoss"]


def _silent(*args, **kwargs) -> None:
    """A print sink that prints nothing (a module-level function: the model pickles)."""


def _as_sizes(value, name: str) -> tuple[int, ...]:
    if value is None:
        return ()
    if isinstance(value, numbers.Integral):
        value = (value,)
    sizes = tuple(int(v) for v in value)
    if any(s < 1 for s in sizes):
        raise ValueError(f"{name} must hold positive layer widths, got {value!r}.")
    return sizes


@dataclasses.dataclass(frozen=True)
class _Plan:
    """What one fit call decided before building anything."""

    device: torch.device
    accelerator: object
    reuse: bool
    base_seed: int
    seed: int
    validate: bool
    epochs: int
    partial: bool
    layout: TaskLayout


class BaseMultiTaskNet(AutoDefaultsMixin, ContinuedTrainingMixin, NetPredictMixin):
    """Base class of the neural multi-task estimators (training machinery and hooks).

    Not used directly: estimators combine it, *first*, with a task mixin of
    :mod:`sklearn_mtml._base` and ``BaseEstimator`` last, e.g.
    ``class MultiTaskNetRegressor(BaseMultiTaskNet, MultiTaskRegressorMixin,
    BaseEstimator)`` (first, so that its ``_fit`` / ``_predict_tasks`` replace the mixin's
    abstract ones; ``BaseEstimator`` last, as sklearn wants mixins before it). The mixin's
    ``fit`` validates ``X, y`` through the task contract and calls :meth:`_fit`, which tells
    the story: targets -> tensors -> module -> skorch ``NeuralNet`` (``net_``) -> train ->
    record ``history_``.

    **Hooks** (a contract with the estimators built on this class; override only these):

    ``_to_tensors(self, X, fit: bool) -> Tensor | dict[str, Tensor]``
        Turn the validated ``X`` (what the mixin's ``_convert_X`` returned; a float64 array
        by default) into CPU tensors: one float32 tensor, or a dict of tensors (e.g. one per
        modality plus presence masks). Every tensor has the samples on its first dimension.
        Uses the fitted preprocessing, if any; ``fit`` says whether a fit calls it.
    ``_fit_inputs(self, X, reuse: bool) -> (tensors, dict)``
        At fit: the tensors, and what was learnt of the inputs (preprocessing) as a dict of
        fitted attributes (names ending in ``_``), recorded with the rest of the fit and
        passed to ``_build_module`` as keyword arguments. ``reuse``: warm start /
        ``partial_fit`` keep the first fit's preprocessing. Default: ``_to_tensors``.
    ``_build_module(self, X_t, out_sizes: list[int], **inputs) -> torch.nn.Module``
        Build the network. ``forward`` receives a batch of ``X_t`` *whole* (the tensor or
        the dict, not unpacked as keyword arguments) and returns either a list of per-task
        outputs (``(batch, out_sizes[t])`` each) or one tensor of the outputs side by side,
        ``(batch, sum(out_sizes))``, in task order. ``out_sizes[t]`` is 1 for a regression
        task and the number of classes for a classification task. The default builds the
        sharing architecture of ``architecture=`` with :meth:`_build_sharing`.
    ``_build_sharing(self, in_features, out_sizes) -> torch.nn.Module``
        The sharing network of ``architecture=`` and the size parameters, for a given input
        width (a multi-modal network puts it on top of its fused representation).
        A network may also define ``auxiliary_loss() -> Tensor | None``: a regulariser of
        its last training forward pass, back-propagated with the task losses; and accept
        ``forward(x, task=index)`` to route long-format rows through their own task only
        (returning ``(batch, max(out_sizes))``), which the estimator then uses.
    ``_shared_modules(self, module) -> dict[str, Module]``
        The shared part copied by ``init_from`` (default ``module.shared_modules()``).
    ``_regression_loss`` / ``_classification_loss``
        Element-wise ``(pred, target)`` regression loss on standardised targets (default
        squared error) and per-sample ``(logits, codes)`` classification loss (default
        cross-entropy); masking and per-task means are applied around them.
    ``_check_instance()`` (classmethod)
        A tiny, fast configuration for the common estimator checks.

    The parameters shared by tasks, which gradient balancing methods (PCGrad, MGDA, ...)
    see, are ``module.shared_parameters()`` when the network has it, else every parameter
    (the net's ``shared_parameters_``).

    **Package-internal surface** (what :mod:`sklearn_mtml.inspection` and
    :mod:`sklearn_mtml.persistence` use; nothing else of the fitted estimator's private
    state):

    ``_batch_task_losses(X, y)``
        Per batch of ``X, y``, ``(losses, counts)`` of the fitted network in its current
        mode (graphs kept), ``y`` encoded as ``fit`` encodes it.
    ``_rebuild_net(device)``
        An initialised, untrained net shaped as the fitted one (to load weights into).

    Parameters
    ----------
    architecture : {"shared_bottom", "cross_stitch", "mmoe", "ple", "shared_private", \
            "independent"}, class or module, default="shared_bottom"
        How tasks share parameters (see :mod:`sklearn_mtml.nn.sharing`). A
        ``torch.nn.Module`` class (or factory) is called as
        ``cls(in_features, out_sizes, **sizes, **architecture_params)`` with the size
        options its signature declares; an instance is copied at each fit.
    hidden_layer_sizes : tuple of int, default=(64,)
        Widths of the shared trunk (each task's column for ``"cross_stitch"`` and
        ``"independent"``; each expert for ``"mmoe"``/``"ple"`` unless ``expert_sizes``).
    tower_sizes : tuple of int, default=()
        Widths of each task's own tower under its output layer.
    architecture_params : dict or None, default=None
        Options of the chosen architecture, passed to its class: ``n_experts`` (experts of
        ``"mmoe"``, shared experts per level of ``"ple"``; default 4), ``expert_sizes``
        (widths of each expert, default ``hidden_layer_sizes``), ``n_task_experts``
        (task-specific experts per task and level of ``"ple"``, default 1), ``n_levels``
        (CGC levels of ``"ple"``, default 2), ``self_weight`` (``"cross_stitch"``), ...
        (see :mod:`sklearn_mtml.nn.sharing`). A key the architecture does not take is an
        error. Searched as a whole, e.g. ``GridSearchCV(est, [{"architecture": ["mmoe"],
        "architecture_params": [{"n_experts": 2}, {"n_experts": 8}]}])``, so that each
        architecture is paired only with its own options.
    n_experts, expert_sizes, n_task_experts, n_levels : deprecated
        Use ``architecture_params`` (a ``FutureWarning`` says so); given here, they reach
        only the architectures that take them, as before.
    activation : str, default="relu"
        One of ``"relu"``, ``"gelu"``, ``"tanh"``, ``"elu"``, ``"leaky_relu"``, ``"selu"``,
        ``"silu"``.
    dropout : float, default=0.0
    loss_weighting : str, LossWeighting class or instance, default="fixed"
        Task balancing (see :mod:`sklearn_mtml.balancing`): ``"fixed"``, ``"uncertainty"``,
        ``"dwa"``, ``"gradnorm"``, ``"pcgrad"``, ``"mgda"``, ``"cagrad"``, ...
    loss_weighting_params : dict or None, default=None
        Hyper-parameters of the balancing method (e.g. ``{"temperature": 2.0}``).
    task_weights : array-like of shape (n_tasks,), dict or None, default=None
        Fixed per-task loss multipliers (a dict maps task names to weights).
    class_weight : dict, list of dict, "balanced" or None, default=None
        Weights of the classes of classification tasks, multiplying each label's
        ``sample_weight`` in its task's (weighted mean) loss. ``"balanced"``: every
        classification task weighs its classes by ``n_t / (n_classes_t * count)`` over its
        observed labels (sklearn's rule); ``{label: weight}``: the same weights in every
        classification task (the usual form for a 1-D ``y``); ``{task name: {label: weight}
        or "balanced"}`` per task (tasks not named are unweighted); or a list of those
        entries in task order (sklearn's multi-output form). An unknown task or label is
        an error. Not for regression tasks.
    head_shrinkage : float or "auto", default="auto"
        ``"auto"``: 1000 in long format (100 with ``architecture="independent"``) on a
        network with ``TaskHeads``, 0 in wide format (values chosen on the long-format
        problems of the defaults suite, checked on its hold-out; benchmarks/README.md).
        With a few tasks that differ a lot, and many rows each, set it lower (e.g. 0-100).
        Pull the tasks' output layers towards their mean: the neural analogue of the
        task-specific penalty of :class:`~sklearn_mtml.linear.MultiTaskRidge` (weights
        ``w_t = w_0 + v_t``, a ridge penalty on ``v_t``), for tasks with few labels each.
        A training step adds, for every task with a label in its batch (as the task's
        loss), ``head_shrinkage / n_t * (||W_t - W_mean||^2 + ||b_t - b_mean||^2)``, where
        ``W_t, b_t`` are task ``t``'s output layer (the network's
        :class:`~sklearn_mtml.nn.heads.TaskHeads`), the means are over all tasks and
        ``n_t`` is task ``t``'s number of training labels. A task's loss is a mean over its
        rows, so its objective is then, as in a ridge whose ``alpha`` is
        ``head_shrinkage``, (sum of its losses + ``head_shrinkage`` x penalty) / ``n_t``:
        the value means the same whatever the number of rows or tasks. The biases are
        shrunk with the weights (regression targets are standardised per task, so every
        task keeps its own mean). Closest to the ridge on ``"shared_bottom"`` without
        ``tower_sizes`` (linear heads on the shared representation). 0 disables it; needs a
        network with ``TaskHeads`` (every built-in architecture). Not scaled by
        ``task_weights`` or the balancing weights.
    target_scaling : {"auto", "task", "pooled"}, default="auto"
        How regression targets are standardised for training (undone at predict time).
        ``"auto"``: ``"pooled"`` in long format (one target column: the tasks measure the
        same quantity), ``"task"`` in wide format.
        ``"task"``: each task by its own mean and standard deviation, so each task's mean
        is learned freely. ``"pooled"``: one mean and standard deviation over the labels of
        all regression tasks, for tasks that measure the same quantity (long format, e.g.
        one score per school): each task's level is then learned by its head's bias, which
        ``head_shrinkage`` pulls towards the common level, as
        :class:`~sklearn_mtml.linear.MultiTaskRidge` shrinks task intercepts. On School,
        ``head_shrinkage`` with ``"pooled"`` scores about 1.5 EV points above it with
        ``"task"`` (see benchmarks/README.md).
    optimizer : {"adam", "adamw", "sgd"} or torch optimizer class, default="adam"
    lr : float, default=1e-3
    weight_decay : float, default=0.0
    batch_size : int, default=128
    max_epochs : int, default=100
    early_stopping : bool or "auto", default="auto"
        ``"auto"``: on in long format (with many small tasks a fixed number of epochs
        overfits), off in wide format. Hold out ``validation_fraction`` of the rows and
        stop when the validation loss (task mean) has not improved by ``tol`` (relative)
        for ``n_iter_no_change`` epochs; the best epoch's weights are restored.
    validation_fraction : float, default=0.1
    n_iter_no_change : int, default=10
    tol : float, default=1e-4
    callbacks : list of (str, skorch Callback) or None, default=None
        Extra skorch callbacks, passed to ``net_``.
    warm_start : bool, default=False
        ``fit`` continues from the previous solution when the tasks are the same.
    init_from : fitted estimator of this family, torch.nn.Module or None, default=None
        Transfer: copy the shared layers of this fitted estimator (or of its network,
        ``fitted.net_.module_``) into the new network, which may have other tasks. Same
        architecture and input width. ``clone`` (``GridSearchCV``) keeps the fitted
        estimator as it is (it is only read).
    freeze_shared : bool, default=False
        With ``init_from``: keep the copied shared layers fixed.
    device : str or torch.device, default="auto"
        ``"auto"`` uses CUDA when available, else the CPU.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, shuffling, dropout and the validation split (without
        touching torch's global RNG). The same integer gives identical predictions on CPU.
    verbose : int, default=0
        1: a tqdm progress bar over epochs; 2: also skorch's per-epoch table.
    task_column : int, str or None, default=None
        Long format: the column of ``X`` with each row's task id (not a feature).
    unseen_tasks : {"auto", "error"}, default="auto"
        Long format, a task id ``predict`` never saw in fit. ``"auto"``: predicted by the
        network's shared part, the mean over the task heads' predictions (regression: of
        the values; classification: of the probabilities over every label seen in fit),
        with a ``UserWarning`` naming the ids; an error for ``architecture="independent"``
        (nothing is shared). ``"error"``: always a ``ValueError``.
    n_threads : "auto", int or None, default="auto"
        Torch intra-op threads while this estimator fits or predicts on the CPU (torch's
        setting is restored after); ``None`` leaves torch's setting alone. ``"auto"``: one
        thread when a step's work is small (batch rows x network parameters below
        ``2e8``; every default-sized network), else torch's setting — a rule on the network
        and batch size, not on the measured load, so a fit stays reproducible. Measured on
        2 busy cores, 5,000 rows, the default network: 0.22 s with 1 thread against 37 s
        with torch's 2 (thread synchronisation dominates small kernels on a shared CPU).
    on_divergence : {"raise", "keep_last_good"}, default="raise"
        What a non-finite training loss does. ``"raise"``: a ``ValueError`` naming the
        epoch, the batch and the task, and the estimator is left unfitted.
        ``"keep_last_good"``: training stops with a ``UserWarning`` saying the same, and the
        model keeps the weights of the last epoch that ended with finite weights (the
        diverged epoch is dropped from ``history_``).
    accelerator : dict, accelerate.Accelerator or None, default=None
        Train through Hugging Face Accelerate (skorch's ``AccelerateMixin``; needs the
        ``accelerate`` extra): mixed precision, gradient accumulation, and data-parallel
        training of one model on several GPUs or processes started by ``accelerate
        launch``. A dict holds ``accelerate.Accelerator`` options (e.g.
        ``{"mixed_precision": "bf16", "gradient_accumulation_steps": 2}``; this form
        clones and pickles with the estimator); an ``Accelerator`` is used as is. The
        accelerator chooses the device (leave ``device="auto"``). With several processes
        each one calls ``fit`` on the same data, trains on its share of every step's rows,
        and ends with the same model; ``batch_size`` is per process. DeepSpeed, FSDP and
        Megatron-LM are not supported; fp16 (loss scaling) needs a loss-weighting method.
        See the "Scaling" user guide.
    """

    _parameter_constraints: dict = constraints(NET_PARAMS)

    __init__ = make_init(NET_PARAMS, "BaseMultiTaskNet")

    def set_params(self, **params):
        """Set parameters, including those of callbacks as ``callbacks__<name>__<param>``.

        As in skorch, ``callbacks__<name>__<param>`` reaches the parameter of the callback
        passed as ``(name, callback)`` (so ``GridSearchCV`` can tune it) and
        ``callbacks__<name>`` replaces that callback. The callback is copied before it is
        changed: the caller's instance is never modified.

        Parameters
        ----------
        **params : dict
            Estimator parameters.

        Returns
        -------
        self : estimator instance
        """
        nested = {k: v for k, v in params.items() if k.startswith("callbacks__")}
        if nested:
            callbacks = [tuple(item) for item in (self.callbacks or [])]
            names = [name for name, _ in callbacks]
            for key, value in nested.items():
                name, _, param = key[len("callbacks__"):].partition("__")
                if name not in names:
                    raise ValueError(
                        f"{key!r}: no callback named {name!r}; callbacks are {names}."
                    )
                i = names.index(name)
                if not param:
                    callbacks[i] = (name, value)
                    continue
                callback = copy.deepcopy(callbacks[i][1])
                callback.set_params(**{param: value})
                callbacks[i] = (name, callback)
            params = {k: v for k, v in params.items() if k not in nested}
            params["callbacks"] = callbacks
        return super().set_params(**params)

    # ------------------------------------------------------------------ hooks
    def _to_tensors(self, X, fit: bool) -> TensorInput:
        return torch.tensor(np.asarray(X, dtype=np.float32))

    def _fit_inputs(self, X, reuse: bool) -> tuple[TensorInput, dict]:
        return self._to_tensors(X, fit=True), {}

    def _build_module(self, X_t: TensorInput, out_sizes: list[int]) -> nn.Module:
        if isinstance(X_t, Mapping):
            raise TypeError(
                f"{type(self).__name__} got a dict of tensors; override _build_module to "
                "build a network that takes it."
            )
        return self._build_sharing(X_t.shape[1], out_sizes)

    def _build_sharing(self, in_features: int, out_sizes: list[int]) -> nn.Module:
        explicit, legacy = architecture_options(self)
        return build_architecture(
            ARCHITECTURES.fresh(self.architecture),
            in_features,
            out_sizes,
            hidden_layer_sizes=_as_sizes(self.hidden_layer_sizes, "hidden_layer_sizes"),
            tower_sizes=_as_sizes(self.tower_sizes, "tower_sizes"),
            activation=self.activation,
            dropout=float(self.dropout),
            **legacy,
            **explicit,
        )

    def _shared_modules(self, module: nn.Module) -> dict[str, nn.Module]:
        if hasattr(module, "shared_modules"):
            return dict(module.shared_modules())
        raise TypeError(
            f"init_from needs a network that names its shared part (shared_modules()); "
            f"{type(module).__name__} does not."
        )

    _regression_loss = staticmethod(squared_error)
    _classification_loss = staticmethod(cross_entropy)

    # ------------------------------------------------------------------ fit story
    def _fit(self, data: TaskData, epochs: int | None = None, partial: bool = False,
             sample_weight: np.ndarray | None = None):
        plan = self._plan(data, epochs, partial)
        with local_torch_rng(plan.seed, plan.device), torch_threads(self._fixed_threads()):
            X_t, inputs, scaling, train, valid = self._encode(data, plan, sample_weight)
            net = self._build(X_t, data.layout, plan, early_stopping=valid is not None,
                              inputs=inputs)
            with torch_threads(self._threads_for(net.module_, plan.device,
                                                 int(self.batch_size))):
                self._train(net, train, valid, plan)
        self._record(net, plan, data.layout, scaling, inputs)
        return self

    def _plan(self, data: TaskData, epochs: int | None, partial: bool) -> _Plan:
        """Every check of the parameters against the data, before anything is built."""
        self._check_params()
        layout = data.layout
        self._check_classification_targets(layout)
        self._task_weight_list(layout)
        reuse = hasattr(self, "net_") and (partial or self.warm_start)
        if reuse:
            self._check_same_tasks(layout)
            self._check_same_structure()
        accelerator = self._make_accelerator()
        device = self._resolve_device(accelerator)
        base_seed = seed_from(self.random_state)
        if accelerator is not None:  # data-parallel processes: one seed, the same data
            base_seed = _accelerate.agree(accelerator, base_seed)
            _accelerate.check_same_data(accelerator, len(data.mask), layout.n_tasks,
                                        type(self).__name__)
        history_length = len(self.net_.history) if reuse else 0
        return _Plan(device=device, accelerator=accelerator, reuse=reuse,
                     base_seed=base_seed, seed=base_seed + history_length,
                     validate=self._early_stopping_for(layout) and not partial,
                     epochs=int(epochs or self.max_epochs), partial=partial,
                     layout=layout)

    def _check_params(self) -> None:
        """Checks ``_parameter_constraints`` cannot express (the registries' own)."""
        ARCHITECTURES.check(self.architecture)
        ACTIVATIONS.check(self.activation)
        WEIGHTINGS.check(self.loss_weighting)
        OPTIMIZERS.check(self.optimizer)
        _as_sizes(self.hidden_layer_sizes, "hidden_layer_sizes")
        _as_sizes(self.tower_sizes, "tower_sizes")
        explicit, _ = architecture_options(self)
        ARCHITECTURES.check_options(self.architecture, explicit, "architecture_params",
                                    reserved=("in_features", "out_sizes"))
        WEIGHTINGS.check_options(self.loss_weighting, self.loss_weighting_params,
                                 "loss_weighting_params",
                                 reserved=("n_tasks", "task_weights", "task_types"))
        self._net_callbacks(early_stopping=False)

    def _encode(self, data: TaskData, plan: _Plan, weight: np.ndarray | None = None):
        """Inputs as tensors (and what was learnt of them), the target scaling, and the
        training / validation tensors (``weight``: per-label weights, carried by the mask)."""
        X_t, inputs = self._fit_inputs(data.X, plan.reuse)
        scaling = ((self._target_mean_, self._target_scale_) if plan.reuse
                   else target_scaling(data, self._target_scaling_for(data.layout), weight))
        full = TaskTensors(X_t, encode_targets(data, *scaling, weight=weight))
        train, valid = split(full, data, plan.seed, plan.validate, self.validation_fraction)
        return X_t, inputs, scaling, train, valid

    def _build(self, X_t, layout: TaskLayout, plan: _Plan, early_stopping: bool,
               inputs: dict):
        """A new net, or the previous one (warm start / partial_fit)."""
        accelerator = plan.accelerator
        if not plan.reuse:
            return self._make_net(X_t, layout, plan.device, early_stopping=early_stopping,
                                  accelerator=accelerator, inputs=inputs)
        net = self.net_
        if hasattr(net, "accelerator") != (accelerator is not None):
            net = self._rewrap_net(X_t, layout, plan.device, accelerator)
        if not plan.partial:
            self._update_net(net, early_stopping)
        if accelerator is not None:
            net.accelerator, net.device = accelerator, None
        return net

    def _record(self, net, plan: _Plan, layout: TaskLayout, scaling, inputs: dict) -> None:
        """The one place where a fit sets the network's fitted attributes."""
        for name, value in inputs.items():
            setattr(self, name, value)
        self.net_ = net
        self.device_ = plan.device
        self.history_ = net.history
        self.n_iter_ = len(net.history)
        self._net_layout_ = layout
        self._target_mean_, self._target_scale_ = scaling

    def _make_net(self, X_t, layout: TaskLayout, device, early_stopping: bool,
                  accelerator=None, inputs: dict | None = None):
        out_sizes = self._out_sizes(layout)
        module = self._build_module(X_t, out_sizes, **(inputs or {}))
        self._check_head_shrinkage(module, layout)
        self._transfer_shared(module)
        weights = self._task_weight_list(layout)
        weighting = get_weighting(
            WEIGHTINGS.fresh(self.loss_weighting),
            layout.n_tasks,
            task_weights=weights,
            task_types=layout.task_types,
            **(self.loss_weighting_params or {}),
        )
        config = NetConfig(
            task_names=tuple(layout.names),
            summary_weights=tuple(float(w) for w in (
                np.ones(layout.n_tasks) if weights is None else weights)),
            long=bool(layout.long),
            fused=isinstance(self.optimizer, str),
            structure=self._structure(),
        )
        from ._net import accepts_task

        criterion = MaskedTaskLoss(layout.task_types, out_sizes, weighting,
                                   self._regression_loss, self._classification_loss,
                                   routed=config.long and accepts_task(module))
        if accelerator is not None:
            _accelerate.check_weighting(accelerator, weighting, type(self).__name__)
            net_class, placement = (_accelerate.AcceleratedMultiTaskNet,
                                    {"accelerator": accelerator})
        else:
            net_class, placement = _MultiTaskNeuralNet, {"device": str(device)}
        net = net_class(
            module=module,
            criterion=criterion,
            optimizer=OPTIMIZERS.lookup(self.optimizer),
            lr=float(self.lr),
            optimizer__weight_decay=float(self.weight_decay),
            max_epochs=int(self.max_epochs),
            batch_size=int(self.batch_size),
            train_split=None,
            callbacks=self._net_callbacks(early_stopping),
            verbose=int(self.verbose),
            config=config,
            **placement,
            # the fitted net pickles torch modules of this package, not only weights
            torch_load_kwargs={"weights_only": False},
        )
        return net.initialize()

    def _net_callbacks(self, early_stopping: bool) -> list:
        callbacks = list(self.callbacks or [])
        for item in callbacks:
            if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)):
                raise ValueError(
                    f"callbacks must be (name, skorch Callback) pairs; got {item!r}."
                )
        callbacks = [(name, copy.deepcopy(cb)) for name, cb in callbacks]
        if early_stopping:
            callbacks.append(("early_stopping", EarlyStopping(
                monitor="valid_loss", patience=int(self.n_iter_no_change),
                threshold=float(self.tol), threshold_mode="rel", load_best=True,
                sink=print if self.verbose >= 2 else _silent,
            )))
        if self.verbose:
            callbacks.append(("progress_bar", EpochProgressBar(int(self.max_epochs))))
        return callbacks

    def _train(self, net, train: TaskTensors, valid, plan: _Plan) -> None:
        device = plan.device
        try:
            net.train_tensors(
                train.to(device), None if valid is None else valid.to(device),
                seed=plan.seed, epoch_seed=plan.base_seed, epochs=plan.epochs,
                head_shrinkage=self._head_shrinkage_for(plan.layout, net.module_),
                keep_last_good=self.on_divergence == "keep_last_good",
            )
        except torch.cuda.OutOfMemoryError as exc:
            raise torch.cuda.OutOfMemoryError(
                f"{exc}\n{type(self).__name__} ran out of GPU memory while training with "
                f"batch_size={self.batch_size}: try a smaller batch_size (e.g. "
                f"{max(1, int(self.batch_size) // 2)}), a smaller network, or device='cpu'."
            ) from exc

    # ------------------------------------------------------------------ helpers
    def _check_head_shrinkage(self, module: nn.Module, layout: TaskLayout) -> None:
        strength = self._head_shrinkage_for(layout, module)
        heads = [m for m in module.modules() if isinstance(m, TaskHeads)]
        if strength > 0 and not (heads and callable(getattr(module, "auxiliary_loss", None))):
            raise ValueError(
                f"head_shrinkage={strength} needs a network whose output layers are "
                "sklearn_mtml.nn.heads.TaskHeads and whose auxiliary_loss() adds their "
                f"penalty (every built-in architecture); {type(module).__name__} has "
                f"{'no auxiliary_loss' if heads else 'no TaskHeads'}."
            )

    def _make_accelerator(self):
        """The ``accelerate.Accelerator`` of this fit, or ``None``."""
        if self.accelerator is None:
            return None
        return _accelerate.make_accelerator(self.accelerator, type(self).__name__)

    def _has_shared_part(self) -> bool:
        return not (isinstance(self.architecture, str) and self.architecture == "independent")

    def _resolve_device(self, accelerator=None) -> torch.device:
        return resolve_device(self.device, accelerator, type(self).__name__)

    @staticmethod
    def _out_sizes(layout: TaskLayout) -> list[int]:
        return [1 if c is None else max(len(c), 1) for c in layout.classes]

    def _task_weight_list(self, layout: TaskLayout):
        if self.task_weights is None:
            return None
        weights = as_task_list(self.task_weights, layout, "task_weights")
        weights = np.asarray(weights, dtype=np.float64)
        if not np.all(np.isfinite(weights)) or np.any(weights < 0):
            raise ValueError(f"task_weights must be finite and >= 0, got {weights.tolist()}.")
        return weights

    def _check_classification_targets(self, layout: TaskLayout) -> None:
        for name, kind, classes in zip(layout.names, layout.task_types, layout.classes):
            if kind == CLASSIFICATION and classes.dtype.kind == "f":
                raise ValueError(
                    f"Unknown label type: task {name!r} has continuous targets; "
                    f"{type(self).__name__} needs class labels (use a regressor)."
                )

    def _transfer_shared(self, module: nn.Module) -> None:
        transfer_shared(module, self.init_from, self.freeze_shared, self._shared_modules)

    def __sklearn_clone__(self):
        """``sklearn.base.clone``, except that a fitted ``init_from`` estimator is passed on
        as it is (a clone would be unfitted): the transfer source survives
        ``GridSearchCV`` / ``cross_validate``. It is only read, never modified."""
        from sklearn.base import _clone_parametrized

        new = _clone_parametrized(self)
        source = self.init_from
        if isinstance(source, BaseMultiTaskNet) and hasattr(source, "net_"):
            new.init_from = source
        return new

    # ------------------------------------------------------------------ internal surface
    def _batch_task_losses(self, X, y):
        """Per batch of ``X, y``: ``(losses, counts)`` of the fitted network in its current
        mode, graphs kept (for gradients); ``y`` is encoded as ``fit`` encodes it. The
        estimator is left untouched.
        """
        from .._targets import check_predict_X

        check_is_fitted(self, "net_")
        features, _ = check_predict_X(self, X, self._allow_nan_X, self._convert_X)
        data = validate_fit_data(
            self, X, y, task_types=self._get_task_types(), task_column=self.task_column,
            allow_nan_X=True, convert_X=lambda features, reset: features, reset=False,
        )
        fitted = self._net_layout_
        if not fitted.long and list(data.layout.names) != list(fitted.names):
            raise ValueError(
                f"y has tasks {list(data.layout.names)} but {type(self).__name__} was "
                f"fitted on {list(fitted.names)}."
            )
        data = align_targets(data, fitted)
        data.X = features
        X_t = self._to_tensors(features, fit=False)
        targets = encode_targets(data, self._target_mean_, self._target_scale_)
        net, device = self.net_, self.device_
        step = self._predict_batch_size
        for start in range(0, n_rows(X_t), step):
            rows = slice(start, start + step)
            batch = tuple(t[rows].to(device) for t in targets)
            route = {"task": batch[1]} if net.routed_ and len(batch) == 3 else {}
            outputs = net.module_(to_device(take(X_t, rows), device), **route)
            yield net.criterion_(outputs, *batch)

    def _rebuild_net(self, device):
        """An initialised, untrained net shaped as the fitted one, on ``device``."""
        layout = self._net_layout_
        if hasattr(self, "preprocessor_"):
            X_t = {}  # multi-modal networks are sized from the preprocessor, not from X
        else:
            X_t = torch.zeros((1, self.n_features_in_ - int(layout.long)))
        return self._make_net(X_t, layout, torch.device(device),
                              early_stopping=self._early_stopping_for(layout))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags
