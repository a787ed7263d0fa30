"""The modality contract: one implementation of how modalities are represented.

Every multi-modal estimator of the package (neural and classic) goes through this module,
so the rules below hold everywhere (DESIGN.md, "Modalities"):

* ``X`` is a DataFrame (or a 2-D array) and ``modalities={"name": columns}`` says which
  columns form which modality: column names, positions, a slice, or a single string (one
  column). ``modalities=None`` makes all columns one modality named ``"X"``.
* The type of each modality is inferred from its columns and can be overridden with
  ``modality_types={"name": type}``:

  - ``"numeric"``: all columns numeric (bool, int, float, or objects holding numbers);
  - ``"categorical"``: string / category / object columns with few levels;
  - ``"tabular"``: numeric and categorical columns mixed (each part handled as above);
  - ``"text"``: one free-text column (several columns are joined with a space);
  - ``"image"``: a column whose cells are arrays, or pixel columns with a declared shape,
    ``modality_types={"digits": ("image", (8, 8))}`` (shape ``(H, W)`` or ``(C, H, W)``).

* A modality whose columns are **all** missing in a row is *absent* for that row (for text:
  ``None`` / ``NaN`` / an empty or blank string). :func:`presence_mask` gives the boolean
  ``(n_samples, n_modalities)`` mask; models never see imputed values for an absent modality.
* :class:`ModalityPreprocessor` is the fitted per-modality preprocessing of the neural
  estimators: NaN-aware standardisation of numeric columns, category vocabularies with an
  unknown bucket, a TF-IDF (or hashing) text vocabulary fitted in ``fit`` (nothing is
  downloaded) or pretrained sentence embeddings (``text_vectorizer="minilm"``, the extra
  ``text``: weights from an installed package), pixel scaling. Its output is
  :class:`ModalityBlocks`: per modality a tuple of dense arrays, plus the presence mask.

Errors name the modality and the column. This module never imports torch.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.feature_extraction.text import (
    HashingVectorizer,
    TfidfTransformer,
    TfidfVectorizer,
)

__all__ = [
    "MODALITY_TYPES",
    "Modality",
    "ModalityBlocks",
    "ModalityPreprocessor",
    "as_frame",
    "modality_frame",
    "presence_mask",
    "resolve_modalities",
    "validate_modality_X",
]

#: The modality types (one encoder family each).
MODALITY_TYPES = ("numeric", "categorical", "tabular", "text", "image")

#: The text representations of :class:`ModalityPreprocessor` (``text_vectorizer=``).
TEXT_VECTORIZERS = ("tfidf", "hashing", "minilm")

#: Name of the single modality made by ``modalities=None``.
DEFAULT_MODALITY = "X"

#: A string column with more distinct values than this (and than a fifth of its rows) is
#: inferred to be free text rather than a categorical column.
MAX_CATEGORIES = 50


@dataclass(frozen=True)
class Modality:
    """One resolved modality: its columns and how they are encoded.

    Attributes
    ----------
    name : str
        The modality's name (a key of ``modalities``).
    kind : str
        One of :data:`MODALITY_TYPES`.
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
        block = self.frame(X)
        if self.kind == "text":
            return np.array([s.strip() != "" for s in _joined_text(block)], dtype=bool)
        if self.array_column:
            return ~_cell_missing(block.iloc[:, 0].to_numpy(dtype=object))
        return ~block.isna().to_numpy().all(axis=1)

    def raw(self, X: pd.DataFrame):
        """The modality's data in the plain form sklearn estimators take.

        ``"numeric"`` and ``"image"``: float array (images flattened, NaN kept);
        ``"categorical"``: object array; ``"tabular"``: the DataFrame of its columns;
        ``"text"``: 1-D object array of strings (absent = ``""``).
        """
        block = self.frame(X)
        if self.kind == "text":
            return np.asarray(_joined_text(block), dtype=object)
        if self.kind == "numeric":
            return _numeric_array(block, self)
        if self.kind == "image":
            return _image_array(block, self).reshape(len(block), -1)
        if self.kind == "categorical":
            return _categorical_array(block)
        return block


# ----------------------------------------------------------------------------- helpers
def _cell_missing(values: np.ndarray) -> np.ndarray:
    """Missing cells of an object column that may hold arrays."""
    out = np.zeros(len(values), dtype=bool)
    for i, v in enumerate(values):
        if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
            out[i] = True
    return out


