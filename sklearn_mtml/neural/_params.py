"""The one specification of the neural estimators' parameters.

Each estimator's ``__init__`` is generated from a sequence of :class:`Param` (the way
:mod:`dataclasses` writes ``__init__``): the signature is explicit (``get_params``,
``clone`` and IDEs read it), its body only stores the arguments (sklearn's rule), and the
``_parameter_constraints`` come from the same entries. Adding a parameter is one entry here
and its paragraph in the docstring (a test checks that docstrings and signatures agree with
the specification).
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any

import torch
from sklearn.utils._param_validation import HasMethods, Hidden, Interval, StrOptions

from ..balancing import WEIGHTINGS
from ..nn.heads import ACTIVATIONS
from ..nn.sharing import ARCHITECTURES
from ._optimizers import OPTIMIZERS

__all__ = ["DEPRECATED", "NET_PARAMS", "Param", "architecture_options", "make_init"]

#: default of a deprecated parameter: "not given"
DEPRECATED = "deprecated"


@dataclasses.dataclass(frozen=True)
class Param:
    """One estimator parameter: its name, default and sklearn constraint."""

    name: str
    default: Any
    constraint: list
    keyword_only: bool = True


def _positive_int() -> Interval:
    return Interval(Integral, 1, None, closed="left")


def _deprecated(*constraint) -> list:
    return [*constraint, Hidden(StrOptions({DEPRECATED}))]


#: Architecture options that were flat parameters before ``architecture_params``.
DEPRECATED_ARCHITECTURE = ("n_experts", "expert_sizes", "n_task_experts", "n_levels")

#: The parameters shared by every neural estimator, in signature order.
NET_PARAMS: tuple[Param, ...] = (
    Param("architecture", "shared_bottom", [*ARCHITECTURES.constraint(), torch.nn.Module]),
    Param("hidden_layer_sizes", (64,), ["array-like", _positive_int()]),
    Param("tower_sizes", (), ["array-like", _positive_int()]),
    Param("architecture_params", None, [None, dict]),
    Param("n_experts", DEPRECATED, _deprecated(_positive_int())),
    Param("expert_sizes", DEPRECATED, _deprecated(None, "array-like", _positive_int())),
    Param("n_task_experts", DEPRECATED, _deprecated(_positive_int())),
    Param("n_levels", DEPRECATED, _deprecated(_positive_int())),
    Param("activation", "relu", [*ACTIVATIONS.constraint(), torch.nn.Module]),
    Param("dropout", 0.0, [Interval(Real, 0, 1, closed="left")]),
    Param("loss_weighting", "fixed", [*WEIGHTINGS.constraint(), torch.nn.Module]),
    Param("loss_weighting_params", None, [None, dict]),
    Param("task_weights", None, [None, "array-like", dict]),
    Param("class_weight", None, [None, StrOptions({"balanced"}), dict, list]),
    Param("head_shrinkage", "auto", [Interval(Real, 0, None, closed="left"),
                                     StrOptions({"auto"})]),
    Param("target_scaling", "auto", [StrOptions({"auto", "task", "pooled"})]),
    Param("optimizer", "adam", OPTIMIZERS.constraint()),
    Param("lr", 1e-3, [Interval(Real, 0, None, closed="neither")]),
    Param("weight_decay", 0.0, [Interval(Real, 0, None, closed="left")]),
    Param("batch_size", 128, [_positive_int()]),
    Param("max_epochs", 100, [_positive_int()]),
    Param("early_stopping", "auto", ["boolean", StrOptions({"auto"})]),
    Param("validation_fraction", 0.1, [Interval(Real, 0, 1, closed="neither")]),
    Param("n_iter_no_change", 10, [_positive_int()]),
    Param("tol", 1e-4, [Interval(Real, 0, None, closed="left")]),
    Param("callbacks", None, [None, list]),
    Param("warm_start", False, ["boolean"]),
    Param("init_from", None, [None, HasMethods(["fit"]), torch.nn.Module]),
    Param("freeze_shared", False, ["boolean"]),
    Param("device", "auto", [str, torch.device]),
    Param("random_state", None, ["random_state"]),
    Param("verbose", 0, ["verbose"]),
    Param("task_column", None, [None, str, Integral]),
    Param("unseen_tasks", "auto", [StrOptions({"auto", "error"})]),
    Param("n_threads", "auto", [None, StrOptions({"auto"}), _positive_int()]),
    Param("on_divergence", "raise", [StrOptions({"raise", "keep_last_good"})]),
    Param("accelerator", None, [None, dict, HasMethods(["prepare", "autocast"])]),
)


def constraints(params: Sequence[Param]) -> dict:
    """``_parameter_constraints`` of an estimator with these parameters."""
    return {p.name: p.constraint for p in params}


def make_init(params: Sequence[Param], qualname: str):
    """An ``__init__`` that stores ``params`` (explicit signature, no other logic)."""
    defaults = {p.name: p.default for p in params}
    arguments, star = [], False
    for p in params:
        if p.keyword_only and not star:
            arguments.append("*")
            star = True
        arguments.append(f"{p.name}=_defaults[{p.name!r}]")
    body = "".join(f"    self.{p.name} = {p.name}\n" for p in params)
    source = f"def __init__(self, {', '.join(arguments)}):\n{body}"
    namespace: dict = {}
    exec(source, {"_defaults": defaults}, namespace)  # noqa: S102 - our own fixed template
    init = namespace["__init__"]
    init.__qualname__ = f"{qualname}.__init__"
    return init


def architecture_options(estimator) -> tuple[dict, dict]:
    """``architecture_params``, and the deprecated flat options that were set (with a
    ``FutureWarning`` naming each; as before, they reach only the architectures that take
    them)."""
    legacy = {}
    for name in DEPRECATED_ARCHITECTURE:
        value = getattr(estimator, name)
        if isinstance(value, str) and value == DEPRECATED:
            continue
        warnings.warn(
            f"{name}= is deprecated and will be removed; pass it as "
            f"architecture_params={{{name!r}: {value!r}}} instead.",
            FutureWarning, stacklevel=4,
        )
        legacy[name] = value
    return dict(estimator.architecture_params or {}), legacy
