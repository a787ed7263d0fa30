"""How much each modality matters: the score drop when it is removed."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import check_scoring
from sklearn.utils import Bunch
from sklearn.utils.validation import check_is_fitted

from .._modalities import as_frame, resolve_modalities

__all__ = ["ModalityImportanceDisplay", "modality_importance", "remove_modality"]


def remove_modality(X, modality) -> pd.DataFrame:
    """A copy of ``X`` in which ``modality`` is absent in every row (its columns missing).

    Parameters
    ----------
    X : DataFrame or array-like of shape (n_samples, n_columns)
    modality : Modality
        A resolved modality (``estimator.modalities_[i]``).

    Returns
    -------
    X_removed : DataFrame
    """
    out = as_frame(X).copy()
    for pos in modality.positions:
        out.isetitem(pos, np.full(len(out), np.nan))
    return out


def _modalities_of(estimator, X, modalities):
    if modalities is not None:
        return resolve_modalities(X, modalities)
    fitted = getattr(estimator, "modalities_", None)
    if fitted is None and hasattr(estimator, "steps"):  # a Pipeline ending in one
        fitted = getattr(estimator.steps[-1][1], "modalities_", None)
    if fitted is None:
        raise ValueError(
            f"{type(estimator).__name__} has no fitted modalities_; pass modalities= to "
            "say which columns form which modality."
        )
    return list(fitted)


def modality_importance(estimator, X, y, *, scoring=None, modalities=None) -> Bunch:
    """Score drop when each modality is removed (made absent in every row).

    Removing a modality sets all its columns to missing, which the multi-modal estimators
    treat as the modality being absent (never as imputed values), so the drop measures
    what the model gains from that modality given the others. Unlike permutation
    importance it needs no repeats and no random state.

    Parameters
    ----------
    estimator : fitted estimator
        A multi-modal estimator (with ``modalities_``) or a pipeline ending in one; any
        other estimator that handles missing values works with ``modalities=``.
    X : DataFrame or array-like of shape (n_samples, n_columns)
    y : array-like
        Targets to score against.
    scoring : str, callable or None, default=None
        A scorer (``None``: the estimator's ``score``).
    modalities : dict or None, default=None
        A ``modalities`` spec, for estimators without ``modalities_``.

    Returns
    -------
    result : :class:`~sklearn.utils.Bunch`
        ``importances`` (ndarray of shape (n_modalities,): baseline score minus the score
        without the modality), ``scores`` (the scores without each modality),
        ``baseline_score``, ``modality_names``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sklearn_mtml.multimodal import LateFusionClassifier, modality_importance
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, 80)
    >>> X = pd.DataFrame({"signal": y + rng.normal(0, 0.3, 80), "noise": rng.normal(size=80)})
    >>> clf = LateFusionClassifier({"signal": ["signal"], "noise": ["noise"]}).fit(X, y)
    >>> result = modality_importance(clf, X, y)
    >>> list(result.modality_names), bool(result.importances[0] > result.importances[1])
    (['signal', 'noise'], True)
    """
    check_is_fitted(estimator)
    scorer = check_scoring(estimator, scoring=scoring)
    X = as_frame(X)
    mods = _modalities_of(estimator, X, modalities)
    baseline = float(scorer(estimator, X, y))
    scores = np.array([float(scorer(estimator, remove_modality(X, m), y)) for m in mods])
    return Bunch(
        importances=baseline - scores,
        scores=scores,
        baseline_score=baseline,
        modality_names=np.array([m.name for m in mods], dtype=object),
    )


class ModalityImportanceDisplay:
    """Bar chart of the score drop when each modality is removed.

    Build it with :meth:`from_estimator` (or from a :func:`modality_importance` result).

    Parameters
    ----------
    importances : ndarray of shape (n_modalities,)
    modality_names : array-like of str
    baseline_score : float

    Attributes
    ----------
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure
    bars_ : matplotlib BarContainer

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np, pandas as pd
    >>> from sklearn_mtml.multimodal import LateFusionRegressor, ModalityImportanceDisplay
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame(rng.normal(size=(60, 2)), columns=["a", "b"])
    >>> y = 3 * X["a"] + rng.normal(0, 0.1, 60)
    >>> reg = LateFusionRegressor({"a": ["a"], "b": ["b"]}).fit(X, y)
    >>> display = ModalityImportanceDisplay.from_estimator(reg, X, y)
    >>> [t.get_text() for t in display.ax_.get_yticklabels()]  # bottom to top
    ['b', 'a']
    """

    def __init__(self, importances, modality_names, baseline_score):
        self.importances = np.asarray(importances, dtype=np.float64)
        self.modality_names = np.asarray(modality_names, dtype=object)
        self.baseline_score = baseline_score

    def plot(self, ax=None, *, color="tab:blue"):
        """Draw horizontal bars, one per modality (largest drop on top).

        Parameters
        ----------
        ax : matplotlib Axes or None, default=None
        color : str, default="tab:blue"

        Returns
        -------
        display : ModalityImportanceDisplay
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        order = np.argsort(self.importances, kind="stable")  # largest drop on top
        self.bars_ = ax.barh(
            [str(self.modality_names[i]) for i in order], self.importances[order], color=color
        )
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_xlabel("score drop when the modality is removed")
        ax.set_title(f"Modality importance (baseline score {self.baseline_score:.3f})")
        self.ax_, self.figure_ = ax, ax.figure
        return self

    @classmethod
    def from_estimator(cls, estimator, X, y, *, scoring=None, modalities=None, ax=None):
        """Compute :func:`modality_importance` and plot it.

        Parameters
        ----------
        estimator, X, y, scoring, modalities
            As :func:`modality_importance`.
        ax : matplotlib Axes or None, default=None

        Returns
        -------
        display : ModalityImportanceDisplay
        """
        result = modality_importance(estimator, X, y, scoring=scoring, modalities=modalities)
        return cls(result.importances, result.modality_names, result.baseline_score).plot(ax=ax)
