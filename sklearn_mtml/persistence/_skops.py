"""Whole models (pipelines included) in skops's format, the neural estimators as arrays.

`skops.io <https://skops.readthedocs.io>`_ stores sklearn objects as a zip of JSON and
``.npy`` files and, before it builds anything, checks every type named in the file
against the types trusted by default (sklearn's, numpy's, ...) and those the caller
trusts. It saves other objects through ``__getstate__`` / ``__dict__``. A fitted neural
estimator holds its skorch net (torch modules, an optimizer), which skops cannot store
(``RuntimeError: Cannot directly construct TensorBase``) and which would in any case be
code to run on load. So this module registers with skops one more *node type* for the
package's neural estimators: the estimator is stored as :func:`save_safe` stores it (a
JSON header of plain values, and the weights, the optimizer state and numeric fitted
arrays as ``.npy`` arrays), and rebuilt on load from a fixed list of classes
(``_rebuild_net`` + ``load_state_dict``). The rest of the file (``Pipeline``,
``ColumnTransformer``, scalers, encoders, the linear estimators) is skops's own.

skops has no public API for extra node types; the registration uses
``skops.io._utils._get_state`` (a ``functools.singledispatch``) and
``skops.io._audit.NODE_TYPE_MAPPING`` / ``Node`` / ``get_tree``, tested with skops 0.16.
"""

from __future__ import annotations

import contextvars
import io
import json
import os
import zipfile

import numpy as np

from ._safe import _check_expected, _decode_estimator, _encode_estimator, _estimator_classes

__all__ = ["dump", "load", "trusted_types"]

LOADER = "SklearnMtmlNetNode"
_LOAD_DEVICE: contextvars.ContextVar = contextvars.ContextVar(
    "sklearn_mtml_persistence_device", default="cpu")
_REGISTERED = False


def _skops():
    """``skops.io``, with the neural-estimator node registered."""
    global _REGISTERED
    try:
        import skops.io as sio
        from skops.io._audit import NODE_TYPE_MAPPING
        from skops.io._protocol import PROTOCOL
        from skops.io._utils import _get_state
    except ImportError:  # pragma: no cover - the test extra installs it
        raise ImportError(
            "sklearn_mtml.persistence.dump/load need the skops package: pip install skops "
            "(or pip install 'sklearn-mtml[persist]')"
        ) from None
    if not _REGISTERED:
        from ..neural._base import BaseMultiTaskNet

        _get_state.register(BaseMultiTaskNet)(_net_get_state)
        NODE_TYPE_MAPPING[(LOADER, PROTOCOL)] = _net_node_class()
        _REGISTERED = True
    return sio


def _type_path(cls: type) -> str:
    from skops.io._utils import get_type_name

    return get_type_name(cls)


def _net_get_state(obj, save_context) -> dict:
    from skops.io._utils import get_state

    _, header, tensors = _encode_estimator(obj, "sklearn_mtml.persistence.dump", unfitted=True)
    arrays = {}
    for key, tensor in tensors.items():
        if not tensor.dtype.is_floating_point or tensor.dtype.itemsize >= 4:
            arrays[key] = tensor.numpy()
        else:  # bfloat16 / float16 weights: float32 arrays, cast back by load_state_dict
            arrays[key] = tensor.float().numpy()
    return {
        "__class__": type(obj).__name__,
        "__module__": _type_path(type(obj)).rsplit(".", 1)[0],
        "__loader__": LOADER,
        "content": get_state({"header": header, "arrays": arrays}, save_context),
    }


