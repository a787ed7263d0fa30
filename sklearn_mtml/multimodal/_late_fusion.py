"""Late fusion without torch: one sklearn estimator per modality, stacked or averaged."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

from .._base import MultiTaskClassifierMixin, MultiTaskRegressorMixin
from .._modalities import (
    Modality,
    _level_key,
    _missing_scalar,
    _numeric_array,
    fit_modalities,
    validate_modality_X,
)
from .._targets import TaskData

__all__ = ["LateFusionClassifier", "LateFusionRegressor", "default_modality_estimator"]

_MISSING = "<missing>"
_ALPHAS = np.logspace(-3, 3, 7)


def _to_float(X):
    return np.asarray(X, dtype=np.float64)


def _numeric_steps():
    return [SimpleImputer(keep_empty_features=True), StandardScaler()]


def _one_hot():
    return OneHotEncoder(handle_unknown="ignore")


def _final(classifier: bool):
    return LogisticRegression(max_iter=1000) if classifier else RidgeCV(alphas=_ALPHAS)


def default_modality_estimator(modality: Modality, classifier: bool):
    """The default per-modality estimator of the late-fusion models.

    ``"numeric"`` / ``"image"``: mean imputation, standardisation, then
    ``LogisticRegression`` (classification) or ``RidgeCV`` (regression); ``"categorical"``:
    one-hot encoding; ``"tabular"``: both side by side; ``"text"``: word 1-2-gram TF-IDF
    with sublinear tf.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn_mtml._modalities import resolve_modalities
    >>> from sklearn_mtml.multimodal import default_modality_estimator
    >>> (m,) = resolve_modalities(pd.DataFrame({"t": ["a long text here"] * 3}), {"t": "t"})
    >>> [step for step, _ in default_modality_estimator(m, classifier=True).steps]
    ['tfidfvectorizer', 'logisticregression']
    """
    final = _final(classifier)
    if modality.kind in ("numeric", "image"):
        return make_pipeline(*_numeric_steps(), final)
    if modality.kind == "categorical":
        return make_pipeline(_one_hot(), final)
    if modality.kind == "text":
        return make_pipeline(
            TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), token_pattern=r"(?u)\b\w+\b"),
            final,
        )
    k = len(modality.numeric)
    columns = ColumnTransformer([
        ("numeric", make_pipeline(FunctionTransformer(_to_float), *_numeric_steps()),
         list(range(k))),
        ("categorical", _one_hot(), list(range(k, k + len(modality.categorical)))),
    ])
    return make_pipeline(columns, final)


def _member_input(modality: Modality, X):
    """A modality's data in the form its sklearn estimator takes."""
    raw = modality.raw(X)
    if modality.kind == "categorical":
        return _as_category_keys(raw)
    if modality.kind == "tabular":
        num = _numeric_array(raw.iloc[:, list(modality.numeric)], modality).astype(object)
        cat = _as_category_keys(raw.iloc[:, list(modality.categorical)].to_numpy(dtype=object))
        return np.concatenate([num, cat], axis=1)
    return raw


def _as_category_keys(values: np.ndarray) -> np.ndarray:
    out = np.empty(values.shape, dtype=object)
    for idx, v in np.ndenumerate(values):
        out[idx] = _MISSING if _missing_scalar(v) else _level_key(v)
    return out


def _take(data, rows):
    return data.iloc[rows] if hasattr(data, "iloc") else data[rows]


class _Constant:
    """A member that saw too little data: predicts the training distribution / mean."""

    def __init__(self, value):
        self.value = np.asarray(value, dtype=np.float64)

    def predict(self, X):
        return np.full(len(X), float(self.value))

    def predict_proba(self, X):
        return np.tile(self.value, (len(X), 1))


