"""Modality blocks: one class per modality kind, in one registry.

A block class says everything a kind means: which of its columns are numeric when it is
declared, extra layout (an image's shape), presence, the raw data of the classic
estimators, input checks, the fitted preprocessing (``fit`` / ``transform``) and the torch
encoder of the neural estimators. :data:`MODALITY_BLOCKS` maps kind names to block classes;
a new kind is one subclass of :class:`ModalityBlock` and one ``MODALITY_BLOCKS.register``.

A block instance is a view of one modality inside a
:class:`~sklearn_mtml._modalities.ModalityPreprocessor`: its fitted values live in the
preprocessor's plain dicts (``stats_``, ``levels_``, ``text_``, ...), which is what
:func:`sklearn_mtml.persistence.save_safe` stores. Torch encoders are imported only when
built, so the modality contract itself never imports torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.feature_extraction.text import (
    HashingVectorizer,
    TfidfTransformer,
    TfidfVectorizer,
)

from ..utils._registry import Registry
from ._frame import (
    _categorical_array,
    _cell_missing,
    _codes,
    _holds_arrays,
    _image_array,
    _joined_text,
    _levels,
    _missing_scalar,
    _nan_stats,
    _numeric_array,
    _pad_sparse,
    _split_numeric,
)

if TYPE_CHECKING:
    from torch import nn

    from ._preprocessor import ModalityPreprocessor
    from ._spec import Modality

__all__ = [
    "MODALITY_BLOCKS",
    "CategoricalBlock",
    "ImageBlock",
    "ModalityBlock",
    "NumericBlock",
    "TabularBlock",
    "TextBlock",
    "block_class",
]


class ModalityBlock:
    """Base class of the modality kinds: the hooks a kind may override.

    Class-level hooks (``declared_columns``, ``parse_shape``, ``layout``, ``present``,
    ``raw``, ``check``, ``build_encoder``) need no fitted state; the others act on one
    modality of a fitted preprocessor.

    Parameters
    ----------
    modality : Modality
        The modality this block preprocesses.
    preprocessor : ModalityPreprocessor or None, default=None
        Holds the fitted values and the text options; needed by ``fit``, ``transform`` and
        ``make_encoder``.

    Attributes
    ----------
    inputs : tuple of str
        Names of the arrays ``transform`` returns, in order (one encoder input each).
    """

    inputs: tuple[str, ...] = ("x",)
    #: whether ``modality_types`` may give this kind a shape, ``(kind, shape)``
    takes_shape: ClassVar[bool] = False

    def __init__(self, modality: Modality,
                 preprocessor: ModalityPreprocessor | None = None) -> None:
        self.modality = modality
        self.preprocessor = preprocessor

    # ------------------------------------------------------------------ specification
    @classmethod
    def declared_columns(cls, X: pd.DataFrame, positions: Sequence[int],
                         name: str) -> tuple[tuple, tuple]:
        """Numeric and categorical positions (inside the modality) of a declared modality."""
        return tuple(range(len(positions))), ()

    @classmethod
    def parse_shape(cls, name: str, shape) -> tuple:
        """Check and normalise a declared ``(kind, shape)``."""
        raise ValueError(f"Modality {name!r}: a shape is only meaningful for 'image'.")

    @classmethod
    def layout(cls, X: pd.DataFrame, positions: Sequence[int], name: str,
               shape: tuple | None) -> dict:
        """Extra :class:`Modality` fields of the kind (e.g. ``image_shape``)."""
        return {}

    @classmethod
    def present(cls, modality: Modality, frame: pd.DataFrame) -> np.ndarray:
        """Boolean presence per row: some column of the modality is not missing."""
        return ~frame.isna().to_numpy().all(axis=1)

    @classmethod
    def raw(cls, modality: Modality, frame: pd.DataFrame):
        """The modality's data in the plain form sklearn estimators take."""
        return frame

    @classmethod
    def check(cls, modality: Modality, frame: pd.DataFrame) -> None:
        """Raise a ``ValueError`` naming the column if ``frame`` cannot be preprocessed."""

    # ------------------------------------------------------------------ preprocessing
    @property
    def name(self) -> str:
        """The modality's name."""
        return self.modality.name

    def fit(self, frame: pd.DataFrame, rows: np.ndarray, *, encoded: dict | None = None,
            device=None, n_threads: int | None = None) -> ModalityBlock:
        """Learn the kind's statistics from the present ``rows`` of ``frame``.

        ``encoded`` (a cache shared with ``transform`` by ``fit_transform``), ``device`` and
        ``n_threads`` are only used by kinds that encode with a pretrained model.
        """
        raise NotImplementedError

    def transform(self, frame: pd.DataFrame, rows: np.ndarray, *,
                  encoded: dict | None = None, device=None,
                  n_threads: int | None = None) -> tuple[np.ndarray, ...]:
        """The arrays named by ``inputs``; rows not in ``rows`` (absent) hold zeros."""
        raise NotImplementedError

    def dense_size(self) -> int | None:
        """Width of the dense float input a network may reconstruct (``None``: none)."""
        return None

    # ------------------------------------------------------------------ encoder
    def encoder_sizes(self) -> dict:
        """The fitted sizes ``build_encoder`` needs."""
        pre = self.preprocessor
        return dict(
            n_numeric=pre.n_numeric_.get(self.name, 0),
            cardinalities=pre.cardinalities_.get(self.name, ()),
            vocabulary_size=pre.vocabulary_size_.get(self.name, 1),
            image_shape=self.modality.image_shape,
        )

    def make_encoder(self, *, hidden: Sequence[int] = (64,), out_features: int | None = 32,
                     activation="relu", dropout: float = 0.0, raw: bool = False,
                     text_embedding_dim: int = 64, token_dropout: float = 0.0) -> nn.Module:
        """The torch encoder of this fitted modality (``raw=True``: early-fusion variant)."""
        return self.build_encoder(**self.encoder_sizes(), hidden=hidden,
                                  out_features=out_features, activation=activation,
                                  dropout=dropout, token_dropout=token_dropout, raw=raw)

    @classmethod
    def build_encoder(cls, *, n_numeric: int = 0, cardinalities: Sequence[int] = (),
                      vocabulary_size: int = 1, image_shape: Sequence[int] | None = None,
                      hidden: Sequence[int] = (64,), out_features: int | None = 32,
                      embedding_dim: int | None = None, dropout: float = 0.0,
                      token_dropout: float = 0.0, activation="relu",
                      raw: bool = False) -> nn.Module:
        """The kind's torch encoder from explicit sizes (see :mod:`sklearn_mtml.nn.encoders`)."""
        raise NotImplementedError


