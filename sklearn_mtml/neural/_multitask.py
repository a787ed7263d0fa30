"""Neural multi-task estimators: sharing networks behind fit / predict / score."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils._available_if import available_if
from sklearn.utils._param_validation import StrOptions

from .._base import (
    MultiTaskClassifierMixin,
    MultiTaskRegressorMixin,
    _MultiTaskMixin,
)
from .._targets import CLASSIFICATION, REGRESSION, TaskData
from ._base import BaseMultiTaskNet
from ._params import NET_PARAMS, Param, constraints, make_init

__all__ = ["MultiTaskNet", "MultiTaskNetClassifier", "MultiTaskNetRegressor"]

_SHARED_DOC = """
    Missing labels (``NaN`` / ``None``) leave that sample out of that task's loss only: each
    task's loss is the mean over its observed labels. Wide ``y`` ``(n_samples, n_tasks)``
    or long format (``task_column``) follow the package's task contract. The network is a
    skorch ``NeuralNet`` held in ``net_``; batches are slices of tensors preloaded on the
    device, so training costs about what a hand-written PyTorch loop costs.
"""


def _fast(cls, **params):
    defaults = dict(hidden_layer_sizes=(16,), max_epochs=6, lr=0.05, batch_size=64,
                    random_state=0, n_threads=1)
    defaults.update(params)
    return cls(**defaults)


class MultiTaskNetRegressor(BaseMultiTaskNet, MultiTaskRegressorMixin, BaseEstimator):
    __doc__ = (
        """Multi-task neural network regressor (PyTorch through skorch).

    One network predicts every task; ``architecture`` chooses how the tasks share
    parameters and ``loss_weighting`` how their losses are balanced. Targets are
    standardised per task inside the model (and restored at predict time), so tasks on
    raw, different scales can be learned together; features are not scaled (put a
    ``StandardScaler`` in front).
    """
        + _SHARED_DOC
        + """
    Parameters
    ----------
    **params
        See :class:`~sklearn_mtml.neural.BaseMultiTaskNet` for every parameter
        (``architecture``, ``hidden_layer_sizes``, ``tower_sizes``, ``n_experts``, ...,
        ``loss_weighting``, ``task_weights``, ``head_shrinkage``, ``target_scaling``,
        ``optimizer``, ``lr``, ``max_epochs``, ``batch_size``, ``early_stopping``,
        ``device``, ``random_state``, ``verbose``, ``callbacks``, ``warm_start``,
        ``init_from``, ``task_column``, ``n_threads``, ``on_divergence``, ``accelerator``).

    Attributes
    ----------
    net_ : skorch.NeuralNet
        The trained skorch net; ``net_.module_`` is the torch network.
    history_ : skorch.History
        Per epoch: ``train_loss``, ``valid_loss`` (task means), ``train_task_losses``,
        ``valid_task_losses`` (one value per task), ``task_weights`` (the balancing
        weights), ``train_objective``, ``dur``.
    n_iter_ : int
        Epochs trained.
    device_ : torch.device
        Where the network lives.
    task_names_ : ndarray of object
    n_tasks_ : int
    n_features_in_ : int
    feature_names_in_ : ndarray of str

    See Also
    --------
    MultiTaskNetClassifier : the classification counterpart.
    MultiTaskNet : regression and classification tasks in one model.
    sklearn_mtml.MultiTaskRidge : the linear, closed-form baseline.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtml.neural import MultiTaskNetRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 5))
    >>> Y = np.column_stack([X @ rng.normal(size=5) for _ in range(3)]) * [1, 10, 100]
    >>> Y[::4, 1] = np.nan  # missing labels: left out of task 1's loss only
    >>> model = MultiTaskNetRegressor(architecture="mmoe", max_epochs=50, lr=0.01,
    ...                               random_state=0).fit(X, Y)
    >>> model.predict(X[:2]).shape
    (2, 3)
    >>> model.score(X, Y) > 0.9
    True
    """
    )

    @classmethod
    def _check_instance(cls):
        return _fast(cls)


class MultiTaskNetClassifier(BaseMultiTaskNet, MultiTaskClassifierMixin, BaseEstimator):
    __doc__ = (
        """Multi-task neural network classifier (PyTorch through skorch).

    Each task is binary or multiclass with its own labels (strings or integers); labels
    come back in the user's types and ``predict_proba`` returns one
    ``(n_samples, n_classes_t)`` array per task (one array for a 1-D ``y``).
    """
        + _SHARED_DOC
        + """
    Parameters
    ----------
    **params
        See :class:`~sklearn_mtml.neural.BaseMultiTaskNet` for every parameter.

    Attributes
    ----------
    classes_ : ndarray or list of ndarray
        Labels of the single task (1-D ``y``), else one array per task.
    net_ : skorch.NeuralNet
    history_ : skorch.History
        See :class:`MultiTaskNetRegressor`.
    n_iter_ : int
    device_ : torch.device
    task_names_ : ndarray of object
    n_tasks_ : int
    n_features_in_ : int

    See Also
    --------
    MultiTaskNetRegressor, MultiTaskNet

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtml.neural import MultiTaskNetClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 4))
    >>> y = np.column_stack([np.where(X[:, 0] > 0, "yes", "no"),
    ...                      np.digitize(X[:, 1], [-0.5, 0.5])]).astype(object)
    >>> y[::5, 0] = None  # a missing label
    >>> clf = MultiTaskNetClassifier(max_epochs=40, lr=0.01, random_state=0).fit(X, y)
    >>> clf.classes_
    [array(['no', 'yes'], dtype=object), array(['0', '1', '2'], dtype=object)]
    >>> [p.shape for p in clf.predict_proba(X[:3])]
    [(3, 2), (3, 3)]
    >>> clf.score(X, y) > 0.9
    True
    """
    )

    @classmethod
    def _check_instance(cls):
        return _fast(cls)

    def _predict_proba_tasks(self, X):
        return self._task_outputs(X)


#: ``MultiTaskNet``'s parameters: ``task_types`` (positional) and the common ones.
MULTITASK_NET_PARAMS = (
    Param("task_types", None, [StrOptions({REGRESSION, CLASSIFICATION}), list, tuple, None],
          keyword_only=False),
    *NET_PARAMS,
)


def _has_classification_task(estimator) -> bool:
    types = estimator.task_types
    if isinstance(types, str):
        return types == CLASSIFICATION
    return types is not None and CLASSIFICATION in list(types)


class MultiTaskNet(BaseMultiTaskNet, _MultiTaskMixin, BaseEstimator):
    __doc__ = (
        """Multi-task network mixing regression and classification tasks (wide ``y``).

    Why a third class rather than a ``task_types`` option on the regressor or the
    classifier: sklearn tools decide from an estimator's type how to split folds
    (stratified for classifiers), which scorer to use and whether ``predict_proba`` exists.
    A model predicting prices *and* labels is neither; claiming to be one would mislead
    ``cross_val_score`` and ``GridSearchCV``. ``score`` is the mean of the per-task scores
    (R² for regression tasks, accuracy for classification tasks).
    """
        + _SHARED_DOC
        + """
    Parameters
    ----------
    task_types : "regression", "classification" or list of them
        The kind of each task (one entry per column of ``y``), e.g.
        ``["regression", "classification"]``. Required.
    **params
        See :class:`~sklearn_mtml.neural.BaseMultiTaskNet` for every other parameter.

    Attributes
    ----------
    classes_ : list
        Per task: the labels of a classification task, ``None`` for a regression task.
    net_ : skorch.NeuralNet
    history_ : skorch.History
    n_iter_ : int
    device_ : torch.device
    task_names_ : ndarray of object
    n_tasks_ : int
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from sklearn_mtml.neural import MultiTaskNet
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 4))
    >>> y = pd.DataFrame({"price": 100 + 30 * X[:, 0] - 20 * X[:, 1],
    ...                   "label": np.where(X[:, 0] + X[:, 2] > 0, "up", "down")})
    >>> model = MultiTaskNet(task_types=["regression", "classification"],
    ...                      max_epochs=40, lr=0.01, random_state=0).fit(X, y)
    >>> model.predict(X[:2]).shape
    (2, 2)
    >>> proba = model.predict_proba(X[:2])
    >>> proba[0] is None, proba[1].shape
    (True, (2, 2))
    >>> model.score(X, y) > 0.9
    True
    """
    )

    _parameter_constraints: dict = constraints(MULTITASK_NET_PARAMS)

    __init__ = make_init(MULTITASK_NET_PARAMS, "MultiTaskNet")

    @classmethod
    def _check_instance(cls):
        return _fast(cls, task_types="regression")

    def _get_task_types(self):
        if self.task_types is None:
            raise ValueError(
                "MultiTaskNet needs task_types, one of 'regression' / 'classification' per "
                "task, e.g. task_types=['regression', 'classification']."
            )
        return self.task_types

    def _set_label_attributes(self, data: TaskData) -> None:
        self.classes_ = list(data.layout.classes)

    def _has_shared_part(self) -> bool:
        # long format has one task type; the heads' mean is defined for regression tasks
        regression = all(kind == REGRESSION for kind in self._task_layout.task_types)
        return regression and super()._has_shared_part()

    def _predict_shared(self, X) -> np.ndarray:
        return np.asarray(self._predict_tasks(X), dtype=np.float64).mean(axis=1)

    @available_if(_has_classification_task)
    def predict_proba(self, X):
        """Class probabilities of the classification tasks.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_columns)

        Returns
        -------
        proba : list
            Per task: ``(n_samples, n_classes_t)`` probabilities for a classification task,
            ``None`` for a regression task. A single task (1-D ``y``) gives its array.
        """
        outputs = self._in_blocks(X, lambda features, _: self._task_outputs(features))
        proba = [p if p.ndim == 2 else None for p in outputs]
        return proba[0] if self._task_layout.y_1d else proba

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.estimator_type = None
        return tags