class _BaseLateFusion:
    """Shared fit logic of :class:`LateFusionClassifier` / :class:`LateFusionRegressor`."""

    _allow_nan_X = True

    _parameter_constraints: dict = {
        "modalities": [dict, None],
        "modality_types": [dict, None],
        "estimators": [dict, None],
        "combine": [StrOptions({"stacking", "average"})],
        "weights": [dict, None],
        "final_estimator": [None, HasMethods(["fit"])],
        "cv": [Interval(Integral, 2, None, closed="left")],
        "task_column": [None, str, Integral],
    }

    def __init__(self, modalities=None, *, modality_types=None, estimators=None,
                 combine="stacking", weights=None, final_estimator=None, cv=5,
                 task_column=None):
        self.modalities = modalities
        self.modality_types = modality_types
        self.estimators = estimators
        self.combine = combine
        self.weights = weights
        self.final_estimator = final_estimator
        self.cv = cv
        self.task_column = task_column

    def _convert_X(self, features, reset):
        return validate_modality_X(self, features, reset)

    def fit(self, X, y):
        """Fit one estimator per modality and task, and their combination.

        No ``sample_weight``: the members are any sklearn estimators (the default ones are
        pipelines), which do not all take weights, so weights could not reach every part
        of the model; a weighted late fusion would be silently unweighted in part.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_columns)
            Features of every modality, plus the task-id column when ``task_column`` is
            set.
        y : array-like, Series or DataFrame of shape (n_samples,) or (n_samples, n_tasks)
            Targets; ``NaN`` marks a missing label.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return super().fit(X, y)

    # ------------------------------------------------------------------ fit
    def _member(self, modality: Modality):
        chosen = (self.estimators or {})
        if modality.name in chosen:
            return clone(chosen[modality.name])
        if modality.kind in chosen:
            return clone(chosen[modality.kind])
        return default_modality_estimator(modality, self._classifier)

    def _check_keys(self):
        names = {m.name for m in self.modalities_}
        kinds = {"numeric", "categorical", "tabular", "text", "image"}
        for what, value in (("estimators", self.estimators), ("weights", self.weights)):
            unknown = [k for k in (value or {}) if k not in names | (kinds if what ==
                       "estimators" else set())]
            if unknown:
                raise ValueError(
                    f"{what} names unknown modality(ies) {unknown}; modalities are "
                    f"{sorted(names)}."
                )

    def _fit(self, data: TaskData, sample_weight=None):
        mods = fit_modalities(self, data.X)
        self.modalities_ = mods
        self.modality_names_ = np.array([m.name for m in mods], dtype=object)
        self._check_keys()
        if self._classifier:
            for name, classes in zip(data.layout.names, data.layout.classes):
                if classes.dtype.kind == "f":
                    raise ValueError(
                        f"Unknown label type: task {name!r} has continuous targets; "
                        f"{type(self).__name__} needs class labels (use a regressor)."
                    )
        X = data.X
        inputs = [_member_input(m, X) for m in mods]
        presence = np.column_stack([m.present(X) for m in mods])
        self.members_, self.final_estimators_, self._priors = [], [], []
        self._absent_priors = []
        for t in range(data.Y.shape[1]):
            rows = data.mask[:, t]
            y = data.Y[:, t]
            prior = self._prior(y[rows], t)
            self._priors.append(prior)
            self._absent_priors.append(self._prior(y[rows], t, smooth=False))
            members, oof = [], []
            for j, m in enumerate(mods):
                use = np.flatnonzero(rows & presence[:, j])
                member = self._fit_member(self._member(m), _take(inputs[j], use), y[use], t)
                members.append(member)
                if self.combine == "stacking":
                    out = np.zeros((len(y), self._n_outputs(t)))
                    if len(use):
                        out[use] = self._out_of_fold(m, _take(inputs[j], use), y[use], t)
                    oof.append(out)
            self.members_.append(members)
            if self.combine == "stacking":
                meta = self._meta_features(oof, presence, prior)[rows]
                self.final_estimators_.append(self._fit_final(meta, y[rows]))
        self.n_modalities_ = len(mods)
        return self

    def _fit_member(self, estimator, X, y, t):
        if len(y) < 2 or len(np.unique(y)) < 2:
            return _Constant(self._prior(y, t) if len(y) else self._priors[t])
        return estimator.fit(X, self._member_target(y))

    def _out_of_fold(self, modality, X, y, t):
        """Cross-validated member outputs (in-sample when there is too little data)."""
        out = np.zeros((len(y), self._n_outputs(t)))
        if self._classifier:
            counts = np.unique(y, return_counts=True)[1]
            n_splits = min(self.cv, int(counts.min())) if len(counts) > 1 else 0
            splitter = StratifiedKFold(n_splits) if n_splits >= 2 else None
        else:
            n_splits = min(self.cv, len(y))
            splitter = KFold(n_splits) if n_splits >= 2 else None
        if splitter is None:
            member = self._fit_member(self._member(modality), X, y, t)
            return self._member_output(member, X, t)
        for train, test in splitter.split(np.zeros(len(y)), y):
            member = self._fit_member(self._member(modality), _take(X, train), y[train], t)
            out[test] = self._member_output(member, _take(X, test), t)
        return out

    # ------------------------------------------------------------------ predict
    def _task_outputs(self, X, t):
        mods = self.modalities_
        presence = np.column_stack([m.present(X) for m in mods])
        outs = []
        for j, m in enumerate(mods):
            out = np.zeros((len(X), self._n_outputs(t)))
            rows = np.flatnonzero(presence[:, j])
            if len(rows):
                out[rows] = self._member_output(
                    self.members_[t][j], _take(_member_input(m, X), rows), t
                )
            outs.append(out)
        return outs, presence

    def _combined(self, X, t):
        """Task ``t``'s outputs; a row with every modality absent (no evidence, or only
        modalities of weight 0) gets the training prior: the class frequencies, or the
        mean, of the task's training labels."""
        outs, presence = self._task_outputs(X, t)
        prior = self._priors[t]
        absent_prior = np.atleast_1d(getattr(self, "_absent_priors", self._priors)[t])
        if self.combine == "stacking":
            meta = self._meta_features(outs, presence, prior)
            out = self._final_output(self.final_estimators_[t], meta, t)
            return np.where(presence.any(axis=1, keepdims=True), out, absent_prior)
        weights = np.array([float((self.weights or {}).get(m.name, 1.0))
                            for m in self.modalities_])
        w = presence * weights
        total = w.sum(axis=1, keepdims=True)
        mixed = sum(w[:, [j]] * o for j, o in enumerate(outs))
        return np.where(total > 0, mixed / np.where(total > 0, total, 1.0), absent_prior)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        return tags


