"""Issue 11, item 9: the multi-modal surprises.

* a row with every modality absent is predicted from the training prior (class frequencies,
  mean), by the neural and the late-fusion estimators;
* columns of ``X`` in no modality are reported at fit (``UserWarning``), not at predict;
* an ambiguous text / categorical inference warns, and says how to override it.
"""

import pickle
import tempfile
import warnings

import numpy as np
import pandas as pd
import pytest
import torch

from sklearn_mtml._modalities import fit_modalities
from sklearn_mtml._modalities._frame import _text_inference
from sklearn_mtml.multimodal import LateFusionClassifier, LateFusionRegressor
from sklearn_mtml.neural import MultiModalClassifier, MultiModalRegressor

SPEC = {"m1": ["a"], "m2": ["b", "c"]}
FAST = dict(max_epochs=2, encoder_sizes=(8,), fusion_size=8, hidden_layer_sizes=(8,),
            batch_size=32, random_state=0)


def _data(n=90, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.choice([0, 1, 2], size=n, p=[0.2, 0.2, 0.6])
    X = pd.DataFrame({"a": y + rng.normal(0, 0.5, n), "b": rng.normal(size=n),
                      "c": rng.normal(size=n)})
    return X, y


def _absent(X, k=4):
    out = X.iloc[:k].copy()
    out[["a", "b", "c"]] = np.nan
    return out


def _frequencies(labels):
    values, counts = np.unique(labels, return_counts=True)
    return values, counts / counts.sum()


# ----------------------------------------------------------------------------- the prior
@pytest.mark.parametrize("fusion", ["concat", "attention", "late", "gated"])
def test_all_absent_rows_get_class_frequencies(fusion):
    X, y = _data()
    clf = MultiModalClassifier(SPEC, fusion=fusion, **FAST).fit(X, y)
    _, freq = _frequencies(y)
    proba = clf.predict_proba(_absent(X))
    np.testing.assert_allclose(proba, np.tile(freq, (4, 1)), rtol=1e-5)
    np.testing.assert_array_equal(clf.predict(_absent(X)), [2, 2, 2, 2])


def test_prior_per_task_with_missing_labels_and_string_labels():
    X, y = _data()
    Y = pd.DataFrame({"digit": y.astype(float),
                      "word": np.where(X.b > 0.8, "high", "low").astype(object)})
    Y.loc[::3, "digit"] = np.nan  # the prior counts the observed labels only
    clf = MultiModalClassifier(SPEC, **FAST).fit(X, Y)
    proba = clf.predict_proba(_absent(X))
    np.testing.assert_allclose(proba[0][0], _frequencies(Y.digit.dropna())[1], rtol=1e-5)
    np.testing.assert_allclose(proba[1][0], _frequencies(Y.word)[1], rtol=1e-5)
    assert list(clf.predict(_absent(X))[0]) == [2.0, "low"]


@pytest.mark.parametrize("scaling", ["task", "pooled"])
def test_all_absent_rows_get_the_training_mean(scaling):
    X, _ = _data()
    Y = np.column_stack([3 * X.a + 10, X.b - 5])
    Y[::4, 0] = np.nan
    reg = MultiModalRegressor(SPEC, target_scaling=scaling, **FAST).fit(X, Y)
    np.testing.assert_allclose(reg.predict(_absent(X)),
                               np.tile(np.nanmean(Y, axis=0), (4, 1)), rtol=1e-5)


def test_long_format_all_absent_rows_get_their_task_mean():
    X, _ = _data()
    X["task"] = np.where(np.arange(len(X)) % 3 == 0, "s", "t")
    y = np.where(X.task == "s", 10.0, -5.0) + X.a.to_numpy()
    reg = MultiModalRegressor(SPEC, task_column="task", **FAST).fit(X, y)
    rows = _absent(X)
    expected = [y[X.task == task].mean() for task in rows.task]
    np.testing.assert_allclose(reg.predict(rows), expected, rtol=1e-5)


def test_prior_only_touches_all_absent_rows():
    """Rows with a modality present get the network's own outputs; training never uses
    the prior (it is an evaluation-mode switch)."""
    X, y = _data()
    X.loc[:9, "a"] = np.nan  # rows with one modality absent
    X.loc[10:14, ["b", "c"]] = np.nan
    clf = MultiModalClassifier(SPEC, **FAST).fit(X, y)
    rows = pd.concat([X.iloc[:20], _absent(X)])
    with_prior = clf.predict_proba(rows)
    clf.net_.module_.set_absent_prior(None)
    without = clf.predict_proba(rows)
    np.testing.assert_array_equal(with_prior[:20], without[:20])
    assert not np.allclose(with_prior[20:], without[20:])


def _first_task(out):
    return out if isinstance(out, torch.Tensor) else out[0]


def test_training_mode_ignores_the_prior():
    X, y = _data()
    clf = MultiModalClassifier(SPEC, **FAST).fit(X, y)
    module = clf.net_.module_
    batch = clf._to_tensors(_absent(X), fit=False)
    module.eval()
    assert module.absent_prior_set.item() == 1.0
    with torch.no_grad():
        evaluated = _first_task(module(batch))
        np.testing.assert_allclose(torch.softmax(evaluated, 1)[0].numpy(),
                                   _frequencies(y)[1], rtol=1e-5)
        module.train()
        torch.manual_seed(0)
        trained = _first_task(module(batch)).numpy()
        module.set_absent_prior(None)
        torch.manual_seed(0)
        np.testing.assert_array_equal(trained, _first_task(module(batch)).numpy())
    module.eval()


def test_partial_fit_accumulates_the_prior_and_fit_resets_it():
    X, y = _data(n=120)
    clf = MultiModalClassifier(SPEC, **FAST)
    clf.partial_fit(X.iloc[:60], y[:60], classes=[0, 1, 2])
    clf.partial_fit(X.iloc[60:], y[60:])
    np.testing.assert_allclose(clf.predict_proba(_absent(X))[0], _frequencies(y)[1],
                               rtol=1e-5)
    clf.set_params(warm_start=True).fit(X.iloc[60:], y[60:])  # a fit: its own labels
    np.testing.assert_allclose(clf.predict_proba(_absent(X))[0], _frequencies(y[60:])[1],
                               rtol=1e-5)


def test_prior_survives_persistence():
    from sklearn_mtml.persistence import load_safe, save_safe

    X, y = _data()
    clf = MultiModalClassifier(SPEC, **FAST).fit(X, y)
    expected = clf.predict_proba(_absent(X))
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(clf)).predict_proba(_absent(X)),
                                  expected)
    with tempfile.TemporaryDirectory() as folder:
        path = f"{folder}/model.safetensors"
        save_safe(clf, path)
        np.testing.assert_array_equal(load_safe(path).predict_proba(_absent(X)), expected)