def _fit_numeric(block: ModalityBlock, frame: pd.DataFrame, rows: np.ndarray) -> None:
    m, pre = block.modality, block.preprocessor
    x = _numeric_array(frame.iloc[:, list(m.numeric)], m)[rows]
    pre.stats_[m.name] = _nan_stats(x)
    pre.n_numeric_[m.name] = x.shape[1]


def _fit_categories(block: ModalityBlock, frame: pd.DataFrame, rows: np.ndarray) -> None:
    m, pre = block.modality, block.preprocessor
    cats = _categorical_array(frame.iloc[:, list(m.categorical)])[rows]
    pre.levels_[m.name] = [_levels(cats[:, k]) for k in range(cats.shape[1])]
    pre.cardinalities_[m.name] = [len(lv) + 1 for lv in pre.levels_[m.name]]


def _standardised(x: np.ndarray, stats: tuple, rows: np.ndarray) -> np.ndarray:
    mean, std = stats
    x = np.clip(np.nan_to_num((x - mean) / std, nan=0.0), -20, 20)
    x[~rows] = 0.0
    return x.astype(np.float32)


def _transform_numeric(block: ModalityBlock, frame: pd.DataFrame,
                       rows: np.ndarray) -> np.ndarray:
    m = block.modality
    x = _numeric_array(frame.iloc[:, list(m.numeric)], m)
    return _standardised(x, block.preprocessor.stats_[m.name], rows)


def _transform_categories(block: ModalityBlock, frame: pd.DataFrame,
                          rows: np.ndarray) -> np.ndarray:
    m = block.modality
    cats = _categorical_array(frame.iloc[:, list(m.categorical)])
    codes = np.column_stack(
        [_codes(cats[:, k], lv) for k, lv in enumerate(block.preprocessor.levels_[m.name])]
    ) if cats.shape[1] else np.zeros((len(frame), 0), dtype=np.int64)
    codes[~rows] = 0
    return codes.astype(np.int64)


