"""Column-level helpers of the modality contract: reading, checking and encoding columns.

Plain numpy / pandas functions shared by the modality specification (:mod:`._spec`), the
modality blocks (:mod:`._blocks`) and the classic late-fusion estimators. No torch.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.sparse as sp

if TYPE_CHECKING:
    from ._spec import Modality

__all__ = ["MAX_CATEGORIES", "as_frame", "modality_frame"]

#: A string column with more distinct values than this (and than a fifth of its rows) is
#: inferred to be free text rather than a categorical column (see ``_text_inference``).
MAX_CATEGORIES = 50


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


def _split_numeric(X: pd.DataFrame, positions: Sequence[int]) -> tuple[tuple, tuple]:
    """Positions (inside the modality) of the numeric and of the other columns."""
    numeric, categorical = [], []
    for k, pos in enumerate(positions):
        (numeric if _as_numeric(X.iloc[:, pos]) is not None else categorical).append(k)
    return tuple(numeric), tuple(categorical)


def _holds_arrays(series: pd.Series) -> bool:
    if not pd.api.types.is_object_dtype(series.dtype):
        return False
    for v in series.to_numpy(dtype=object):
        if isinstance(v, np.ndarray | list | tuple):
            return True
        if not (v is None or (isinstance(v, float) and np.isnan(v))):
            return False
    return False


def _text_inference(series: pd.Series) -> tuple[bool, str | None]:
    """Is a string column free text, and why the call is a close one (``None``: clear).

    The rule: a column is **text** when its values have more than 2 words on average, or
    when it has more than :data:`MAX_CATEGORIES` distinct values *and* more than a fifth of
    its (non-missing) rows are distinct; otherwise it is **categorical**.

    The evidence is *ambiguous* (the returned reason says why) when the two signals, word
    count and number of distinct values, disagree:

    * categorical chosen, but most values (the median) have 2 or more words: short phrases
      with few distinct values may be labels or short free text;
    * text chosen for its words, but its values repeat like levels: at most a fifth of
      its rows are distinct (each value is seen 5 times or more on average), e.g.
      multi-word levels such as "some college, no degree";
    * text chosen for its many distinct values, but the values are short (2 words or fewer
      on average): identifiers or names may be categories.
    """
    values = series.dropna().astype(str)
    if len(values) == 0:
        return False, None
    words = values.str.split().str.len()
    mean_words, median_words = float(words.mean()), float(words.median())
    n_unique = int(values.nunique())
    by_words = mean_words > 2
    by_levels = n_unique > MAX_CATEGORIES and n_unique > len(values) / 5
    stats = (f"{n_unique} distinct values in {len(values)} rows, "
             f"{mean_words:.1f} words per value on average")
    if not (by_words or by_levels):
        if median_words >= 2:
            return False, f"few distinct values, but most have several words ({stats})"
        return False, None
    if not by_levels and n_unique <= len(values) / 5:
        return True, f"several words per value, but the values repeat like levels ({stats})"
    if not by_words:
        return True, f"many distinct values, but short ones ({stats})"
    return True, None


def _looks_like_text(series: pd.Series) -> bool:
    return _text_inference(series)[0]


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
