"""Save and load neural estimators without executing code (safetensors + JSON).

``pickle`` / ``joblib`` files run code when they are loaded: never load one from a source
you do not trust. :func:`save_safe` writes a fitted neural estimator to one
`safetensors <https://huggingface.co/docs/safetensors>`_ file instead:

* the network's weights (and the loss-balancing parameters) as tensors;
* the estimator's parameters and its fitted non-tensor state (task names, classes, target
  scaling, modality specs, category levels, text vocabularies) as JSON in the file's
  header, numeric arrays as further tensors;
* the optimizer's state (e.g. Adam's moment estimates), so that ``warm_start`` /
  ``partial_fit`` on the loaded model continue the training exactly as on the saved one;
* a SHA-256 digest of all of it, checked at load time.

:func:`load_safe` parses the header as JSON, rebuilds only classes from a fixed list (the
package's neural estimators and the few preprocessing classes they hold) and never
imports a module named in the file or unpickles anything. State that is not made of plain
values (a custom callback, a user's torch module class, an ``init_from`` estimator) is
refused at save time with an error naming it, rather than pickled.

The digest catches truncation and accidental corruption; it is not a signature: someone
who can write the file can also rewrite the digest. What such a file can still do is limited
to what its values can do (wrong weights, wrong labels), not running code.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

__all__ = ["load_safe", "save_safe"]

FORMAT = "sklearn-mtml-safe"
VERSION = 1

_MODULE_PREFIX = "module."
_CRITERION_PREFIX = "criterion."
_STATE_PREFIX = "state."
_REBUILT = ("net_", "history_", "device_")


def _safetensors():
    try:
        import safetensors
        import safetensors.torch
    except ImportError:  # pragma: no cover - the test extra installs it
        raise ImportError(
            "sklearn_mtml.persistence needs the safetensors package: pip install safetensors"
        ) from None
    return safetensors


def _allowed_classes() -> dict[str, type]:
    """The only classes a file may name (never looked up by module path)."""
    from sklearn.feature_extraction.text import (
        HashingVectorizer,
        TfidfTransformer,
        TfidfVectorizer,
    )

    from .._modalities import Modality, ModalityPreprocessor
    from .._targets import TaskLayout

    return {cls.__name__: cls for cls in (
        TaskLayout, Modality, ModalityPreprocessor, TfidfVectorizer, TfidfTransformer,
        HashingVectorizer,
    )}


def _estimator_classes() -> dict[str, type]:
    from ..neural._base import BaseMultiTaskNet
    from ..utils import all_estimators

    return {name: cls for name, cls in all_estimators() if issubclass(cls, BaseMultiTaskNet)}


# ----------------------------------------------------------------------------- encoding
class _Encoder:
    """Plain-typed JSON tree; numeric arrays go to ``tensors`` (by reference)."""

    def __init__(self) -> None:
        self.tensors: dict = {}
        self.allowed = _allowed_classes()

    def __call__(self, value, where: str):
        import torch

        if value is None or isinstance(value, bool | int | float | str):
            return value
        if isinstance(value, np.generic) and not isinstance(value, np.void):
            return value.item()
        if isinstance(value, tuple):
            return {"__tuple__": [self(v, f"{where}[{i}]") for i, v in enumerate(value)]}
        if isinstance(value, list):
            return [self(v, f"{where}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, dict):
            return {"__dict__": [[self(k, f"{where} key"), self(v, f"{where}[{k!r}]")]
                                 for k, v in value.items()]}
        if isinstance(value, np.ndarray):
            if value.dtype.kind in "biuf":
                key = f"{_STATE_PREFIX}{len(self.tensors)}"
                self.tensors[key] = torch.from_numpy(np.ascontiguousarray(value).copy())
                return {"__array__": key}
            if value.dtype.kind in "OU":
                return {"__objarray__": [self(v, f"{where}[{i}]")
                                         for i, v in enumerate(value.ravel().tolist())],
                        "dtype": value.dtype.str, "shape": list(value.shape)}
        if isinstance(value, pd.Index) and value.dtype == object:
            return {"__index__": self(value.to_numpy(dtype=object), where)}
        if isinstance(value, torch.device):
            return {"__device__": str(value)}
        if isinstance(value, type) and issubclass(value, np.generic):
            return {"__dtype__": np.dtype(value).name}
        name = type(value).__name__
        if self.allowed.get(name) is type(value):
            if dataclasses.is_dataclass(value):
                fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
            else:
                fields = vars(value)
            return {"__object__": name,
                    "fields": {k: self(v, f"{where}.{k}") for k, v in fields.items()}}
        raise TypeError(
            "sklearn_mtml.persistence stores plain values only, but "
            f"{where} is a {type(value).__name__}; "
            "it would need pickle (code execution on load). Use pickle/joblib for such a "
            "model, or drop that object before saving."
        )


def _decode(value, tensors: Mapping, allowed: dict):
    if isinstance(value, list):
        return [_decode(v, tensors, allowed) for v in value]
    if not isinstance(value, dict):
        return value
    if "__tuple__" in value:
        return tuple(_decode(v, tensors, allowed) for v in value["__tuple__"])
    if "__dict__" in value:
        return {_decode(k, tensors, allowed): _decode(v, tensors, allowed)
                for k, v in value["__dict__"]}
    if "__array__" in value:
        return tensors[value["__array__"]].numpy().copy()
    if "__objarray__" in value:
        items = [_decode(v, tensors, allowed) for v in value["__objarray__"]]
        dtype = np.dtype(value["dtype"])
        if dtype.kind not in "OU":
            raise ValueError(f"unexpected array dtype {dtype}")
        out = np.empty(len(items), dtype=dtype)
        out[:] = items
        return out.reshape(value["shape"])
    if "__index__" in value:
        return pd.Index(_decode(value["__index__"], tensors, allowed), dtype=object)
    if "__device__" in value:
        import torch

        return torch.device(value["__device__"])
    if "__dtype__" in value:
        return np.dtype(value["__dtype__"]).type
    if "__object__" in value:
        cls = allowed[value["__object__"]]  # KeyError: not an allowed class
        fields = {k: _decode(v, tensors, allowed) for k, v in value["fields"].items()}
        if dataclasses.is_dataclass(cls):
            return cls(**fields)
        obj = cls.__new__(cls)
        obj.__dict__.update(fields)
        return obj
    raise ValueError(f"unknown entry {sorted(value)[:3]}")


def _digest(tensors: Mapping, header: str) -> str:
    import torch

    h = hashlib.sha256(header.encode())
    for key in sorted(tensors):
        t = tensors[key]
        h.update(f"{key}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def _encode_estimator(estimator, who: str, unfitted: bool = False) -> tuple[str, str, dict]:
    """``(class name, JSON header, {name: CPU tensor})`` of a fitted neural estimator.

    With ``unfitted=True`` an estimator that is not fitted (e.g. ``GridSearchCV``'s
    template) is stored as its parameters alone.
    """
    from sklearn.utils.validation import check_is_fitted

    classes = _estimator_classes()
    name = type(estimator).__name__
    if classes.get(name) is not type(estimator):
        raise TypeError(
            f"{who} saves the neural estimators {sorted(classes)}; got {name}. For a "
            "Pipeline or any other estimator use sklearn_mtml.persistence.dump(obj, path) "
            "and load(path, expected=...) (skops format, no pickle)."
        )
    encode = _Encoder()
    params = {k: encode(v, f"parameter {k!r}")
              for k, v in estimator.get_params(deep=False).items()}
    if unfitted and not hasattr(estimator, "net_"):
        header = json.dumps({"estimator": name, "params": params, "unfitted": True},
                            sort_keys=True)
        return name, header, dict(encode.tensors)
    check_is_fitted(estimator, "net_")
    state = {}
    for key, value in vars(estimator).items():
        fitted = key.endswith("_") and not key.startswith("__")
        if (fitted or key == "_task_layout") and key not in _REBUILT:
            state[key] = encode(value, f"fitted attribute {key!r}")
    history = encode([dict(row) for row in estimator.history_], "history_")
    optimizer = getattr(estimator.net_.optimizer_, "optimizer", estimator.net_.optimizer_)
    optimizer_state = encode(_to_numpy(optimizer.state_dict()), "the optimizer state")
    tensors = {_MODULE_PREFIX + k: v.detach().cpu().contiguous().clone()
               for k, v in estimator.net_.module_.state_dict().items()}
    tensors.update({_CRITERION_PREFIX + k: v.detach().cpu().contiguous().clone()
                    for k, v in estimator.net_.criterion_.state_dict().items()})
    tensors.update(encode.tensors)
    header = json.dumps({"estimator": name, "params": params, "state": state,
                         "history": history, "optimizer": optimizer_state}, sort_keys=True)
    return name, header, tensors


def _check_expected(found: type, expected, where: str) -> None:
    """Raise a ``TypeError`` unless the class ``found`` is (a subclass of) ``expected``."""
    if expected is None:
        return
    if not isinstance(found, type) or not issubclass(found, expected):
        raise TypeError(
            f"{where} holds a {getattr(found, '__name__', found)}, not the expected "
            f"{_type_names(expected)}; nothing was loaded."
        )


def _type_names(expected) -> str:
    if isinstance(expected, tuple):
        return " or ".join(_type_names(e) for e in expected)
    return getattr(expected, "__name__", repr(expected))


def _check_state_fits(cls: type, state: dict, where: str) -> None:
    """A classifier's fitted state under a regressor's name (or the reverse) is refused."""
    from sklearn.base import ClassifierMixin, RegressorMixin

    kinds = set(getattr(state.get("_task_layout"), "task_types", None) or ())
    wanted = ("classification" if issubclass(cls, ClassifierMixin)
              else "regression" if issubclass(cls, RegressorMixin) else None)
    if wanted is None or not kinds:
        return
    if kinds != {wanted} or (wanted == "classification") != ("classes_" in state):
        raise ValueError(
            f"{where} names the class {cls.__name__} but holds the fitted state of a model "
            f"with {sorted(kinds)} tasks; it is not loaded."
        )


def _decode_estimator(header: str, tensors: Mapping, device, where: str, expected=None):
    """Rebuild a fitted neural estimator from :func:`_encode_estimator`'s output."""
    import torch
    from skorch.history import History

    try:
        content = json.loads(header)
        name = content["estimator"]
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{where} has an invalid header: {exc!r}") from None
    classes = _estimator_classes()
    if expected is not None and name not in classes:
        raise TypeError(
            f"{where} names the class {name!r}, which is not one of the estimators it may "
            f"hold ({sorted(classes)}), not the expected {_type_names(expected)}; nothing "
            "was loaded."
        )
    if name in classes:
        _check_expected(classes[name], expected, where)
    try:
        cls = classes[name]
        allowed = _allowed_classes()
        params = {k: _decode(v, tensors, allowed) for k, v in content["params"].items()}
        if content.get("unfitted") is True:  # parameters only
            state, history, optimizer_state = {}, None, None
        else:
            state = {k: _decode(v, tensors, allowed) for k, v in content["state"].items()}
            history = _decode(content["history"], tensors, allowed)
            # files of earlier versions have no optimizer state: a fresh optimizer then
            optimizer_state = _decode(content.get("optimizer"), tensors, allowed)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"{where} has an invalid header: {exc!r}") from None

    if content.get("unfitted") is True:  # a template: its parameters, as they were
        try:
            return cls(**params)
        except TypeError as exc:
            raise ValueError(f"{where} has an invalid header: {exc!r}") from None
    saved_device = params.get("device", "auto")
    if (isinstance(saved_device, str) and saved_device.startswith("cuda")
            and not torch.cuda.is_available()):
        warnings.warn(f"{where} was saved with device={saved_device!r}; CUDA is not "
                      "available, so the model is loaded with device='cpu'.", UserWarning,
                      stacklevel=3)
        params["device"] = "cpu"
    _check_state_fits(cls, state, where)
    target = torch.device(device)
    try:
        estimator = cls(**params)
        for key, value in state.items():
            setattr(estimator, key, value)
        net = estimator._rebuild_net(target)
    except (AttributeError, KeyError, TypeError, ValueError, IndexError) as exc:
        # e.g. the fitted state of another class under this class's name
        raise ValueError(
            f"{where}: its fitted state does not make a {name}: {exc!r}"
        ) from None
    try:
        net.module_.load_state_dict(_strip(tensors, _MODULE_PREFIX), strict=True)
        net.criterion_.load_state_dict(_strip(tensors, _CRITERION_PREFIX), strict=True)
    except RuntimeError as exc:
        raise ValueError(f"{where}: the weights do not fit the network: {exc}") from None
    net.module_.to(target)
    net.criterion_.to(target)
    if optimizer_state is not None:
        try:
            net.optimizer_.load_state_dict(_to_torch(optimizer_state))
        except (KeyError, RuntimeError, TypeError, ValueError) as exc:
            raise ValueError(
                f"{where}: the optimizer state does not fit the network: {exc!r}"
            ) from None
    net.history = History(history)
    estimator.net_ = net
    estimator.history_ = net.history
    estimator.device_ = target
    return estimator