def _tabular_encoder(*, n_numeric: int = 0, cardinalities: Sequence[int] = (),
                     hidden: Sequence[int] = (64,), out_features: int | None = 32,
                     embedding_dim: int | None = None, dropout: float = 0.0,
                     activation="relu", raw: bool = False, **_) -> nn.Module:
    from ..nn.encoders import TabularEncoder

    if raw:
        hidden, out_features = (), None
    return TabularEncoder(n_numeric, cardinalities, embedding_dim, hidden, out_features,
                          dropout, activation=activation)


class NumericBlock(ModalityBlock):
    """Numeric columns: NaN-aware standardisation (clipped to +-20), an MLP encoder.

    Input: ``x`` float32 ``(n, p)``.
    """

    inputs = ("x",)

    @classmethod
    def declared_columns(cls, X, positions, name):
        _, categorical = _split_numeric(X, positions)
        if categorical:
            col = X.columns[positions[categorical[0]]]
            raise ValueError(
                f"Modality {name!r} is declared numeric but column {col!r} is not numeric."
            )
        return tuple(range(len(positions))), ()

    @classmethod
    def raw(cls, modality, frame):
        return _numeric_array(frame, modality)

    @classmethod
    def check(cls, modality, frame):
        _numeric_array(frame, modality)

    def fit(self, frame, rows, **context):
        _fit_numeric(self, frame, rows)
        return self

    def transform(self, frame, rows, **context):
        return (_transform_numeric(self, frame, rows),)

    def dense_size(self):
        return self.preprocessor.n_numeric_.get(self.name, 0)

    @classmethod
    def build_encoder(cls, **kwargs):
        return _tabular_encoder(**kwargs)


class CategoricalBlock(ModalityBlock):
    """Categorical columns: levels seen in ``fit`` coded ``1..k`` (0: missing or unknown),
    one embedding per column.

    Input: ``codes`` int64 ``(n, k)``.
    """

    inputs = ("codes",)

    @classmethod
    def declared_columns(cls, X, positions, name):
        return (), tuple(range(len(positions)))

    @classmethod
    def raw(cls, modality, frame):
        return _categorical_array(frame)

    def fit(self, frame, rows, **context):
        _fit_categories(self, frame, rows)
        return self

    def transform(self, frame, rows, **context):
        return (_transform_categories(self, frame, rows),)

    @classmethod
    def build_encoder(cls, **kwargs):
        return _tabular_encoder(**kwargs)


class TabularBlock(ModalityBlock):
    """Numeric and categorical columns mixed, each part handled as in its own kind.

    Inputs: ``x`` float32 ``(n, p)``, ``codes`` int64 ``(n, k)``.
    """

    inputs = ("x", "codes")

    @classmethod
    def declared_columns(cls, X, positions, name):
        return _split_numeric(X, positions)

    @classmethod
    def check(cls, modality, frame):
        _numeric_array(frame.iloc[:, list(modality.numeric)], modality)

    def fit(self, frame, rows, **context):
        _fit_numeric(self, frame, rows)
        _fit_categories(self, frame, rows)
        return self

    def transform(self, frame, rows, **context):
        return (_transform_numeric(self, frame, rows),
                _transform_categories(self, frame, rows))

    def dense_size(self):
        return self.preprocessor.n_numeric_.get(self.name, 0)

    @classmethod
    def build_encoder(cls, **kwargs):
        return _tabular_encoder(**kwargs)