class LateFusionClassifier(_BaseLateFusion, MultiTaskClassifierMixin, BaseEstimator):
    """Late-fusion classifier: one sklearn classifier per modality, stacked or averaged.

    Each modality gets its own estimator (default: a scaled ``LogisticRegression`` on
    numeric columns, one-hot encoding for categories, TF-IDF for text). ``combine="stacking"``
    fits a ``LogisticRegression`` on the members' cross-validated log-probability ratios
    ``log p_m(c) - log prior(c)``; ``"average"`` averages the members' probabilities
    (optionally weighted). A modality absent in a row casts no vote there (its stacking
    features are 0, i.e. "no evidence"; it is left out of the average); a row with every
    modality absent gets the class frequencies of the task's training labels. No torch.

    Parameters
    ----------
    modalities : dict of {str: columns} or None, default=None
        Columns of each modality (names, positions, a slice or one name); ``None``: all
        columns form one modality. See :func:`sklearn_mtml._modalities.resolve_modalities`.
    modality_types : dict or None, default=None
        Overrides of the inferred modality types (``"numeric"``, ``"categorical"``,
        ``"tabular"``, ``"text"``, ``"image"``).
    estimators : dict of {str: estimator} or None, default=None
        Per modality name (or type), the classifier to use instead of the default; it must
        implement ``predict_proba``.
    combine : {"stacking", "average"}, default="stacking"
    weights : dict of {str: float} or None, default=None
        ``combine="average"``: per-modality weights (default 1).
    final_estimator : classifier or None, default=None
        ``combine="stacking"``: the meta-classifier (default ``LogisticRegression``).
    cv : int, default=5
        Folds for the out-of-fold member predictions (stacking).
    task_column : int, str or None, default=None
        Long format: the column of ``X`` with each row's task id (not a feature; a
        positional ``modalities`` spec then counts the columns without it).

    Attributes
    ----------
    modalities_ : list of Modality
        The resolved modalities (name, type, columns).
    modality_names_ : ndarray of object
    members_ : list of list
        ``members_[t][m]``: the fitted estimator of modality ``m`` for task ``t``.
    final_estimators_ : list
        Per task, the fitted meta-classifier (stacking).
    classes_ : ndarray or list of ndarray
        Labels (per task for a 2-D ``y``).
    task_names_ : ndarray of object
    n_tasks_ : int
    n_features_in_ : int
    feature_names_in_ : ndarray of str

    See Also
    --------
    LateFusionRegressor : the regression counterpart.
    sklearn_mtml.neural.MultiModalClassifier : neural fusion (``fusion="late"`` and others).
    sklearn.ensemble.StackingClassifier : stacking over one shared feature matrix.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sklearn_mtml.multimodal import LateFusionClassifier
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, 60)
    >>> X = pd.DataFrame({"a": y + rng.normal(0, 0.5, 60), "b": rng.normal(size=60),
    ...                   "colour": np.where(y, "red", "blue")})
    >>> X.loc[:9, "colour"] = None  # absent in ten rows: no vote there
    >>> clf = LateFusionClassifier({"num": ["a", "b"], "cat": "colour"}).fit(X, y)
    >>> round(clf.score(X, y), 2)
    0.98
    >>> clf.predict_proba(X.iloc[:2]).shape
    (2, 2)
    >>> [m.kind for m in clf.modalities_]
    ['numeric', 'categorical']
    """

    _classifier = True

    def _prior(self, y, t, smooth: bool = True):
        """Class frequencies of labels ``y`` (``smooth``: plus one of each class, so that
        none is 0); uniform without labels."""
        k = len(self._task_layout.classes[t])
        counts = np.bincount(np.asarray(y, dtype=np.intp), minlength=k).astype(float)
        if smooth or counts.sum() == 0:
            counts += 1.0
        return counts / counts.sum()

    def _n_outputs(self, t):
        return len(self._task_layout.classes[t])

    def _member_target(self, y):
        return np.asarray(y, dtype=np.intp)

    def _member_output(self, member, X, t):
        proba = member.predict_proba(X)
        if isinstance(member, _Constant):
            return proba
        out = np.zeros((len(proba), self._n_outputs(t)))
        out[:, np.asarray(member.classes_, dtype=np.intp)] = proba
        return out

    def _meta_features(self, outs, presence, prior):
        feats = []
        for j, out in enumerate(outs):
            ratio = np.log(np.clip(out, 1e-6, 1.0)) - np.log(prior)
            feats.append(np.where(presence[:, [j]], ratio, 0.0))
        return np.concatenate(feats, axis=1)

    def _fit_final(self, meta, y):
        if len(np.unique(y)) < 2:
            return _Constant(None)
        final = clone(self.final_estimator) if self.final_estimator is not None else _final(True)
        return final.fit(meta, np.asarray(y, dtype=np.intp))

    def _final_output(self, final, meta, t):
        if isinstance(final, _Constant):
            return np.tile(self._priors[t], (len(meta), 1))
        return self._member_output(final, meta, t)

    def _predict_proba_tasks(self, X):
        return [self._combined(X, t) for t in range(self.n_tasks_)]