# ----------------------------------------------------------------------------- public API
def save_safe(estimator, path: str | os.PathLike) -> None:
    """Save a fitted neural estimator to a safetensors file (no pickle).

    Parameters
    ----------
    estimator : fitted neural estimator
        ``MultiTaskNetRegressor``, ``MultiTaskNetClassifier``, ``MultiTaskNet``,
        ``MultiModalClassifier`` or ``MultiModalRegressor``.
    path : str or path-like
        Where to write (conventionally ``*.safetensors``).

    Raises
    ------
    TypeError
        If the estimator is not one of the above, or a parameter or fitted attribute is not
        a plain value (e.g. a callback object or a custom module class): the error names it.
    sklearn.exceptions.NotFittedError
        If the estimator is not fitted.

    Notes
    -----
    Weights are moved to the CPU before writing, so a model trained on a GPU loads on a
    machine without one. The optimizer state is saved too: ``warm_start`` / ``partial_fit``
    on the loaded model continue as they would on the saved one (the state of early
    stopping's patience counter is not kept; it restarts at each ``fit`` anyway).

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from sklearn_mtml.neural import MultiTaskNetRegressor
    >>> from sklearn_mtml.persistence import load_safe, save_safe
    >>> X = np.random.default_rng(0).normal(size=(50, 3)); Y = X[:, :2] * 2
    >>> model = MultiTaskNetRegressor(max_epochs=3, random_state=0).fit(X, Y)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
    >>> save_safe(model, path)
    >>> np.array_equal(load_safe(path).predict(X), model.predict(X))
    True
    """
    save_file = _safetensors().torch.save_file

    name, header, tensors = _encode_estimator(estimator, "save_safe")
    metadata = {"format": FORMAT, "version": str(VERSION), "content": header,
                "sha256": _digest(tensors, header)}
    save_file(tensors, os.fspath(path), metadata=metadata)


