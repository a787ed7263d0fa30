"""Modality specification: which columns form which modality, and of which kind.

:func:`resolve_modalities` turns a ``modalities`` spec into :class:`Modality` objects; what
a kind means (presence, raw data, checks, declared columns) is asked of its block class in
:data:`~sklearn_mtml._modalities._blocks.MODALITY_BLOCKS`. No torch.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ._blocks import ModalityBlock, block_class
from ._frame import _holds_arrays, _split_numeric, _text_inference, as_frame

__all__ = [
    "DEFAULT_MODALITY",
    "Modality",
    "presence_mask",
    "resolve_modalities",
    "fit_modalities",
    "validate_modality_X",
]

#: Name of the single modality made by ``modalities=None``.
DEFAULT_MODALITY = "X"

#: How many unused column names the warning of :func:`fit_modalities` shows.
_SHOWN_UNUSED = 10


@dataclass(frozen=True)
class Modality:
    """One resolved modality: its columns and how they are encoded.

    Attributes
    ----------
    name : str
        The modality's name (a key of ``modalities``).
    kind : str
        A name in :data:`~sklearn_mtml._modalities.MODALITY_BLOCKS`.
    columns : tuple
        Column labels of ``X`` (positions when ``X`` was an array).
    positions : tuple of int
        Column positions in ``X`` (used at predict time).
    numeric : tuple of int
        Positions (inside ``positions``) of the numeric columns ("numeric", "tabular").
    categorical : tuple of int
        Positions (inside ``positions``) of the categorical columns.
    image_shape : tuple of int or None
        ``(C, H, W)`` for image modalities.
    array_column : bool
        Image modality stored as one column of arrays (rather than pixel columns).
    """

    name: str
    kind: str
    columns: tuple
    positions: tuple
    numeric: tuple = ()
    categorical: tuple = ()
    image_shape: tuple | None = None
    array_column: bool = False

    def frame(self, X: pd.DataFrame) -> pd.DataFrame:
        """The modality's columns of ``X`` (selected by position)."""
        return X.iloc[:, list(self.positions)]

    def present(self, X: pd.DataFrame) -> np.ndarray:
        """Boolean presence of the modality in each row of ``X``."""
        return self.block_class().present(self, self.frame(X))

    def raw(self, X: pd.DataFrame):
        """The modality's data in the plain form sklearn estimators take.

        ``"numeric"`` and ``"image"``: float array (images flattened, NaN kept);
        ``"categorical"``: object array; ``"tabular"``: the DataFrame of its columns;
        ``"text"``: 1-D object array of strings (absent = ``""``).
        """
        return self.block_class().raw(self, self.frame(X))

    def block_class(self) -> type[ModalityBlock]:
        """The :class:`~sklearn_mtml._modalities.ModalityBlock` subclass of the kind."""
        return block_class(self.kind, self.name)


# ----------------------------------------------------------------------------- spec
def _resolve_key(X: pd.DataFrame, key, name: str) -> int:
    columns = X.columns
    if not isinstance(key, numbers.Integral | str) and not np.isscalar(key):
        raise ValueError(
            f"Modality {name!r}: {key!r} is not a column name, position or slice."
        )
    if key in columns:
        loc = columns.get_loc(key)
        if not isinstance(loc, numbers.Integral):
            raise ValueError(f"Modality {name!r}: column {key!r} appears more than once in X.")
        return int(loc)
    if isinstance(key, numbers.Integral) and not isinstance(key, bool):
        if -len(columns) <= key < len(columns):
            return int(key) % len(columns)
        raise ValueError(
            f"Modality {name!r}: column position {key} is out of range; X has "
            f"{len(columns)} columns."
        )
    shown = [str(c) for c in list(columns)[:20]]
    raise ValueError(
        f"Modality {name!r}: column {key!r} is not a column of X. Columns are: {shown}."
    )


def _resolve_columns(X: pd.DataFrame, spec, name: str) -> list[int]:
    if isinstance(spec, slice):
        # integer bounds are positions (like ``iloc``); labels are inclusive (like ``loc``)
        ints = all(s is None or isinstance(s, numbers.Integral) for s in (spec.start, spec.stop))
        if ints:
            return list(range(X.shape[1]))[spec]
        start = None if spec.start is None else _resolve_key(X, spec.start, name)
        stop = None if spec.stop is None else _resolve_key(X, spec.stop, name) + 1
        return list(range(X.shape[1]))[slice(start, stop, spec.step)]
    if isinstance(spec, str) or np.isscalar(spec):
        return [_resolve_key(X, spec, name)]
    if isinstance(spec, pd.Index | np.ndarray | Sequence):
        return [_resolve_key(X, key, name) for key in list(spec)]
    raise ValueError(
        f"Modality {name!r}: columns must be names, positions, a slice or a string; "
        f"got {type(spec).__name__}."
    )