def _as_numeric(series: pd.Series) -> pd.Series | None:
    """``series`` as float if every non-missing value is a number, else ``None``."""
    if pd.api.types.is_complex_dtype(series.dtype):
        raise ValueError(f"Complex data not supported: column {series.name!r}.")
    if pd.api.types.is_bool_dtype(series.dtype) or pd.api.types.is_numeric_dtype(series.dtype):
        return series.astype(np.float64)
    if isinstance(series.dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(
        series.dtype
    ) and not pd.api.types.is_object_dtype(series.dtype):
        return None
    values = series.to_numpy(dtype=object)
    observed = values[~pd.isna(values)] if len(values) else values
    if not all(isinstance(v, numbers.Number) for v in observed):
        return None
    if any(isinstance(v, complex | np.complexfloating) for v in observed):
        raise ValueError(f"Complex data not supported: column {series.name!r}.")
    return pd.Series(
        pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(
            dtype=np.float64
        ),
        index=series.index,
    )


def _holds_arrays(series: pd.Series) -> bool:
    if not pd.api.types.is_object_dtype(series.dtype):
        return False
    for v in series.to_numpy(dtype=object):
        if isinstance(v, np.ndarray | list | tuple):
            return True
        if not (v is None or (isinstance(v, float) and np.isnan(v))):
            return False
    return False


def _looks_like_text(series: pd.Series) -> bool:
    values = series.dropna().astype(str)
    if len(values) == 0:
        return False
    n_words = values.str.split().str.len().mean()
    n_unique = values.nunique()
    return bool(n_words > 2 or (n_unique > MAX_CATEGORIES and n_unique > len(values) / 5))


def _joined_text(block: pd.DataFrame) -> list[str]:
    """Each row's text: its non-missing cells joined by a space."""
    cols = []
    for j in range(block.shape[1]):
        values = block.iloc[:, j].to_numpy(dtype=object)
        cols.append(["" if _missing_scalar(v) else str(v) for v in values])
    if len(cols) == 1:
        return cols[0]
    return [" ".join(s for s in parts if s) for parts in zip(*cols)]


def _missing_scalar(v) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v))


def _numeric_array(block: pd.DataFrame, modality: Modality) -> np.ndarray:
    out = np.empty(block.shape, dtype=np.float64)
    for j in range(block.shape[1]):
        col = _as_numeric(block.iloc[:, j])
        if col is None:
            raise ValueError(
                f"Modality {modality.name!r}: column {block.columns[j]!r} is not numeric; "
                "set modality_types to 'categorical', 'tabular' or 'text' for it."
            )
        out[:, j] = col.to_numpy()
    if np.isinf(out).any():
        j = int(np.flatnonzero(np.isinf(out).any(axis=0))[0])
        raise ValueError(
            f"Input X contains infinity or a value too large: modality {modality.name!r}, "
            f"column {block.columns[j]!r}."
        )
    return out


def _categorical_array(block: pd.DataFrame) -> np.ndarray:
    out = np.array(block.astype(object).to_numpy(dtype=object), dtype=object, copy=True)
    out[pd.isna(out)] = np.nan
    return out


def _image_array(block: pd.DataFrame, modality: Modality) -> np.ndarray:
    """Images as float ``(n, C, H, W)``; absent rows as NaN."""
    shape = modality.image_shape
    n = len(block)
    if not modality.array_column:
        flat = _numeric_array(block, modality)
        return flat.reshape((n, *shape))
    out = np.full((n, *shape), np.nan)
    values = block.iloc[:, 0].to_numpy(dtype=object)
    for i, v in enumerate(values):
        if _missing_scalar(v):
            continue
        arr = np.asarray(v, dtype=np.float64)
        if arr.size != int(np.prod(shape)):
            raise ValueError(
                f"Modality {modality.name!r}: row {i} of column {block.columns[0]!r} holds "
                f"an array of shape {arr.shape}, but the image shape is {shape}."
            )
        out[i] = arr.reshape(shape)
    return out


