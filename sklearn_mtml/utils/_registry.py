"""One registry pattern for every pluggable family (architectures, fusions, weightings,
optimizers, activations, modality encoders).

A family maps names to factories (usually classes). A parameter of the family accepts a
name (validated with sklearn's ``StrOptions``), a factory (a class or any callable) for
users' own, or an instance of the family's base class. One copy rule: an instance is
deep-copied each time it is used, so the caller's object is never trained or changed and
every fit starts from the same state. One error message names the parameter, the value and
the accepted names.
"""

from __future__ import annotations

import copy
import functools
import inspect
from collections.abc import Callable, Iterator, Mapping

from sklearn.utils._param_validation import StrOptions

__all__ = ["Registry", "declared_options"]


class Registry(Mapping):
    """Names of one pluggable family and their factories.

    Parameters
    ----------
    param : str
        The estimator parameter that takes the family's values (e.g. ``"fusion"``); named in
        error messages.
    base : type or tuple of type
        What an instance must be to be accepted as it is (copied).
    entries : mapping of str to callable, default=None
        The built-in names and their factories.
    instances : bool, default=True
        Whether an instance of ``base`` is accepted (copied at each use).

    Examples
    --------
    >>> from torch import nn
    >>> from sklearn_mtml.utils._registry import Registry
    >>> ACTIVATIONS = Registry("activation", nn.Module, {"relu": nn.ReLU, "tanh": nn.Tanh})
    >>> ACTIVATIONS.build("tanh")
    Tanh()
    >>> ACTIVATIONS.build(nn.GELU)
    GELU(approximate='none')
    >>> ACTIVATIONS.build("swish")
    Traceback (most recent call last):
    ...
    ValueError: Unknown activation 'swish'; valid names are ['relu', 'tanh'] (or pass a class \
or factory, or an instance of Module).
    """

    def __init__(self, param: str, base: type | tuple[type, ...],
                 entries: Mapping[str, Callable] | None = None, *,
                 instances: bool = True) -> None:
        self.param = param
        self.base = base if isinstance(base, tuple) else (base,)
        self.instances = instances
        self._entries: dict[str, Callable] = dict(entries or {})

    # --------------------------------------------------------------- mapping
    def __getitem__(self, name: str) -> Callable:
        return self._entries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.param!r}, {sorted(self._entries)})"

    def register(self, name: str, factory: Callable | None = None):
        """Add ``factory`` under ``name`` (usable as a class decorator)."""
        if factory is None:
            return lambda f: self.register(name, f)
        if name in self._entries and self._entries[name] is not factory:
            raise ValueError(f"{self.param} {name!r} is already registered.")
        self._entries[name] = factory
        return factory

    # --------------------------------------------------------------- parameters
    def constraint(self) -> list:
        """The ``_parameter_constraints`` entry of the family's parameter."""
        return [StrOptions(set(self._entries)), callable]

    def _error(self, spec) -> ValueError | TypeError:
        """ValueError for an unknown name, TypeError for a value of the wrong kind."""
        names = sorted(self._entries)
        kinds = "a class or factory"
        if self.instances:
            kinds += f", or an instance of {' or '.join(b.__name__ for b in self.base)}"
        if isinstance(spec, str):
            return ValueError(f"Unknown {self.param} {spec!r}; valid names are {names} "
                              f"(or pass {kinds}).")
        return TypeError(f"{self.param} must be a name in {names}, {kinds}; got {spec!r}.")

    def check(self, spec) -> None:
        """Raise the family's ``ValueError`` unless ``spec`` is an accepted value."""
        self.lookup(spec)

    def lookup(self, spec):
        """What ``spec`` stands for: a name's factory, a factory, or an instance (uncopied)."""
        if isinstance(spec, str):
            try:
                return self._entries[spec]
            except KeyError:
                raise self._error(spec) from None
        if isinstance(spec, self.base):
            if not self.instances:
                raise self._error(spec)
            return spec
        if _is_factory(spec):
            return spec
        raise self._error(spec)

    def check_options(self, spec, options, param: str, reserved=()) -> None:
        """Raise a ``ValueError`` naming ``param`` and the valid keys if ``options`` (a
        ``*_params`` dict) has a key the factory behind ``spec`` does not take.

        ``reserved`` are the arguments the estimator passes itself (not the user's to set).
        Nothing is checked for an instance (it is already built: ``options`` must then be
        empty) or a factory that takes ``**kwargs``.
        """
        if not options:
            return
        factory = self.lookup(spec)
        if isinstance(factory, self.base) and not isinstance(factory, type):
            raise ValueError(f"{param} cannot be combined with an instance as {self.param}; "
                             "give them to its constructor.")
        accepted = declared_options(factory)
        if accepted is None:
            return
        valid = sorted(accepted - set(reserved) - {"self"})
        unknown = sorted(set(options) - set(valid))
        if unknown:
            raise ValueError(
                f"{param} has {unknown}, which {self.param}={spec!r} does not take; valid "
                f"keys are {valid}."
            )

    def fresh(self, spec):
        """``spec`` itself, or a deep copy of it if it is an instance (the copy rule)."""
        target = self.lookup(spec)
        if target is spec and isinstance(spec, self.base) and not isinstance(spec, type):
            return copy.deepcopy(spec)
        return spec

    def build(self, spec, *args, **kwargs):
        """A fresh object: the factory called with ``args, kwargs``, or a copy of an instance.

        ``args`` and ``kwargs`` are ignored for an instance (it is already built).
        """
        target = self.lookup(spec)
        if isinstance(target, self.base) and not isinstance(target, type):
            return copy.deepcopy(target)
        return target(*args, **kwargs)


def _is_factory(spec) -> bool:
    """A class, a function or a ``functools.partial`` (not any callable object: a module
    instance of another family is callable too, and must be refused)."""
    return (isinstance(spec, type) or inspect.isroutine(spec)
            or isinstance(spec, functools.partial))


def declared_options(factory) -> set[str] | None:
    """Keyword options ``factory`` declares (``None``: it takes any, ``**kwargs``)."""
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        return None
    if any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values()):
        return None
    return set(signature.parameters)