def _parse_type(name: str, value) -> tuple[str | None, tuple | None]:
    """``modality_types`` entry -> (declared kind or None, shape or None)."""
    shape = None
    if isinstance(value, tuple | list) and len(value) == 2 and not isinstance(value[1], str):
        value, shape = value
    if value is None:
        return None, None
    block = block_class(value, name)
    if shape is not None:
        shape = block.parse_shape(name, shape)
    return value, shape


def _infer_kind(X: pd.DataFrame, positions: list[int], name: str, declared):
    """Return (kind, numeric positions, categorical positions) of a modality."""
    kind, numeric, categorical, _ = _infer_kind_noted(X, positions, name, declared)
    return kind, numeric, categorical


def _infer_kind_noted(X: pd.DataFrame, positions: list[int], name: str, declared):
    """:func:`_infer_kind` plus why the text / categorical call is ambiguous (or ``None``)."""
    if declared is not None:
        return (declared,
                *block_class(declared, name).declared_columns(X, positions, name), None)
    numeric, categorical = _split_numeric(X, positions)
    if not categorical:
        return "numeric", numeric, (), None
    if len(positions) == 1:
        series = X.iloc[:, positions[0]]
        if _holds_arrays(series):
            return "image", (), (), None
        if not isinstance(series.dtype, pd.CategoricalDtype):
            text, note = _text_inference(series)
            if text:
                return "text", (), (), note
            return "categorical", (), categorical, note
    if not numeric:
        return "categorical", (), categorical, None
    return "tabular", numeric, categorical, None


def resolve_modalities(X, modalities=None, modality_types=None) -> list[Modality]:
    """Resolve a ``modalities`` spec on ``X`` and infer each modality's type.

    Parameters
    ----------
    X : DataFrame or array-like of shape (n_samples, n_columns)
    modalities : dict of {str: columns} or None
        Columns of each modality: names, positions, a slice, or one name. ``None``: all
        columns form one modality named ``"X"``. A slice of integers selects positions
        (``iloc``, stop excluded); a slice of names selects labels (``loc``, stop included).
    modality_types : dict of {str: str or (str, shape)} or None
        Overrides of the inferred type, e.g. ``{"review": "text"}`` or
        ``{"digits": ("image", (8, 8))}``.

    Returns
    -------
    modalities : list of Modality
        In the order of the spec.

    Raises
    ------
    ValueError
        Naming the modality and column: a column that is not in ``X``, a column in two
        modalities, an empty modality, an unknown type, an image shape that does not match.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn_mtml._modalities import resolve_modalities
    >>> X = pd.DataFrame({"age": [30, 40], "city": ["a", "b"],
    ...                   "review": ["great fit and soft", "runs small, sent back"]})
    >>> [(m.name, m.kind) for m in resolve_modalities(
    ...     X, {"tab": ["age", "city"], "text": "review"})]
    [('tab', 'tabular'), ('text', 'text')]
    >>> resolve_modalities(X, {"a": ["age"], "b": ["age", "city"]})
    Traceback (most recent call last):
    ...
    ValueError: Column 'age' is in two modalities, 'a' and 'b'; a column belongs to one modality.
    """
    return _resolve(X, modalities, modality_types)[0]


def _resolve(X, modalities, modality_types) -> tuple[list[Modality], dict[str, str]]:
    """:func:`resolve_modalities`, plus per modality whose inferred type is a close call
    (text or categorical) the reason."""
    X = as_frame(X)
    if modalities is None:
        modalities = {DEFAULT_MODALITY: slice(None)}
    if not isinstance(modalities, Mapping) or len(modalities) == 0:
        raise ValueError(
            "modalities must be a non-empty dict {name: columns}, got "
            f"{type(modalities).__name__}."
        )
    modality_types = {} if modality_types is None else dict(modality_types)
    unknown = [k for k in modality_types if k not in modalities]
    if unknown:
        raise ValueError(
            f"modality_types names unknown modality(ies) {unknown}; modalities are "
            f"{list(modalities)}."
        )
    owner: dict[int, str] = {}
    out, notes = [], {}
    for name, spec in modalities.items():
        if not isinstance(name, str):
            raise ValueError(f"Modality names must be strings, got {name!r}.")
        positions = _resolve_columns(X, spec, name)
        if not positions:
            raise ValueError(f"Modality {name!r} has no columns.")
        if len(set(positions)) != len(positions):
            raise ValueError(f"Modality {name!r} lists a column more than once.")
        for pos in positions:
            if pos in owner:
                raise ValueError(
                    f"Column {X.columns[pos]!r} is in two modalities, {owner[pos]!r} and "
                    f"{name!r}; a column belongs to one modality."
                )
            owner[pos] = name
        declared, shape = _parse_type(name, modality_types.get(name))
        kind, numeric, categorical, note = _infer_kind_noted(X, positions, name, declared)
        if note is not None:
            notes[name] = note
        out.append(
            Modality(
                name=name,
                kind=kind,
                columns=tuple(X.columns[p] for p in positions),
                positions=tuple(positions),
                numeric=numeric,
                categorical=categorical,
                **block_class(kind, name).layout(X, positions, name, shape),
            )
        )
    return out, notes