def as_frame(X) -> pd.DataFrame:
    """``X`` as a DataFrame; an array gets integer column labels ``0..p-1``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtml._modalities import as_frame
    >>> as_frame(np.zeros((2, 3))).columns.tolist()
    [0, 1, 2]
    """
    if isinstance(X, pd.DataFrame):
        return X
    arr = np.asarray(X)
    if arr.ndim != 2:
        raise ValueError(f"Expected a 2D array for X, got shape {arr.shape}.")
    return pd.DataFrame(arr)


def modality_frame(arrays: Mapping[str, object]) -> tuple[pd.DataFrame, dict]:
    """Build ``(X, modalities)`` from a dict of per-modality arrays (a convenience).

    Parameters
    ----------
    arrays : dict of {str: array-like}
        Per modality a 2-D array (columns ``<name>_<j>``), a 1-D array of strings (one
        column named ``<name>``), or a Series / DataFrame (columns kept, prefixed when they
        clash).

    Returns
    -------
    X : DataFrame
    modalities : dict of {str: list of str}
        The matching ``modalities=`` spec.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtml._modalities import modality_frame
    >>> X, spec = modality_frame({"a": np.zeros((3, 2)), "b": np.array(["x", "y", "z"])})
    >>> list(X.columns), spec
    (['a_0', 'a_1', 'b'], {'a': ['a_0', 'a_1'], 'b': ['b']})
    """
    parts, spec, n = [], {}, None
    for name, value in arrays.items():
        if isinstance(value, pd.DataFrame):
            part = value.reset_index(drop=True).copy()
            part.columns = [f"{name}_{c}" for c in part.columns]
        elif isinstance(value, pd.Series):
            part = value.reset_index(drop=True).to_frame(name)
        else:
            arr = np.asarray(value)
            if arr.ndim == 1:
                part = pd.DataFrame({name: arr})
            elif arr.ndim == 2:
                part = pd.DataFrame(arr, columns=[f"{name}_{j}" for j in range(arr.shape[1])])
            else:
                flat = np.empty(len(arr), dtype=object)
                flat[:] = list(arr)
                part = pd.DataFrame({name: flat})
        if n is not None and len(part) != n:
            raise ValueError(
                f"Modality {name!r} has {len(part)} rows, the others have {n}."
            )
        n = len(part)
        parts.append(part)
        spec[name] = list(part.columns)
    return pd.concat(parts, axis=1), spec


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
    shape = None
    if isinstance(value, tuple | list) and len(value) == 2 and not isinstance(value[1], str):
        value, shape = value
    if value is not None and value not in MODALITY_TYPES:
        raise ValueError(
            f"Unknown encoder {value!r} for modality {name!r}; choose one of "
            f"{list(MODALITY_TYPES)} (an image shape goes as ('image', (H, W)))."
        )
    if shape is not None:
        if value != "image":
            raise ValueError(f"Modality {name!r}: a shape is only meaningful for 'image'.")
        shape = tuple(int(s) for s in shape)
        if len(shape) == 2:
            shape = (1, *shape)
        if len(shape) != 3 or min(shape) < 1:
            raise ValueError(
                f"Modality {name!r}: image shape must be (H, W) or (C, H, W), got {shape}."
            )
    return value, shape


def _infer_kind(X: pd.DataFrame, positions: list[int], name: str, declared):
    """Return (kind, numeric positions, categorical positions) of a modality."""
    numeric, categorical = [], []
    for k, pos in enumerate(positions):
        series = X.iloc[:, pos]
        if declared not in ("categorical", "text") and _as_numeric(series) is not None:
            numeric.append(k)
        else:
            categorical.append(k)
    if declared == "numeric" and categorical:
        col = X.columns[positions[categorical[0]]]
        raise ValueError(
            f"Modality {name!r} is declared numeric but column {col!r} is not numeric."
        )
    if declared is not None:
        if declared == "categorical":
            return declared, (), tuple(range(len(positions)))
        if declared == "tabular":
            return declared, tuple(numeric), tuple(categorical)
        return declared, tuple(range(len(positions))), ()
    if not categorical:
        return "numeric", tuple(numeric), ()
    if len(positions) == 1:
        series = X.iloc[:, positions[0]]
        if _holds_arrays(series):
            return "image", (), ()
        if not isinstance(series.dtype, pd.CategoricalDtype) and _looks_like_text(series):
            return "text", (), ()
    if not numeric:
        return "categorical", (), tuple(categorical)
    return "tabular", tuple(numeric), tuple(categorical)


