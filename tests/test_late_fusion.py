"""LateFusionClassifier / LateFusionRegressor: modalities, absent modalities, tasks."""

import numpy as np
import pandas as pd
import pytest
from conftest import REVIEW_WORDS as WORDS
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV

from sklearn_mtml.multimodal import LateFusionClassifier, LateFusionRegressor


def _data(n=120, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    text = [" ".join(rng.choice(WORDS[k], 3)) + " fabric" for k in y]
    X = pd.DataFrame({
        "a": y + rng.normal(0, 0.8, n), "b": rng.normal(size=n),
        "colour": np.where(rng.random(n) < 0.7, np.where(y, "red", "blue"), "green"),
        "review": text,
    })
    X.loc[:14, ["a", "b"]] = np.nan          # numeric modality absent
    X.loc[10:24, "review"] = None            # text absent (rows 10-14: both absent)
    return X, y


SPEC = {"num": ["a", "b"], "cat": "colour", "text": "review"}


@pytest.mark.parametrize("combine", ["stacking", "average"])
def test_classifier_fits_with_absent_modalities(combine):
    X, y = _data()
    clf = LateFusionClassifier(SPEC, combine=combine).fit(X, y)
    assert [m.kind for m in clf.modalities_] == ["numeric", "categorical", "text"]
    assert clf.score(X, y) > 0.9
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 2) and np.allclose(proba.sum(axis=1), 1)
    # only the categorical modality is left in rows 10-14: still finite, sensible
    assert np.isfinite(proba[10:15]).all()
    # every modality absent at predict time: the prior
    empty = X.iloc[:3].copy()
    empty.loc[:, ["a", "b"]] = np.nan
    empty["colour"] = None
    empty["review"] = None
    assert np.isfinite(clf.predict_proba(empty)).all()


def test_absent_modality_casts_no_vote():
    X, y = _data()
    clf = LateFusionClassifier(SPEC, combine="average").fit(X, y)
    row = X.iloc[[30]].copy()
    only_text = clf.members_[0][2].predict_proba(np.array([row["review"].iloc[0]]))
    only_cat = clf.members_[0][1].predict_proba(row[["colour"]].to_numpy(dtype=object))
    row.loc[:, ["a", "b"]] = np.nan
    np.testing.assert_allclose(clf.predict_proba(row)[0], (only_text[0] + only_cat[0]) / 2)


def test_multitask_regressor_with_missing_labels():
    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.normal(size=(100, 4)), columns=list("abcd"))
    Y = np.column_stack([X.a + X.c, X.b - X.d]) + rng.normal(0, 0.05, (100, 2))
    Y[::5, 1] = np.nan
    X.loc[:9, ["a", "b"]] = np.nan
    reg = LateFusionRegressor({"first": ["a", "b"], "second": ["c", "d"]}).fit(X, Y)
    assert reg.predict(X).shape == (100, 2)
    assert reg.score(X.iloc[10:], Y[10:]) > 0.9
    avg = LateFusionRegressor({"first": ["a", "b"], "second": ["c", "d"]}, combine="average",
                              weights={"first": 2.0}).fit(X, Y)
    assert np.isfinite(avg.predict(X)).all()


def test_custom_estimators_and_grid_search_over_combine():
    X, y = _data()
    clf = LateFusionClassifier(SPEC, estimators={"numeric": LogisticRegression(C=0.1)})
    search = GridSearchCV(clf, {"combine": ["stacking", "average"]}, cv=3).fit(X, y)
    assert search.best_score_ > 0.8
    assert search.best_estimator_.members_[0][0].C == 0.1


def test_bad_parameters_name_the_modality():
    X, y = _data()
    with pytest.raises(ValueError, match=r"weights names unknown modality\(ies\) \['img'\]"):
        LateFusionClassifier(SPEC, combine="average", weights={"img": 1.0}).fit(X, y)
    with pytest.raises(ValueError, match="Modality 'num': column 'zz' is not a column"):
        LateFusionClassifier({"num": ["a", "zz"]}).fit(X, y)
    with pytest.raises(ValueError, match="'review' is in two modalities"):
        LateFusionClassifier({"t": "review", "u": ["review"]}).fit(X, y)


def test_string_labels_and_tabular_modality():
    X, y = _data()
    labels = np.where(y, "good", "bad")
    clf = LateFusionClassifier({"tab": ["a", "colour"], "text": "review"}).fit(X, labels)
    assert clf.modalities_[0].kind == "tabular"
    assert set(clf.predict(X)) <= {"good", "bad"}


def test_modality_importance_and_display():
    import matplotlib

    matplotlib.use("Agg")
    from sklearn_mtml.multimodal import ModalityImportanceDisplay, modality_importance

    X, y = _data()
    clf = LateFusionClassifier(SPEC).fit(X, y)
    result = modality_importance(clf, X, y, scoring="accuracy")
    assert list(result.modality_names) == ["num", "cat", "text"]
    assert np.allclose(result.baseline_score - result.scores, result.importances)
    assert result.importances.max() > 0
    display = ModalityImportanceDisplay.from_estimator(clf, X, y)
    assert len(display.bars_) == 3
    with pytest.raises(ValueError, match="pass modalities="):
        modality_importance(LogisticRegression().fit(X[["b"]].fillna(0), y), X, y)


def test_long_format_task_column():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"task": rng.integers(0, 3, 90), "a": rng.normal(size=90),
                      "b": rng.normal(size=90)})
    y = X.a * (X.task + 1) + X.b
    reg = LateFusionRegressor({"m1": ["a"], "m2": ["b"]}, task_column="task").fit(X, y)
    assert reg.n_tasks_ == 3 and reg.predict(X).shape == (90,)
    assert reg.score(X, y) > 0.9
