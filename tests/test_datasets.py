"""Tests of the bundled dataset loaders."""

import numpy as np
import pandas as pd
import pytest

from sklearn_mtml import MultiTaskRidge
from sklearn_mtml.datasets import load_multiple_features, load_school, load_womens_ecommerce


@pytest.fixture(scope="module")
def school_frame():
    return load_school(as_frame=True)


def test_school_frame(school_frame):
    b = school_frame
    assert b.data.shape == (15362, 28)
    assert b.feature_names[0] == "school" and b.feature_names[1:] == [
        f"x{i:02d}" for i in range(27)
    ]
    assert list(b.data.columns) == b.feature_names
    assert b.target.name == "score" and b.target_names == ["score"]
    assert b.task_column == "school"
    counts = b.data["school"].value_counts()
    assert len(counts) == 139 and counts.min() == 22 and counts.max() == 251
    assert b.target.between(1, 70).all()
    assert list(b.frame.columns) == b.feature_names + ["score"]
    assert "MALSAR" in b.DESCR


def test_school_array_matches_frame(school_frame):
    b = load_school()
    assert b.frame is None and b.task_column == 0
    assert isinstance(b.data, np.ndarray) and b.data.dtype == np.float64
    np.testing.assert_array_equal(b.data, school_frame.data.to_numpy(dtype=float))
    np.testing.assert_array_equal(b.target, school_frame.target.to_numpy())
    X, y = load_school(return_X_y=True)
    np.testing.assert_array_equal(X, b.data)


def test_school_task_column_fits_long_format(school_frame):
    """Both the name (DataFrame) and the position (array) work as ``task_column``."""
    X, y = school_frame.data, school_frame.target
    first = X["school"].isin([1, 2, 3])
    by_name = MultiTaskRidge(task_column="school").fit(X[first], y[first])
    assert list(by_name.task_names_) == [1, 2, 3]
    Xa, ya = load_school(return_X_y=True)
    by_pos = MultiTaskRidge(task_column=0).fit(Xa[first.to_numpy()], ya[first.to_numpy()])
    np.testing.assert_allclose(
        by_name.predict(X[first]), by_pos.predict(Xa[first.to_numpy()])
    )


def test_multiple_features_views():
    b = load_multiple_features(as_frame=True)
    assert b.data.shape == (2000, 649)
    sizes = {view: len(cols) for view, cols in b.views.items()}
    assert sizes == {"fou": 76, "fac": 216, "kar": 64, "pix": 240, "zer": 47, "mor": 6}
    # views partition the columns, in order
    assert [c for cols in b.views.values() for c in cols] == list(b.data.columns)
    assert b.data["fou_0"].dtype == np.float64
    assert np.bincount(b.target.to_numpy()).tolist() == [200] * 10
    np.testing.assert_array_equal(b.target_names, np.arange(10))
    arr = load_multiple_features()
    assert arr.views["fou"] == list(range(76)) and arr.views["mor"] == list(range(643, 649))
    np.testing.assert_array_equal(arr.data[:, arr.views["zer"]], b.data[b.views["zer"]])


def test_multiple_features_labels_are_digits():
    """The pix view is the 15x16 image: the classes must differ (labels aligned)."""
    X, y = load_multiple_features(return_X_y=True)
    pix = X[:, 64 + 216 + 76 : 64 + 216 + 76 + 240]
    means = np.array([pix[y == d].mean(axis=0) for d in range(10)])
    # each class mean is closest to itself: a misaligned label column would fail this
    assert y[:200].tolist() == [0] * 200
    dist = ((pix[:, None, :] - means[None]) ** 2).sum(-1)
    assert (dist.argmin(1) == y).mean() > 0.8


@pytest.fixture(scope="module")
def womens_frame():
    return load_womens_ecommerce(as_frame=True)


def test_womens_ecommerce_raw(womens_frame):
    b = womens_frame
    assert b.data.shape == (23486, 8)
    assert list(b.target.columns) == ["Rating", "Recommended IND"]
    assert set(b.target["Rating"]) == {1, 2, 3, 4, 5}
    assert set(b.target["Recommended IND"]) == {0, 1}
    spec = b.modalities
    assert spec["text"] == "Review Text" and spec["title"] == "Title"
    for cols in spec.values():
        assert set([cols] if isinstance(cols, str) else cols) <= set(b.data.columns)
    assert b.data["Review Text"].isna().sum() == 845


def test_womens_ecommerce_published(womens_frame):
    X, y = load_womens_ecommerce(as_frame=True, return_X_y=True, preprocess="published")
    assert len(X) == len(y) == 22607
    assert X["Review Text"].str.split().str.len().min() >= 5
    assert sorted(y["Rating"].unique().tolist()) == [0, 1, 2, 3]
    # majority class share as published (0.554)
    assert y["Rating"].value_counts(normalize=True).max() == pytest.approx(0.554, abs=1e-3)
    # merged ratings: raw 1 and 2 both map to 0, raw 5 to 3
    raw = womens_frame.frame
    raw = raw[raw["Review Text"].fillna("").str.split().str.len() >= 5]
    expected = raw["Rating"].map({1: 0, 2: 0, 3: 1, 4: 2, 5: 3}).to_numpy()
    np.testing.assert_array_equal(y["Rating"].to_numpy(), expected)


def test_womens_ecommerce_array():
    b = load_womens_ecommerce()
    assert b.frame is None and b.data.dtype == object and b.target.shape == (23486, 2)
    assert b.data[0, b.modalities["text"]].startswith("Absolutely wonderful")
    assert all(isinstance(p, int) for p in b.modalities["tabular"])
    assert pd.isna(b.data[0, b.modalities["title"]])


def test_womens_ecommerce_bad_preprocess():
    with pytest.raises(ValueError, match="preprocess"):
        load_womens_ecommerce(preprocess="nope")