def _image_shape(X: pd.DataFrame, positions: list[int], name: str, shape) -> tuple:
    """Image shape (C, H, W) and whether the modality is one column of arrays."""
    first = X.iloc[:, positions[0]]
    if len(positions) == 1 and _holds_arrays(first):
        values = first.to_numpy(dtype=object)
        sample = next(np.asarray(v) for v in values if not _missing_scalar(v))
        found = sample.shape if sample.ndim == 3 else (1, *sample.shape)
        if len(found) != 3:
            raise ValueError(
                f"Modality {name!r}: column {X.columns[positions[0]]!r} holds arrays of "
                f"shape {sample.shape}; images must be (H, W) or (C, H, W)."
            )
        if shape is not None and int(np.prod(shape)) != int(np.prod(found)):
            raise ValueError(
                f"Modality {name!r}: image shape {shape} does not match the arrays of "
                f"column {X.columns[positions[0]]!r} (shape {sample.shape})."
            )
        return (shape or tuple(found)), True
    if shape is None:
        side = int(round(np.sqrt(len(positions))))
        if side * side != len(positions):
            raise ValueError(
                f"Modality {name!r}: {len(positions)} pixel columns are not a square image; "
                "declare the shape, modality_types={" + repr(name) + ": ('image', (H, W))}."
            )
        shape = (1, side, side)
    if int(np.prod(shape)) != len(positions):
        raise ValueError(
            f"Modality {name!r}: image shape {shape} needs {int(np.prod(shape))} pixel "
            f"columns, but the modality has {len(positions)} columns."
        )
    return shape, False


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
    out = []
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
        kind, numeric, categorical = _infer_kind(X, positions, name, declared)
        image_shape, array_column = None, False
        if kind == "image":
            image_shape, array_column = _image_shape(X, positions, name, shape)
        out.append(
            Modality(
                name=name,
                kind=kind,
                columns=tuple(X.columns[p] for p in positions),
                positions=tuple(positions),
                numeric=numeric,
                categorical=categorical,
                image_shape=image_shape,
                array_column=array_column,
            )
        )
    return out


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

    At fit (``reset=True``) resolves ``estimator.modalities`` / ``modality_types`` and sets
    ``estimator.modalities_`` (list of :class:`Modality`) and ``modality_names_``. At
    predict, checks that ``X`` still has the fitted columns and that numeric modalities are
    numeric and finite. Returns ``X`` as a DataFrame.
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
        mods = resolve_modalities(
            frame, getattr(estimator, "modalities", None),
            getattr(estimator, "modality_types", None),
        )
        estimator.modalities_ = mods
        estimator.modality_names_ = np.array([m.name for m in mods], dtype=object)
    else:
        mods = estimator.modalities_
        needed = max(max(m.positions) for m in mods) + 1
        if frame.shape[1] < needed:
            raise ValueError(
                f"X has {frame.shape[1]} columns, but {type(estimator).__name__} was fitted "
                f"with {needed}."
            )
    for m in mods:
        if m.kind in ("numeric", "image") and not m.array_column:
            _numeric_array(m.frame(frame), m)
        elif m.kind == "tabular":
            _numeric_array(m.frame(frame).iloc[:, list(m.numeric)], m)
    if not any(len(frame) and m.present(frame).any() for m in mods) and len(frame) and reset:
        raise ValueError("Every modality is absent in every row of X: nothing to learn from.")
    return frame


# ----------------------------------------------------------------------------- preprocessing
@dataclass
class ModalityBlocks:
    """Preprocessed multi-modal data: dense arrays per modality and the presence mask.

    Attributes
    ----------
    arrays : dict of {str: tuple of ndarray}
        Per modality: ``"numeric"`` -> ``(x float32 (n, p),)``; ``"categorical"`` ->
        ``(codes int64 (n, k),)``; ``"tabular"`` -> ``(x, codes)``; ``"text"`` ->
        ``(token ids int64 (n, L), weights float32 (n, L))`` with id 0 as padding, or
        ``(x float32 (n, 384),)`` (standardised sentence embeddings) with
        ``text_vectorizer="minilm"``; ``"image"`` -> ``(x float32 (n, C, H, W),)``.
        Absent rows hold zeros.
    mask : ndarray of bool, shape (n_samples, n_modalities)
        Presence of each modality in each row.
    names : list of str
        Modality names, in the column order of ``mask``.
    """

    arrays: dict
    mask: np.ndarray
    names: list = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.mask)

    def take(self, rows) -> ModalityBlocks:
        """The blocks of the given rows."""
        return ModalityBlocks(
            {k: tuple(a[rows] for a in v) for k, v in self.arrays.items()},
            self.mask[rows],
            list(self.names),
        )

    def flat(self) -> dict[str, np.ndarray]:
        """One flat dict of arrays: ``"<modality>__<i>"`` keys plus ``"mask"``."""
        out = {f"{k}__{i}": a for k, v in self.arrays.items() for i, a in enumerate(v)}
        out["mask"] = self.mask
        return out