def _net_node_class():
    from skops.io._audit import Node, get_tree

    class SklearnMtmlNetNode(Node):
        """A neural estimator of sklearn-mtml: a JSON header and numeric arrays."""

        def __init__(self, state, load_context, trusted=None):
            super().__init__(state, load_context, trusted)
            self.content = get_tree(state["content"], load_context, trusted=trusted)
            self.children = {"content": self.content}
            self.trusted = self._get_trusted(
                trusted, default=[_type_path(c) for c in _estimator_classes().values()])

        def _construct(self):
            import torch

            where = f"the {self.class_name} in the file"
            cls = _estimator_classes().get(self.class_name)
            if cls is None or _type_path(cls) != f"{self.module_name}.{self.class_name}":
                raise TypeError(
                    f"the file names {self.module_name}.{self.class_name} as a neural "
                    "estimator of sklearn-mtml; it is not one, so it is not loaded."
                )
            content = self.content.construct()
            header, arrays = content.get("header"), content.get("arrays")
            if not isinstance(header, str) or not isinstance(arrays, dict) or not all(
                    isinstance(a, np.ndarray) and a.dtype.kind in "biuf"
                    for a in arrays.values()):
                raise ValueError(f"{where} is not a header and numeric arrays.")
            if json.loads(header).get("estimator") != self.class_name:
                raise TypeError(f"{where} holds the state of another class.")
            tensors = {k: torch.from_numpy(np.ascontiguousarray(a)) for k, a in arrays.items()}
            return _decode_estimator(header, tensors, _LOAD_DEVICE.get(), where, expected=cls)

    return SklearnMtmlNetNode


def trusted_types() -> list[str]:
    """The package's own types that :func:`load` trusts without being told.

    The classic estimators (``MultiTaskRidge``, ...) and the small helper classes their
    fitted state holds; skops rebuilds them as it rebuilds sklearn's estimators (an empty
    instance and its attributes, no ``__init__`` called). And ``numpy.dtype``, which
    sklearn's ``SimpleImputer`` holds and skops does not trust by default. The neural
    estimators are not in the list: they are trusted only as the node type registered
    here, which builds nothing but them, from plain values and arrays.
    """
    from .._modalities import Modality, ModalityPreprocessor
    from .._targets import TaskLayout
    from ..utils import all_estimators

    nets = set(_estimator_classes().values())
    classes = [cls for _, cls in all_estimators() if cls not in nets]
    classes += [TaskLayout, Modality, ModalityPreprocessor]
    # sklearn's SimpleImputer keeps a numpy dtype instance (``_fit_dtype``), which skops
    # 0.16 stores and loads correctly but does not trust by default (skops issue #224)
    return sorted({_type_path(cls) for cls in classes} | {"numpy.dtype"})


def dump(obj, file, *, compression: int = zipfile.ZIP_DEFLATED, compresslevel=None) -> None:
    """Save a fitted model -- a whole ``Pipeline`` included -- without pickle.

    The file is in `skops <https://skops.readthedocs.io>`_'s format (a zip of JSON and
    ``.npy`` arrays). The package's neural estimators inside it are stored as
    :func:`save_safe` stores them: parameters and fitted state as plain values, the
    weights and the optimizer state as arrays (so ``warm_start`` / ``partial_fit`` on the
    loaded model continue exactly); everything else is stored by skops.

    Parameters
    ----------
    obj : object
        A fitted estimator or pipeline: ``Pipeline([("prep", ColumnTransformer(...)),
        ("net", MultiTaskNetClassifier(...))])``, a linear estimator, a multi-modal
        estimator, a ``GridSearchCV``, ...
    file : str, path-like or binary file object
        Conventionally ``*.skops``.
    compression, compresslevel
        Passed to :class:`zipfile.ZipFile` (default: deflated).

    Raises
    ------
    TypeError
        If a neural estimator holds a parameter or fitted attribute that is not a plain
        value (a callback object, a torch module class): the error names it.
    skops.io.exceptions.UnsupportedTypeException
        If skops cannot store another object of ``obj``.

    See Also
    --------
    load : The way back.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np, pandas as pd
    >>> from sklearn.compose import ColumnTransformer
    >>> from sklearn.pipeline import Pipeline
    >>> from sklearn.preprocessing import OneHotEncoder, StandardScaler
    >>> from sklearn_mtml.neural import MultiTaskNetClassifier
    >>> from sklearn_mtml.persistence import dump, load
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"x": rng.normal(size=60), "c": rng.choice(["a", "b"], 60)})
    >>> y = pd.DataFrame({"up": X["x"] > 0, "is_a": X["c"] == "a"}).astype(int)
    >>> prep = ColumnTransformer([("num", StandardScaler(), ["x"]),
    ...                           ("cat", OneHotEncoder(), ["c"])])
    >>> model = Pipeline([("prep", prep), ("net", MultiTaskNetClassifier(
    ...     max_epochs=3, random_state=0))]).fit(X, y)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.skops")
    >>> dump(model, path)
    >>> loaded = load(path, expected=Pipeline)
    >>> np.array_equal(loaded.predict(X), model.predict(X))
    True
    """
    sio = _skops()
    if isinstance(file, str | os.PathLike):
        sio.dump(obj, os.fspath(file), compression=compression, compresslevel=compresslevel)
    else:
        sio.dump(obj, file, compression=compression, compresslevel=compresslevel)