def load_safe(path: str | os.PathLike, device: str = "cpu", *, expected=None):
    """Load an estimator written by :func:`save_safe`, executing no code from the file.

    Parameters
    ----------
    path : str or path-like
    device : str, default="cpu"
        Where to put the weights (``"cpu"``, ``"cuda"``, ...). A model saved with
        ``device="cuda"`` gets ``device="cpu"`` (with a warning) when CUDA is not
        available here.
    expected : class or tuple of classes, default=None
        The class the caller expects, e.g. ``MultiTaskNetClassifier`` (a base class such
        as ``sklearn_mtml.neural.MultiTaskNetRegressor`` or ``sklearn.base.BaseEstimator``
        is fine). The class named in the file's header is checked against it before
        anything is built. ``None`` accepts any of the neural estimators.

    Returns
    -------
    estimator : fitted neural estimator
        Predicts exactly as the saved one did (same device type).

    Raises
    ------
    ValueError
        If the file is not a save_safe file, is truncated, its content does not match
        its digest (corrupted or edited), or its header or fitted state is not one of a
        neural estimator.
    TypeError
        If the file holds another class than ``expected``.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from sklearn_mtml.neural import MultiTaskNetClassifier
    >>> from sklearn_mtml.persistence import load_safe, save_safe
    >>> X = np.random.default_rng(0).normal(size=(50, 3))
    >>> y = np.where(X[:, 0] > 0, "up", "down")
    >>> clf = MultiTaskNetClassifier(max_epochs=3, random_state=0).fit(X, y)
    >>> path = os.path.join(tempfile.mkdtemp(), "clf.safetensors")
    >>> save_safe(clf, path)
    >>> list(load_safe(path, expected=MultiTaskNetClassifier).classes_)
    ['down', 'up']
    """
    safetensors = _safetensors()
    SafetensorError, safe_open = safetensors.SafetensorError, safetensors.safe_open
    load_file = safetensors.torch.load_file

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(path)
    try:
        with safe_open(path, framework="pt", device="cpu") as handle:
            metadata = handle.metadata() or {}
        tensors = load_file(path, device="cpu")
    except (SafetensorError, OSError, RuntimeError, ValueError) as exc:
        raise ValueError(
            f"{path!r} is not a readable sklearn-mtml safe file (truncated or corrupted?): "
            f"{exc}"
        ) from None
    if metadata.get("format") != FORMAT:
        raise ValueError(f"{path!r} was not written by sklearn_mtml.persistence.save_safe.")
    if metadata.get("version") != str(VERSION):
        raise ValueError(
            f"{path!r} has format version {metadata.get('version')!r}; this version of "
            f"sklearn-mtml reads version {VERSION}."
        )
    header = metadata.get("content", "")
    if _digest(tensors, header) != metadata.get("sha256"):
        raise ValueError(
            f"{path!r} does not match its SHA-256 digest: the file was corrupted or edited."
        )
    return _decode_estimator(header, tensors, device, repr(path), expected)


def _to_numpy(tree):
    """An optimizer's ``state_dict`` with its tensors as numpy arrays (on the CPU)."""
    import torch

    if isinstance(tree, torch.Tensor):
        tensor = tree.detach().cpu()
        if tensor.dtype == torch.bfloat16:  # no numpy dtype; loading casts it back
            tensor = tensor.float()
        return tensor.numpy()
    if isinstance(tree, dict):
        return {k: _to_numpy(v) for k, v in tree.items()}
    if isinstance(tree, list | tuple):
        return type(tree)(_to_numpy(v) for v in tree)
    return tree


def _to_torch(tree):
    """The inverse of :func:`_to_numpy`."""
    import torch

    if isinstance(tree, np.ndarray):
        return torch.from_numpy(tree)
    if isinstance(tree, dict):
        return {k: _to_torch(v) for k, v in tree.items()}
    if isinstance(tree, list | tuple):
        return type(tree)(_to_torch(v) for v in tree)
    return tree


def _strip(tensors: Mapping, prefix: str) -> dict:
    return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