class TextBlock(ModalityBlock):
    """Free text (several columns joined by a space; blank is absent).

    With ``text_vectorizer="tfidf"`` / ``"hashing"``: a word 1-2-gram TF-IDF vocabulary (or
    hashed n-grams with fitted IDF weights), each row's ``text_max_tokens`` largest weights
    kept; inputs ``ids`` int64 ``(n, L)`` (0: padding) and ``weights`` float32 ``(n, L)``,
    encoded by a bag of n-gram embeddings. With ``"minilm"``: standardised pretrained
    sentence embeddings, input ``x`` float32 ``(n, 384)``, encoded like a numeric modality.
    """

    inputs = ("ids", "weights")

    def __init__(self, modality, preprocessor=None):
        super().__init__(modality, preprocessor)
        if self._minilm:
            self.inputs = ("x",)

    @property
    def _minilm(self) -> bool:
        return (self.preprocessor is not None
                and self.preprocessor.text_vectorizer == "minilm")

    @classmethod
    def present(cls, modality, frame):
        return np.array([s.strip() != "" for s in _joined_text(frame)], dtype=bool)

    @classmethod
    def raw(cls, modality, frame):
        return np.asarray(_joined_text(frame), dtype=object)

    def fit(self, frame, rows, *, encoded=None, device=None, n_threads=None):
        pre, name = self.preprocessor, self.name
        if self._minilm:
            x = _encode_text(frame, rows, device, n_threads)
            if encoded is not None:
                encoded[name] = x
            pre.text_[name] = "minilm"  # a plain value: the model is never stored
            pre.stats_[name] = _nan_stats(x[rows].astype(np.float64))
            pre.n_numeric_[name] = x.shape[1]
            return self
        texts = np.asarray(_joined_text(frame), dtype=object)[rows]
        pre.text_[name] = self._fit_vocabulary(texts)
        pre.vocabulary_size_[name] = _n_tokens(pre.text_[name]) + 1
        return self

    def _fit_vocabulary(self, texts: np.ndarray):
        pre = self.preprocessor
        pattern = r"(?u)\b\w+\b"
        if pre.text_vectorizer == "hashing":
            hasher = HashingVectorizer(
                n_features=pre.text_max_features, ngram_range=(1, 2), alternate_sign=False,
                norm=None, token_pattern=pattern,
            )
            idf = TfidfTransformer(sublinear_tf=True).fit(hasher.transform(list(texts) or [""]))
            return (hasher, idf)
        vec = TfidfVectorizer(
            max_features=pre.text_max_features, ngram_range=(1, 2), sublinear_tf=True,
            token_pattern=pattern, dtype=np.float32,
        )
        try:
            vec.fit(list(texts))
        except ValueError:  # empty vocabulary (no words at all): every text maps to padding
            return None
        return vec

    def transform(self, frame, rows, *, encoded=None, device=None, n_threads=None):
        pre, name = self.preprocessor, self.name
        text = pre.text_[name]
        if isinstance(text, str):  # "minilm": the fitted value, whatever text_vectorizer says
            x = (encoded or {}).get(name)
            if x is None:
                x = _encode_text(frame, rows, device, n_threads)
            mean, std = pre.stats_[name]
            x = np.clip((x - mean) / std, -20, 20)
            x[~rows] = 0.0
            return (x.astype(np.float32),)
        texts = np.asarray(_joined_text(frame), dtype=object)
        texts[~rows] = ""
        n = len(texts)
        if text is None:
            return np.zeros((n, 1), dtype=np.int64), np.zeros((n, 1), dtype=np.float32)
        if isinstance(text, tuple):
            hasher, idf = text
            weights = idf.transform(hasher.transform(list(texts)))
        else:
            weights = text.transform(list(texts))
        return _pad_sparse(sp.csr_matrix(weights), pre.text_max_tokens)

    def make_encoder(self, *, hidden=(64,), out_features=32, activation="relu", dropout=0.0,
                     raw=False, text_embedding_dim=64, token_dropout=0.0):
        sizes = self.encoder_sizes()
        if self._minilm:  # dense sentence embeddings: encoded like a numeric modality
            return NumericBlock.build_encoder(
                **sizes, hidden=hidden, out_features=out_features, activation=activation,
                dropout=dropout, raw=raw)
        return self.build_encoder(
            **sizes, hidden=hidden, out_features=out_features,
            embedding_dim=int(text_embedding_dim), activation=activation, dropout=dropout,
            token_dropout=token_dropout, raw=raw)

    @classmethod
    def build_encoder(cls, *, vocabulary_size=1, hidden=(64,), out_features=32,
                      embedding_dim=None, dropout=0.0, token_dropout=0.0, activation="relu",
                      raw=False, **_):
        from ..nn.encoders import TextBagEncoder

        if raw:
            hidden, out_features = (), None
        return TextBagEncoder(vocabulary_size, embedding_dim or 64, hidden, out_features,
                              dropout, token_dropout=token_dropout, activation=activation)