class ModalityPreprocessor:
    """Fitted per-modality preprocessing of the neural multi-modal estimators.

    Parameters
    ----------
    modalities : list of Modality
        The resolved modalities (:func:`resolve_modalities`).
    text_vectorizer : {"tfidf", "hashing", "minilm"}, default="tfidf"
        ``"tfidf"``: a word 1-2-gram TF-IDF vocabulary (sublinear tf) fitted in ``fit``;
        ``"hashing"``: hashed 1-2-grams (no vocabulary to store) with fitted IDF weights;
        ``"minilm"``: 384-d sentence embeddings of the frozen pretrained all-MiniLM-L6-v2
        (:mod:`sklearn_mtml._text_encoder`; needs ``pip install 'sklearn-mtml[text]'``),
        standardised like a numeric modality (statistics fitted in ``fit``), so a text
        modality becomes a dense numeric input.
    text_max_features : int, default=20000
        Vocabulary size (``"tfidf"``) or number of hash buckets (``"hashing"``); unused by
        ``"minilm"``.
    text_max_tokens : int, default=256
        Per row at most this many distinct n-grams (the highest-weighted) are kept; unused
        by ``"minilm"``.

    Attributes
    ----------
    cardinalities_ : dict of {str: list of int}
        Per categorical/tabular modality, each column's number of codes (levels + 1, code 0
        being missing or unknown).
    n_numeric_ : dict of {str: int}
        Per modality, the number of numeric inputs (384 for a ``"minilm"`` text).
    vocabulary_size_ : dict of {str: int}
        Per text modality, the number of token ids (padding included); not set for
        ``"minilm"``.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn_mtml._modalities import ModalityPreprocessor, resolve_modalities
    >>> X = pd.DataFrame({"age": [30.0, None, 50.0], "city": ["a", "b", None],
    ...                   "review": ["soft and warm", None, "too small for me"]})
    >>> mods = resolve_modalities(X, {"age": "age", "city": "city", "text": "review"},
    ...                           {"city": "categorical"})
    >>> blocks = ModalityPreprocessor(mods).fit(X).transform(X)
    >>> blocks.mask.tolist()
    [[True, True, True], [False, True, False], [True, False, True]]
    >>> blocks.arrays["age"][0].ravel().round(2).tolist()
    [-1.0, 0.0, 1.0]
    >>> blocks.arrays["city"][0].ravel().tolist()
    [1, 2, 0]
    """

    def __init__(
        self,
        modalities: Sequence[Modality],
        text_vectorizer: str = "tfidf",
        text_max_features: int = 20000,
        text_max_tokens: int = 256,
    ):
        self.modalities = list(modalities)
        self.text_vectorizer = text_vectorizer
        self.text_max_features = text_max_features
        self.text_max_tokens = text_max_tokens

    # -- fit
    def fit(self, X, *, device=None, n_threads: int | None = None) -> ModalityPreprocessor:
        """Learn standardisation statistics, category levels and text vocabularies.

        ``device`` (default CPU) and ``n_threads`` only say where and on how many torch
        threads ``text_vectorizer="minilm"`` encodes texts.
        """
        self._fit(as_frame(X), {}, device, n_threads)
        return self

    def fit_transform(self, X, *, device=None, n_threads: int | None = None) -> ModalityBlocks:
        """``fit(X).transform(X)``, encoding each ``"minilm"`` text modality only once."""
        X = as_frame(X)
        encoded: dict = {}
        self._fit(X, encoded, device, n_threads)
        return self._transform(X, encoded, device, n_threads)

    def _fit(self, X, encoded: dict, device, n_threads) -> None:
        if self.text_vectorizer not in TEXT_VECTORIZERS:
            raise ValueError(
                f"Unknown text_vectorizer {self.text_vectorizer!r}; use one of "
                f"{list(TEXT_VECTORIZERS)}."
            )
        mask = presence_mask(X, self.modalities)
        self.stats_, self.levels_, self.text_ = {}, {}, {}
        self.cardinalities_, self.n_numeric_, self.vocabulary_size_ = {}, {}, {}
        for j, m in enumerate(self.modalities):
            rows = mask[:, j]
            block = m.frame(X)
            self.n_numeric_[m.name] = 0
            if m.kind in ("numeric", "tabular"):
                x = _numeric_array(block.iloc[:, list(m.numeric)], m)[rows]
                self.stats_[m.name] = _nan_stats(x)
                self.n_numeric_[m.name] = x.shape[1]
            if m.kind in ("categorical", "tabular"):
                cats = _categorical_array(block.iloc[:, list(m.categorical)])[rows]
                self.levels_[m.name] = [_levels(cats[:, k]) for k in range(cats.shape[1])]
                self.cardinalities_[m.name] = [len(lv) + 1 for lv in self.levels_[m.name]]
            if m.kind == "image":
                x = _image_array(block, m)[rows]
                mean = float(np.nanmean(x)) if np.isfinite(x).any() else 0.0
                std = float(np.nanstd(x)) if np.isfinite(x).any() else 1.0
                self.stats_[m.name] = (mean, std if std > 0 else 1.0)
            if m.kind == "text" and self.text_vectorizer == "minilm":
                x = _encode_text(block, rows, device, n_threads)
                encoded[m.name] = x
                self.text_[m.name] = "minilm"  # a plain value: the model is never stored
                self.stats_[m.name] = _nan_stats(x[rows].astype(np.float64))
                self.n_numeric_[m.name] = x.shape[1]
            elif m.kind == "text":
                texts = np.asarray(_joined_text(block), dtype=object)[rows]
                self.text_[m.name] = self._fit_text(texts)
                self.vocabulary_size_[m.name] = self._n_tokens(self.text_[m.name]) + 1

    def _fit_text(self, texts):
        pattern = r"(?u)\b\w+\b"
        if self.text_vectorizer == "hashing":
            hasher = HashingVectorizer(
                n_features=self.text_max_features, ngram_range=(1, 2), alternate_sign=False,
                norm=None, token_pattern=pattern,
            )
            idf = TfidfTransformer(sublinear_tf=True).fit(hasher.transform(list(texts) or [""]))
            return (hasher, idf)
        vec = TfidfVectorizer(
            max_features=self.text_max_features, ngram_range=(1, 2), sublinear_tf=True,
            token_pattern=pattern, dtype=np.float32,
        )
        try:
            vec.fit(list(texts))
        except ValueError:  # empty vocabulary (no words at all): every text maps to padding
            return None
        return vec

    def _n_tokens(self, text) -> int:
        if text is None:
            return 0
        if isinstance(text, tuple):
            return text[0].n_features
        return len(text.vocabulary_)

    # -- transform
    def transform(self, X, *, device=None, n_threads: int | None = None) -> ModalityBlocks:
        """Preprocess ``X`` into :class:`ModalityBlocks` (absent rows hold zeros).

        ``device`` and ``n_threads``: as in :meth:`fit`.
        """
        return self._transform(as_frame(X), {}, device, n_threads)

    def _transform(self, X, encoded: dict, device, n_threads) -> ModalityBlocks:
        mask = presence_mask(X, self.modalities)
        arrays = {}
        for j, m in enumerate(self.modalities):
            rows = mask[:, j]
            block = m.frame(X)
            parts = []
            if m.kind in ("numeric", "tabular"):
                x = _numeric_array(block.iloc[:, list(m.numeric)], m)
                mean, std = self.stats_[m.name]
                x = np.clip(np.nan_to_num((x - mean) / std, nan=0.0), -20, 20)
                x[~rows] = 0.0
                parts.append(x.astype(np.float32))
            if m.kind in ("categorical", "tabular"):
                cats = _categorical_array(block.iloc[:, list(m.categorical)])
                codes = np.column_stack(
                    [_codes(cats[:, k], lv) for k, lv in enumerate(self.levels_[m.name])]
                ) if cats.shape[1] else np.zeros((len(X), 0), dtype=np.int64)
                codes[~rows] = 0
                parts.append(codes.astype(np.int64))
            if m.kind == "image":
                mean, std = self.stats_[m.name]
                x = np.nan_to_num((_image_array(block, m) - mean) / std, nan=0.0)
                x[~rows] = 0.0
                parts.append(x.astype(np.float32))
            if m.kind == "text" and isinstance(self.text_[m.name], str):  # "minilm"
                x = encoded.get(m.name)
                if x is None:
                    x = _encode_text(block, rows, device, n_threads)
                mean, std = self.stats_[m.name]
                x = np.clip((x - mean) / std, -20, 20)
                x[~rows] = 0.0
                parts.append(x.astype(np.float32))
            elif m.kind == "text":
                texts = np.asarray(_joined_text(block), dtype=object)
                texts[~rows] = ""
                parts.extend(self._transform_text(self.text_[m.name], texts))
            arrays[m.name] = tuple(parts)
        return ModalityBlocks(arrays, mask, [m.name for m in self.modalities])

    def _transform_text(self, text, texts):
        n = len(texts)
        if text is None:
            return np.zeros((n, 1), dtype=np.int64), np.zeros((n, 1), dtype=np.float32)
        if isinstance(text, tuple):
            hasher, idf = text
            weights = idf.transform(hasher.transform(list(texts)))
        else:
            weights = text.transform(list(texts))
        return _pad_sparse(sp.csr_matrix(weights), self.text_max_tokens)


