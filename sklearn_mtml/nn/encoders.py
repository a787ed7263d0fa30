"""Per-modality encoders: pure torch modules mapping one modality's arrays to a vector.

Each encoder takes the tensors that :class:`sklearn_mtml._modalities.ModalityPreprocessor`
produces for its modality type (in that order) and returns ``(n_samples, out_features)``:

=============  =========================================  ===================================
type           inputs                                     encoder
=============  =========================================  ===================================
numeric        ``x`` float (n, p)                          :class:`TabularEncoder` (MLP)
categorical    ``codes`` long (n, k), 0 = unknown          :class:`TabularEncoder` (embeddings)
tabular        ``x``, ``codes``                            :class:`TabularEncoder` (both)
text           ``ids`` long (n, L), ``weights`` (n, L)     :class:`TextBagEncoder`
image          ``x`` float (n, C, H, W)                    :class:`ImageCNNEncoder`
=============  =========================================  ===================================

With ``hidden=()`` and ``out_features=None`` an encoder is "raw" (early fusion): numeric
inputs pass through, categories are embedded, a text is its weighted bag of embeddings, an
image is flattened.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .._modalities import block_class
from .heads import MLP, make_activation

__all__ = [
    "ImageCNNEncoder",
    "TabularEncoder",
    "TextBagEncoder",
    "make_encoder",
    "mlp",
]


def mlp(in_features: int, hidden: Sequence[int], out_features: int | None,
        dropout: float = 0.0, activation: str | nn.Module = "relu") -> tuple[nn.Module, int]:
    """:class:`~sklearn_mtml.nn.heads.MLP` over ``hidden`` then ``out_features``, and its
    output size.

    Kept for :mod:`sklearn_mtml.nn.fusion`, which still calls it; new code builds
    ``MLP`` directly. ``out_features=None`` ends at the last hidden layer (identity when
    ``hidden`` is empty).

    Examples
    --------
    >>> import torch
    >>> from sklearn_mtml.nn.encoders import mlp
    >>> net, size = mlp(4, (8,), 3)
    >>> net(torch.zeros(2, 4)).shape, size
    (torch.Size([2, 3]), 3)
    """
    net = _mlp(in_features, hidden, out_features, activation, dropout)
    return net, net.out_features


def _mlp(in_features: int, hidden: Sequence[int], out_features: int | None,
         activation: str | nn.Module, dropout: float) -> MLP:
    return MLP(in_features, [*hidden, *([] if out_features is None else [out_features])],
               activation, dropout)


class TabularEncoder(nn.Module):
    """Numeric columns and categorical embeddings, concatenated, then an MLP.

    Parameters
    ----------
    n_numeric : int
        Number of (standardised) numeric inputs.
    cardinalities : sequence of int, default=()
        Per categorical column, its number of codes (code 0 = missing / unknown).
    embedding_dim : int or None, default=None
        Size of each category embedding; ``None``: ``min(16, (cardinality + 1) // 2 + 1)``.
    hidden : sequence of int, default=(64,)
        Hidden layer widths.
    out_features : int or None, default=32
        Output size; ``None`` ends at the last hidden layer (raw when ``hidden=()``).
    dropout : float, default=0.0
    activation : str or nn.Module, default="relu"
        Activation of the MLP (a name of :data:`~sklearn_mtml.nn.heads.ACTIVATIONS`).

    Examples
    --------
    >>> import torch
    >>> from sklearn_mtml.nn.encoders import TabularEncoder
    >>> enc = TabularEncoder(2, cardinalities=[4, 3], out_features=8)
    >>> enc(torch.zeros(5, 2), torch.zeros(5, 2, dtype=torch.long)).shape
    torch.Size([5, 8])
    """

    def __init__(self, n_numeric: int, cardinalities: Sequence[int] = (),
                 embedding_dim: int | None = None, hidden: Sequence[int] = (64,),
                 out_features: int | None = 32, dropout: float = 0.0,
                 activation: str | nn.Module = "relu") -> None:
        super().__init__()
        self.n_numeric = n_numeric
        self.embeddings = nn.ModuleList(
            nn.Embedding(c, embedding_dim or min(16, (c + 1) // 2 + 1)) for c in cardinalities
        )
        size = n_numeric + sum(e.embedding_dim for e in self.embeddings)
        self.net = _mlp(size, hidden, out_features, activation, dropout)
        self.out_features = self.net.out_features

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        parts = []
        k = 0
        if self.n_numeric:
            parts.append(inputs[0].float())
            k = 1
        if len(self.embeddings):
            codes = inputs[k].long()
            parts.extend(emb(codes[:, j]) for j, emb in enumerate(self.embeddings))
        return self.net(torch.cat(parts, dim=1))


class TextBagEncoder(nn.Module):
    """Weighted bag of n-gram embeddings (``EmbeddingBag``), then an MLP.

    With TF-IDF weights the bag is exactly a linear layer over the sparse TF-IDF vector of
    the text (computed without ever densifying it); the MLP on top makes it a TF-IDF -> MLP
    encoder.

    Parameters
    ----------
    vocabulary_size : int
        Number of token ids, padding id 0 included.
    embedding_dim : int, default=64
    hidden : sequence of int, default=()
    out_features : int or None, default=32
    dropout : float, default=0.0
    token_dropout : float, default=0.0
        In training, each n-gram of each text is dropped with this probability.
    activation : str or nn.Module, default="relu"
        Activation of the bag and of the MLP.

    Examples
    --------
    >>> import torch
    >>> from sklearn_mtml.nn.encoders import TextBagEncoder
    >>> enc = TextBagEncoder(10, embedding_dim=4, out_features=3)
    >>> ids = torch.tensor([[1, 2, 0], [3, 0, 0]])
    >>> enc(ids, torch.ones(2, 3)).shape
    torch.Size([2, 3])
    """

    def __init__(self, vocabulary_size: int, embedding_dim: int = 64,
                 hidden: Sequence[int] = (), out_features: int | None = 32,
                 dropout: float = 0.0, token_dropout: float = 0.0,
                 activation: str | nn.Module = "relu") -> None:
        super().__init__()
        self.token_dropout = float(token_dropout)
        self.bag = nn.EmbeddingBag(max(vocabulary_size, 1), embedding_dim, mode="sum",
                                   padding_idx=0)
        # Small initial n-gram vectors (fastText's U(-1/d, 1/d)): the text representation
        # starts near zero and is learned, instead of starting as a random projection of
        # the TF-IDF vector that Adam's small steps barely move.
        with torch.no_grad():
            self.bag.weight.uniform_(-1.0 / embedding_dim, 1.0 / embedding_dim)
            self.bag.weight[0].zero_()
        self.bias = nn.Parameter(torch.zeros(embedding_dim))
        self.raw = out_features is None and not hidden
        self.net = _mlp(embedding_dim, hidden, out_features, activation, dropout)
        self.out_features = self.net.out_features
        self.drop = nn.Dropout(dropout)
        self.activation = make_activation(activation)

    def forward(self, ids: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        weights = weights.float()
        if self.training and self.token_dropout > 0:
            # drop whole n-grams of each text (input dropout on the TF-IDF vector)
            keep = torch.rand_like(weights) >= self.token_dropout
            weights = weights * keep / (1.0 - self.token_dropout)
        h = self.bag(ids.long(), per_sample_weights=weights) + self.bias
        if self.raw:
            return h
        return self.net(self.drop(self.activation(h)))


class ImageCNNEncoder(nn.Module):
    """A small CNN: two conv-activation-pool blocks, global pooling to 4x4, then an MLP.

    Parameters
    ----------
    image_shape : tuple of int
        ``(C, H, W)``.
    channels : sequence of int, default=(16, 32)
    hidden : sequence of int, default=()
    out_features : int or None, default=32
        ``None`` with ``hidden=()``: raw (the flattened image).
    dropout : float, default=0.0
    activation : str or nn.Module, default="relu"
        Activation after each convolution and in the MLP.

    Examples
    --------
    >>> import torch
    >>> from sklearn_mtml.nn.encoders import ImageCNNEncoder
    >>> ImageCNNEncoder((1, 8, 8), out_features=5)(torch.zeros(2, 1, 8, 8)).shape
    torch.Size([2, 5])
    """

    def __init__(self, image_shape: Sequence[int], channels: Sequence[int] = (16, 32),
                 hidden: Sequence[int] = (), out_features: int | None = 32,
                 dropout: float = 0.0, activation: str | nn.Module = "relu") -> None:
        super().__init__()
        c, h, w = image_shape
        self.raw = out_features is None and not hidden
        if self.raw:
            self.features = nn.Flatten()
            self.net, self.out_features = nn.Identity(), c * h * w
            return
        layers: list[nn.Module] = []
        size = c
        for width in channels:
            layers += [nn.Conv2d(size, width, 3, padding=1), make_activation(activation)]
            if min(h, w) >= 4:
                layers.append(nn.MaxPool2d(2))
                h, w = h // 2, w // 2
            size = width
        layers += [nn.AdaptiveAvgPool2d((min(h, 4), min(w, 4))), nn.Flatten()]
        self.features = nn.Sequential(*layers)
        self.net = _mlp(size * min(h, 4) * min(w, 4), hidden, out_features, activation,
                        dropout)
        self.out_features = self.net.out_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(self.features(x.float()))


def make_encoder(kind: str, *, n_numeric: int = 0, cardinalities: Sequence[int] = (),
                 vocabulary_size: int = 1, image_shape: Sequence[int] | None = None,
                 hidden: Sequence[int] = (64,), out_features: int | None = 32,
                 embedding_dim: int | None = None, dropout: float = 0.0,
                 token_dropout: float = 0.0, activation: str | nn.Module = "relu",
                 raw: bool = False) -> nn.Module:
    """The encoder of a modality type (``raw=True``: the untrained-representation variant).

    The type's block class (:data:`sklearn_mtml._modalities.MODALITY_BLOCKS`) builds it.

    Examples
    --------
    >>> from sklearn_mtml.nn.encoders import make_encoder
    >>> make_encoder("numeric", n_numeric=3, raw=True).out_features
    3
    >>> make_encoder("video")
    Traceback (most recent call last):
    ...
    ValueError: Unknown encoder 'video'; choose one of ['numeric', 'categorical', \
'tabular', 'text', 'image'] (an image shape goes as ('image', (H, W))).
    """
    return block_class(kind).build_encoder(
        n_numeric=n_numeric, cardinalities=cardinalities, vocabulary_size=vocabulary_size,
        image_shape=image_shape, hidden=hidden, out_features=out_features,
        embedding_dim=embedding_dim, dropout=dropout, token_dropout=token_dropout,
        activation=activation, raw=raw,
    )