def presence_mask(X, modalities: Sequence[Modality]) -> np.ndarray:
    """Boolean ``(n_samples, n_modalities)``: is each modality present in each row.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sklearn_mtml._modalities import presence_mask, resolve_modalities
    >>> X = pd.DataFrame({"a": [1.0, np.nan], "b": [np.nan, np.nan], "t": ["hi there", " "]})
    >>> mods = resolve_modalities(X, {"num": ["a", "b"], "txt": "t"}, {"txt": "text"})
    >>> presence_mask(X, mods)
    array([[ True,  True],
           [False, False]])
    """
    X = as_frame(X)
    if not modalities:
        return np.ones((len(X), 0), dtype=bool)
    return np.column_stack([m.present(X) for m in modalities])


def validate_modality_X(estimator, X, reset: bool) -> pd.DataFrame:
    """``convert_X`` hook of the multi-modal estimators.

    Returns ``X`` as a DataFrame and sets nothing. At predict (``reset=False``) also checks
    that ``X`` still has the fitted columns and that each modality's values suit its kind;
    at fit, :func:`fit_modalities` resolves and checks the modalities.
    """
    if sp.issparse(X):
        raise TypeError(
            f"Sparse data was passed to {type(estimator).__name__}, but dense data is "
            "required: sparse input is not supported (pass a DataFrame or a dense array)."
        )
    frame = as_frame(X)
    if frame.shape[1] == 0:
        raise ValueError(
            f"Found array with 0 feature(s) (shape={frame.shape}) while a minimum of 1 is "
            f"required by {type(estimator).__name__}."
        )
    if reset:
        return frame
    mods = estimator.modalities_
    needed = max(max(m.positions) for m in mods) + 1
    if frame.shape[1] < needed:
        raise ValueError(
            f"X has {frame.shape[1]} columns, but {type(estimator).__name__} was fitted "
            f"with {needed}."
        )
    for m in mods:
        m.block_class().check(m, m.frame(frame))
    return frame


def fit_modalities(estimator, frame: pd.DataFrame) -> list[Modality]:
    """The modalities of ``estimator.modalities`` / ``modality_types`` on a fit's ``X``
    (from ``validate_modality_X``), checked; the estimator records them.

    Warns (``UserWarning``, once per call, i.e. per fit) when columns of ``X`` belong to no
    modality (they are not used; ``modalities=None`` uses every column), and for each
    modality whose type was inferred as ``"text"`` or ``"categorical"`` on ambiguous
    evidence (see :func:`~sklearn_mtml._modalities._frame._text_inference`); a type given in
    ``modality_types`` is never questioned.
    """
    mods, notes = _resolve(frame, estimator.modalities, estimator.modality_types)
    for m in mods:
        m.block_class().check(m, m.frame(frame))
    if len(frame) and not any(m.present(frame).any() for m in mods):
        raise ValueError("Every modality is absent in every row of X: nothing to learn from.")
    who = type(estimator).__name__
    _warn_unused_columns(who, frame, mods)
    for m in mods:
        if m.name in notes:
            other, meaning = (("categorical", "a category") if m.kind == "text"
                              else ("text", "free text"))
            warnings.warn(
                f"{who}: modality {m.name!r} (column {m.columns[0]!r}) could be text or "
                f"categorical: {notes[m.name]}. It is encoded as {m.kind!r}; if it is "
                f"{meaning}, set modality_types={{{m.name!r}: {other!r}}} (declaring its "
                "type also silences this warning).",
                UserWarning, stacklevel=2,
            )
    return mods


def _warn_unused_columns(who: str, frame: pd.DataFrame, mods: Sequence[Modality]) -> None:
    used = {p for m in mods for p in m.positions}
    unused = [c for p, c in enumerate(frame.columns) if p not in used]
    if not unused:
        return
    shown = ", ".join(repr(c) for c in unused[:_SHOWN_UNUSED])
    if len(unused) > _SHOWN_UNUSED:
        shown += f", ... ({len(unused)} in all)"
    warnings.warn(
        f"{who}: {len(unused)} column(s) of X are in no modality and are not used: "
        f"[{shown}]. Add them to modalities to use them (modalities=None uses every "
        "column), or drop them from X to silence this warning.",
        UserWarning, stacklevel=3,
    )