def _encode_text(block: pd.DataFrame, rows: np.ndarray, device, n_threads) -> np.ndarray:
    """MiniLM sentence embeddings ``(n, 384)`` of a text modality (absent rows: zeros)."""
    from ._text_encoder import encode_minilm  # torch and the extra only when used

    texts = np.asarray(_joined_text(block), dtype=object)
    texts[~rows] = ""
    return encode_minilm(list(texts), device="cpu" if device is None else device,
                         n_threads=n_threads)


def _nan_stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column means and standard deviations ignoring NaN (0 / 1 for empty or constant)."""
    observed = ~np.isnan(x)
    count = observed.sum(axis=0)
    safe = np.where(observed, x, 0.0)
    mean = np.divide(safe.sum(axis=0), count, out=np.zeros(x.shape[1]), where=count > 0)
    var = np.divide(
        (np.where(observed, x - mean, 0.0) ** 2).sum(axis=0), count,
        out=np.ones(x.shape[1]), where=count > 0,
    )
    std = np.sqrt(var)
    std[~(std > 1e-12)] = 1.0
    return mean, std


def _level_key(v) -> str:
    """Category key: 1, 1.0 and "1" are one level."""
    if isinstance(v, str):
        return v
    if isinstance(v, float | np.floating) and float(v).is_integer():
        return str(int(v))
    return str(v)


def _levels(values: np.ndarray) -> pd.Index:
    observed = values[~pd.isna(values)]
    return pd.Index(sorted({_level_key(v) for v in observed}), dtype=object)


def _codes(values: np.ndarray, levels: pd.Index) -> np.ndarray:
    keys = np.array([None if _missing_scalar(v) else _level_key(v) for v in values], dtype=object)
    found = levels.get_indexer(keys)
    return (found + 1).astype(np.int64)  # -1 (missing / unknown) -> bucket 0


def _pad_sparse(W: sp.csr_matrix, max_tokens: int) -> tuple[np.ndarray, np.ndarray]:
    """CSR weights -> padded ``(ids + 1, weights)`` keeping each row's largest weights."""
    n = W.shape[0]
    lengths = np.diff(W.indptr)
    width = max(1, min(int(lengths.max()) if n else 1, max_tokens))
    ids = np.zeros((n, width), dtype=np.int64)
    weights = np.zeros((n, width), dtype=np.float32)
    for i in range(n):
        start, stop = W.indptr[i], W.indptr[i + 1]
        cols, vals = W.indices[start:stop], W.data[start:stop]
        if len(cols) > width:
            keep = np.argpartition(-vals, width - 1)[:width]
            cols, vals = cols[keep], vals[keep]
        ids[i, : len(cols)] = cols + 1
        weights[i, : len(cols)] = vals
    return ids, weights