class ImageBlock(ModalityBlock):
    """Images: one column of ``(H, W)`` / ``(C, H, W)`` arrays, or pixel columns with a
    (declared or square) shape; scaled by the pixels' mean and deviation, a small CNN.

    Input: ``x`` float32 ``(n, C, H, W)``.
    """

    inputs = ("x",)
    takes_shape = True

    @classmethod
    def declared_columns(cls, X, positions, name):
        _split_numeric(X, positions)  # rejects complex pixel columns
        return tuple(range(len(positions))), ()

    @classmethod
    def parse_shape(cls, name, shape):
        shape = tuple(int(s) for s in shape)
        if len(shape) == 2:
            shape = (1, *shape)
        if len(shape) != 3 or min(shape) < 1:
            raise ValueError(
                f"Modality {name!r}: image shape must be (H, W) or (C, H, W), got {shape}."
            )
        return shape

    @classmethod
    def layout(cls, X, positions, name, shape):
        image_shape, array_column = _image_shape(X, positions, name, shape)
        return {"image_shape": image_shape, "array_column": array_column}

    @classmethod
    def present(cls, modality, frame):
        if modality.array_column:
            return ~_cell_missing(frame.iloc[:, 0].to_numpy(dtype=object))
        return super().present(modality, frame)

    @classmethod
    def raw(cls, modality, frame):
        return _image_array(frame, modality).reshape(len(frame), -1)

    @classmethod
    def check(cls, modality, frame):
        if not modality.array_column:
            _numeric_array(frame, modality)

    def fit(self, frame, rows, **context):
        x = _image_array(frame, self.modality)[rows]
        mean = float(np.nanmean(x)) if np.isfinite(x).any() else 0.0
        std = float(np.nanstd(x)) if np.isfinite(x).any() else 1.0
        self.preprocessor.stats_[self.name] = (mean, std if std > 0 else 1.0)
        return self

    def transform(self, frame, rows, **context):
        mean, std = self.preprocessor.stats_[self.name]
        x = np.nan_to_num((_image_array(frame, self.modality) - mean) / std, nan=0.0)
        x[~rows] = 0.0
        return (x.astype(np.float32),)

    def dense_size(self):
        return int(np.prod(self.modality.image_shape))

    @classmethod
    def build_encoder(cls, *, image_shape=None, out_features=32, dropout=0.0,
                      activation="relu", raw=False, **_):
        from ..nn.encoders import ImageCNNEncoder

        if raw:
            out_features = None
        # the CNN's own channels make its hidden part: ``hidden`` is not used
        return ImageCNNEncoder(tuple(image_shape), out_features=out_features, dropout=dropout,
                               activation=activation)


#: The modality kinds: name -> block class (``modality_types`` values).
MODALITY_BLOCKS = Registry(
    "modality_types", ModalityBlock,
    {"numeric": NumericBlock, "categorical": CategoricalBlock, "tabular": TabularBlock,
     "text": TextBlock, "image": ImageBlock},
    instances=False,
)


def block_class(kind, modality: str | None = None) -> type[ModalityBlock]:
    """The block class of a modality kind.

    Parameters
    ----------
    kind : str
        A name in :data:`MODALITY_BLOCKS`.
    modality : str or None, default=None
        The modality's name, for the error message.

    Raises
    ------
    ValueError
        For an unknown kind, naming the modality and the kind.

    Examples
    --------
    >>> from sklearn_mtml._modalities import block_class
    >>> block_class("text").inputs
    ('ids', 'weights')
    >>> block_class("video", "clips")
    Traceback (most recent call last):
    ...
    ValueError: Unknown encoder 'video' for modality 'clips'; choose one of ['numeric', \
'categorical', 'tabular', 'text', 'image'] (an image shape goes as ('image', (H, W))).
    """
    if isinstance(kind, str) and kind in MODALITY_BLOCKS:
        return MODALITY_BLOCKS[kind]
    where = "" if modality is None else f" for modality {modality!r}"
    raise ValueError(
        f"Unknown encoder {kind!r}{where}; choose one of {list(MODALITY_BLOCKS)} "
        "(an image shape goes as ('image', (H, W)))."
    )


def _image_shape(X: pd.DataFrame, positions: Sequence[int], name: str, shape) -> tuple:
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


def _n_tokens(text) -> int:
    """Number of token ids of a fitted text vocabulary (padding excluded)."""
    if text is None:
        return 0
    if isinstance(text, tuple):
        return text[0].n_features
    return len(text.vocabulary_)


def _encode_text(frame: pd.DataFrame, rows: np.ndarray, device, n_threads) -> np.ndarray:
    """MiniLM sentence embeddings ``(n, 384)`` of a text modality (absent rows: zeros)."""
    from .._text_encoder import encode_minilm  # torch and the extra only when used

    texts = np.asarray(_joined_text(frame), dtype=object)
    texts[~rows] = ""
    return encode_minilm(list(texts), device="cpu" if device is None else device,
                         n_threads=n_threads)