def load(file, expected, *, trusted=None, device: str = "cpu"):
    """Load a model written by :func:`dump`, checking its type; no pickle, no code from it.

    Parameters
    ----------
    file : str, path-like, bytes or binary file object
    expected : class or tuple of classes
        What the caller expects the file to hold, e.g. ``Pipeline``,
        ``MultiTaskNetClassifier``, or ``sklearn.base.BaseEstimator`` for any estimator.
        The type named at the top of the file is checked first; a file holding anything
        else raises a ``TypeError`` before any object is built (``expected=object``
        accepts anything).
    trusted : list of str or type, default=None
        Types to trust beyond skops's defaults (sklearn's estimators, numpy, ...), the
        package's own (:func:`trusted_types`) and its neural estimators. A file naming
        any other type is refused (``skops.io.exceptions.UntrustedTypesFoundException``,
        which lists them); list the types there only if you trust the file's source.
        ``skops.io.get_untrusted_types(file=...)`` shows them without loading.
    device : str, default="cpu"
        Where to put the networks' weights (as :func:`load_safe`).

    Returns
    -------
    obj : instance of ``expected``
        Predicts exactly as the saved model did (same device type).

    Raises
    ------
    TypeError
        If the file holds something other than ``expected``.
    ValueError
        If the file is not a skops file, or a neural estimator in it is corrupted.
    skops.io.exceptions.UntrustedTypesFoundException
        If the file names a type that is not trusted (e.g. a class of a module the file
        would have imported); nothing is imported or built.

    Notes
    -----
    What is refused is refused before anything is imported: skops reads the types named
    in the file from its JSON and compares them with the trusted ones as strings. The
    neural estimators are then rebuilt only from the package's list of classes. As for
    :func:`load_safe`, a file from a stranger can still hold wrong or adversarial values.
    """
    sio = _skops()
    if expected is None:
        raise TypeError("load needs expected=, the class the file should hold "
                        "(expected=object accepts anything).")
    if isinstance(file, str | os.PathLike):
        with open(file, "rb") as handle:
            data = handle.read()
        where = repr(os.fspath(file))
    elif isinstance(file, bytes | bytearray):
        data, where = bytes(file), "the data"
    else:
        data, where = file.read(), "the file"
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            schema = json.loads(archive.read("schema.json"))
        top = f"{schema['__module__']}.{schema['__class__']}"
    except (zipfile.BadZipFile, KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{where} is not a file written by sklearn_mtml.persistence.dump "
                         f"(or skops.io.dump): {exc!r}") from None
    trusted = list(trusted or ()) + trusted_types()
    _check_top_type(top, expected, where, sio, data, trusted)
    token = _LOAD_DEVICE.set(device)
    try:
        obj = sio.loads(data, trusted=trusted)
    finally:
        _LOAD_DEVICE.reset(token)
    _check_expected(type(obj), expected, where)
    return obj


def _subclasses(cls: type):
    yield cls
    for sub in cls.__subclasses__():
        yield from _subclasses(sub)


def _check_top_type(top: str, expected, where: str, sio, data: bytes, trusted) -> None:
    """Check the file's top-level type against ``expected``, importing nothing untrusted."""
    expected_tuple = expected if isinstance(expected, tuple) else (expected,)
    for base in expected_tuple:
        if base is object:
            return
        if any(_type_path(sub) == top for sub in _subclasses(base)):
            return
    # a class not imported yet: resolve it only if it is trusted (skops would import it)
    from skops.io._utils import get_type_paths

    untrusted = set(sio.get_untrusted_types(data=data)) - set(get_type_paths(trusted))
    if top not in untrusted:
        module, _, name = top.rpartition(".")
        import importlib

        try:
            found = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            found = top
        _check_expected(found, expected, where)
        return
    from ._safe import _type_names

    raise TypeError(
        f"{where} holds a {top}, which is neither a known {_type_names(expected)} nor a "
        "trusted type; nothing was loaded."
    )
