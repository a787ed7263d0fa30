"""MultiModalClassifier / MultiModalRegressor: fusions, absent modalities, multi-task heads."""

import pickle

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")

from conftest import REVIEW_WORDS as WORDS  # noqa: E402
from sklearn.model_selection import GridSearchCV, KFold  # noqa: E402

from sklearn_mtml.neural import MultiModalClassifier, MultiModalRegressor  # noqa: E402
from sklearn_mtml.nn.fusion import FUSIONS  # noqa: E402

SPEC = {"num": ["a", "b"], "cat": ["colour", "size"], "text": "review"}
FAST = dict(encoder_sizes=(16,), fusion_size=16, hidden_layer_sizes=(16,), max_epochs=25,
            lr=0.02, batch_size=32, random_state=0)


def _data(n=120, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    X = pd.DataFrame({
        "a": y + rng.normal(0, 0.7, n), "b": rng.normal(size=n),
        "colour": np.where(rng.random(n) < 0.8, np.where(y, "red", "blue"), "green"),
        "size": rng.choice(["S", "M", "L"], n),
        "review": [" ".join(rng.choice(WORDS[k], 3)) for k in y],
    })
    X.loc[:11, ["a", "b"]] = np.nan            # numeric modality absent
    X.loc[8:23, "review"] = None               # text absent (rows 8-11: both)
    X.loc[30:35, ["colour", "size"]] = None    # categorical absent
    Y = pd.DataFrame({"good": np.where(y, "yes", "no"),
                      "size_is_L": (X["size"] == "L").astype(object)})
    Y.loc[::5, "size_is_L"] = None             # missing labels for task 2
    return X, Y, y


def test_grid_search_over_every_fusion_with_absent_modalities_and_2d_y():
    X, Y, _ = _data()
    search = GridSearchCV(
        MultiModalClassifier(SPEC, **FAST), {"fusion": sorted(FUSIONS)},
        cv=KFold(2, shuffle=True, random_state=0), error_score="raise",
    ).fit(X, Y)
    scores = search.cv_results_["mean_test_score"]
    assert len(scores) == len(FUSIONS) and np.all(np.isfinite(scores))
    assert scores.max() > 0.75
    best = search.best_estimator_
    assert [m.kind for m in best.modalities_] == ["numeric", "categorical", "text"]
    proba = best.predict_proba(X)
    assert len(proba) == 2 and proba[0].shape == (len(X), 2)
    assert set(np.unique(best.predict(X)[:, 0])) <= {"yes", "no"}


@pytest.mark.parametrize("fusion", sorted(FUSIONS))
def test_predictions_finite_with_a_modality_absent_at_predict_time(fusion):
    X, Y, y = _data()
    clf = MultiModalClassifier(SPEC, fusion=fusion, modality_dropout=0.2, **FAST).fit(X, y)
    for cols in (["a", "b"], ["colour", "size"], ["review"], ["a", "b", "colour", "size",
                                                               "review"]):
        X_absent = X.assign(**{c: np.nan for c in cols})
        proba = clf.predict_proba(X_absent)
        assert np.isfinite(proba).all() and np.allclose(proba.sum(axis=1), 1, atol=1e-5)
    assert clf.score(X, y) > 0.8


def test_absent_modality_values_are_ignored():
    X, _, y = _data()
    clf = MultiModalClassifier(SPEC, fusion="attention", **FAST).fit(X, y)
    rows = X.iloc[:8]  # numeric absent there
    np.testing.assert_allclose(clf.predict_proba(rows), clf.predict_proba(rows.assign(a=np.nan)))


def test_regressor_multitask_missing_labels_and_pickle():
    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.normal(size=(150, 4)), columns=list("abcd"))
    Y = np.column_stack([X.a + X.c, 10 * (X.b - X.d) + 50])
    Y[::4, 1] = np.nan
    X.loc[:9, ["a", "b"]] = np.nan
    reg = MultiModalRegressor({"left": ["a", "b"], "right": ["c", "d"]}, fusion="gated",
                              loss_weighting="uncertainty",
                              **{**FAST, "max_epochs": 60}).fit(X, Y)
    assert reg.predict(X).shape == (150, 2)
    assert reg.score(X.iloc[10:], Y[10:]) > 0.7
    again = pickle.loads(pickle.dumps(reg))
    np.testing.assert_allclose(again.predict(X), reg.predict(X), rtol=1e-5)