class LateFusionRegressor(_BaseLateFusion, MultiTaskRegressorMixin, BaseEstimator):
    """Late-fusion regressor: one sklearn regressor per modality, stacked or averaged.

    Each modality gets its own estimator (default: ``RidgeCV`` after scaling / one-hot /
    TF-IDF, by modality type). ``combine="stacking"`` fits ``RidgeCV`` on the members'
    cross-validated, centred predictions (0 where a modality is absent: no evidence);
    ``"average"`` averages the present members' predictions (optionally weighted). A row
    with every modality absent gets the mean of the task's training labels.
    No torch.

    Parameters
    ----------
    modalities : dict of {str: columns} or None, default=None
        Columns of each modality; ``None``: all columns form one modality.
    modality_types : dict or None, default=None
        Overrides of the inferred modality types.
    estimators : dict of {str: estimator} or None, default=None
        Per modality name (or type), the regressor to use instead of the default.
    combine : {"stacking", "average"}, default="stacking"
    weights : dict of {str: float} or None, default=None
        ``combine="average"``: per-modality weights (default 1).
    final_estimator : regressor or None, default=None
        ``combine="stacking"``: the meta-regressor (default ``RidgeCV``).
    cv : int, default=5
        Folds for the out-of-fold member predictions (stacking).
    task_column : int, str or None, default=None
        Long format: the column of ``X`` with each row's task id (not a feature; a
        positional ``modalities`` spec then counts the columns without it).

    Attributes
    ----------
    modalities_ : list of Modality
    modality_names_ : ndarray of object
    members_ : list of list
        ``members_[t][m]``: the fitted estimator of modality ``m`` for task ``t``.
    final_estimators_ : list
        Per task, the fitted meta-regressor (stacking).
    task_names_ : ndarray of object
    n_tasks_ : int
    n_features_in_ : int
    feature_names_in_ : ndarray of str

    See Also
    --------
    LateFusionClassifier : the classification counterpart.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtml.multimodal import LateFusionRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(80, 4))
    >>> y = X[:, 0] + 2 * X[:, 2] + rng.normal(0, 0.1, 80)
    >>> reg = LateFusionRegressor({"first": [0, 1], "second": [2, 3]}).fit(X, y)
    >>> round(reg.score(X, y), 1)
    1.0
    """

    _classifier = False

    def _prior(self, y, t, smooth: bool = True):
        """Mean of labels ``y`` (0 without labels)."""
        return np.array(float(np.mean(y)) if len(y) else 0.0)

    def _n_outputs(self, t):
        return 1

    def _member_target(self, y):
        return np.asarray(y, dtype=np.float64)

    def _member_output(self, member, X, t):
        return np.asarray(member.predict(X), dtype=np.float64).reshape(-1, 1)

    def _meta_features(self, outs, presence, prior):
        return np.concatenate(
            [np.where(presence[:, [j]], out - prior, 0.0) for j, out in enumerate(outs)], axis=1
        )

    def _fit_final(self, meta, y):
        final = clone(self.final_estimator) if self.final_estimator is not None else _final(False)
        return final.fit(meta, y)

    def _final_output(self, final, meta, t):
        return np.asarray(final.predict(meta), dtype=np.float64).reshape(-1, 1)

    def _predict_tasks(self, X):
        return np.column_stack([self._combined(X, t)[:, 0] for t in range(self.n_tasks_)])