def test_weights_saved_without_the_prior_still_load():
    X, y = _data()
    clf = MultiModalClassifier(SPEC, **FAST).fit(X, y)
    module = clf.net_.module_
    state = {k: v for k, v in module.state_dict().items() if not k.startswith("absent_prior")}
    module.load_state_dict(state, strict=True)  # an older file: no prior (old behaviour)
    assert module.absent_prior_set.item() == 0.0


@pytest.mark.parametrize("combine", ["stacking", "average"])
def test_late_fusion_all_absent_rows_get_the_prior(combine):
    X, y = _data()
    clf = LateFusionClassifier(SPEC, combine=combine, cv=3).fit(X, y)
    np.testing.assert_allclose(clf.predict_proba(_absent(X)),
                               np.tile(_frequencies(y)[1], (4, 1)))
    np.testing.assert_array_equal(clf.predict(_absent(X)), [2, 2, 2, 2])
    target = 3 * X.a.to_numpy() + 1
    reg = LateFusionRegressor(SPEC, combine=combine, cv=3).fit(X, target)
    np.testing.assert_allclose(reg.predict(_absent(X)), np.full(4, target.mean()))


# ----------------------------------------------------------------------------- unused columns
def test_unused_columns_warn_at_fit_not_at_predict():
    X, y = _data()
    X["id"] = np.arange(len(X))
    X["note"] = "x"
    with pytest.warns(UserWarning, match=r"2 column\(s\) of X are in no modality") as record:
        clf = LateFusionClassifier(SPEC, cv=3).fit(X, y)
    messages = [str(w.message) for w in record if "no modality" in str(w.message)]
    assert len(messages) == 1  # once per fit
    assert "['id', 'note']" in messages[0] and "LateFusionClassifier" in messages[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf.predict(X)


def test_unused_columns_warning_lists_ten_names_and_the_count():
    X, y = _data()
    for i in range(13):
        X[f"extra{i}"] = 0.0
    with pytest.warns(UserWarning, match=r"13 column\(s\)") as record:
        MultiModalClassifier(SPEC, **FAST).fit(X, y)
    (message,) = [str(w.message) for w in record if "no modality" in str(w.message)]
    assert "'extra9', ... (13 in all)" in message and "'extra10'" not in message


def test_no_unused_columns_warning_when_every_column_is_used():
    X, y = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LateFusionClassifier(SPEC, cv=3).fit(X, y)
        LateFusionClassifier(None, cv=3).fit(X, y)  # modalities=None: every column


def test_task_column_is_not_an_unused_column():
    X, y = _data()
    X["task"] = np.where(np.arange(len(X)) % 2, "s", "t")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LateFusionRegressor(SPEC, task_column="task", cv=3).fit(X, X.a.to_numpy())


# ----------------------------------------------------------------------------- text or category
class _Fitting:
    modality_types = None

    def __init__(self, modalities, modality_types=None):
        self.modalities = modalities
        self.modality_types = modality_types


def _kinds(column, declared=None):
    frame = pd.DataFrame({"col": column})
    types = None if declared is None else {"col": declared}
    return [m.kind for m in fit_modalities(_Fitting({"col": "col"}, types), frame)]


def test_two_word_column_with_few_values_warns_categorical():
    column = np.resize(["too small", "love it", "runs large"], 60)
    with pytest.warns(UserWarning, match="could be text or categorical") as record:
        assert _kinds(column) == ["categorical"]
    message = str(record[0].message)
    assert "encoded as 'categorical'" in message
    assert "modality_types={'col': 'text'}" in message


def test_declared_type_never_warns():
    column = np.resize(["too small", "love it", "runs large"], 60)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _kinds(column, "text") == ["text"]
        assert _kinds(column, "categorical") == ["categorical"]


def test_clear_text_and_clear_category_do_not_warn():
    rng = np.random.default_rng(0)
    words = ["soft", "cheap", "lovely", "thin", "fits", "well", "returned", "great"]
    reviews = [" ".join(rng.choice(words, 6)) for _ in range(80)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _kinds(reviews) == ["text"]
        assert _kinds(np.resize(["red", "blue", "green"], 80)) == ["categorical"]
        # a pandas category dtype is a declaration
        assert _kinds(pd.Categorical(np.resize(["a b", "c d"], 80))) == ["categorical"]


def test_repeating_multi_word_levels_warn_text():
    levels = ["some college no degree", "less than high school", "bachelor degree or more"]
    with pytest.warns(UserWarning, match="encoded as 'text'.*'categorical'"):
        assert _kinds(np.resize(levels, 90)) == ["text"]


def test_many_short_distinct_values_warn_text():
    ids = [f"id{i}" for i in range(200)]
    with pytest.warns(UserWarning, match="many distinct values, but short ones"):
        assert _kinds(ids) == ["text"]


def test_text_inference_rule():
    assert _text_inference(pd.Series(["a b c d"] * 3 + [None])) == (True, None)
    assert _text_inference(pd.Series(["red", "blue"] * 5)) == (False, None)
    assert _text_inference(pd.Series([], dtype=object)) == (False, None)
    text, note = _text_inference(pd.Series(["new york", "san jose"] * 5))
    assert not text and "most have several words" in note