def test_image_modality_and_early_stopping():
    rng = np.random.default_rng(2)
    n = 80
    y = rng.integers(0, 2, n)
    images = rng.normal(size=(n, 8, 8))
    images[y == 1, :4] += 1.5
    cells = np.empty(n, dtype=object)
    cells[:] = list(images)
    X = pd.DataFrame({"pic": cells, "noise": rng.normal(size=n)})
    X.loc[:4, "pic"] = None
    clf = MultiModalClassifier({"pic": "pic", "noise": ["noise"]}, early_stopping=True,
                               **FAST).fit(X, y)
    assert clf.modalities_[0].kind == "image" and clf.modalities_[0].image_shape == (1, 8, 8)
    assert clf.score(X, y) > 0.8
    pixels = pd.DataFrame(images.reshape(n, -1))
    clf = MultiModalClassifier({"pic": slice(None)}, modality_types={"pic": ("image", (8, 8))},
                               fusion="early", **FAST).fit(pixels, y)
    assert clf.score(pixels, y) > 0.8


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(modalities={"num": ["a", "zz"]}), "Modality 'num': column 'zz' is not a column"),
        (dict(modalities={"x": "a", "y": ["a", "b"]}), "Column 'a' is in two modalities"),
        (dict(modalities={"num": ["a"]}, modality_types={"num": "audio"}),
         "Unknown encoder 'audio' for modality 'num'"),
        (dict(modalities={"num": ["a", "b"]}, modality_types={"num": ("image", (3, 3))}),
         r"Modality 'num': image shape \(1, 3, 3\) needs 9 pixel columns"),
        (dict(modalities=SPEC, fusion="average"), "fusion"),
    ],
)
def test_bad_inputs_name_the_modality_and_column(params, match):
    X, _, y = _data(40)
    with pytest.raises(ValueError, match=match):
        MultiModalClassifier(**{**FAST, "max_epochs": 1, **params}).fit(X, y)


def test_array_input_with_positional_spec():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(90, 6))
    y = (X[:, 0] + X[:, 3] > 0).astype(int)
    clf = MultiModalClassifier({"first": [0, 1, 2], "second": slice(3, 6)}, fusion="tensor",
                               **FAST).fit(X, y)
    assert clf.score(X, y) > 0.8
    assert clf.predict(X[:2]).shape == (2,)


def test_modality_importance_of_a_neural_model():
    from sklearn_mtml.multimodal import modality_importance

    X, _, y = _data()
    clf = MultiModalClassifier(SPEC, **FAST).fit(X, y)
    result = modality_importance(clf, X, y)
    assert result.importances.shape == (3,) and np.isfinite(result.scores).all()


def test_alignment_objective_trains():
    X, _, y = _data()
    clf = MultiModalClassifier(SPEC, alignment_weight=0.1, **FAST).fit(X, y)
    assert clf.score(X, y) > 0.8


def test_warm_start_and_partial_fit_keep_the_first_vocabulary():
    X, _, y = _data()
    clf = MultiModalClassifier(SPEC, warm_start=True, **{**FAST, "max_epochs": 3}).fit(X, y)
    vocabulary = clf.preprocessor_.vocabulary_size_["text"]
    other = X.assign(review="entirely new words here")
    clf.fit(other, y)
    assert clf.preprocessor_.vocabulary_size_["text"] == vocabulary
    assert len(clf.history_) == 6
    part = MultiModalClassifier(SPEC, **FAST)
    part.partial_fit(X.iloc[:60], y[:60], classes=[0, 1])
    first = part.preprocessor_.vocabulary_size_["text"]
    part.partial_fit(other.iloc[60:], y[60:])
    assert part.preprocessor_.vocabulary_size_["text"] == first
    assert np.isfinite(part.predict_proba(X)).all()


def test_reconstruction_objective_trains_the_decoders():
    from skorch.callbacks import Callback

    class Snapshot(Callback):
        def on_train_begin(self, net, **kwargs):
            self.start = {k: v.detach().clone()
                          for k, v in net.module_.decoders.state_dict().items()}

    X, _, y = _data()
    clf = MultiModalClassifier(SPEC, reconstruction_weight=0.5, modality_dropout=0.2,
                               callbacks=[("snapshot", Snapshot())], **FAST).fit(X, y)
    snapshot = dict(clf.net_.callbacks_)["snapshot"]  # the net's own (cloned) instance
    decoders = clf.net_.module_.decoders
    assert len(decoders) >= 1
    # decoders get gradient from the reconstruction objective only: they must have moved
    for key, value in decoders.state_dict().items():
        assert not torch.equal(value, snapshot.start[key])
    assert clf.score(X, y) > 0.8
