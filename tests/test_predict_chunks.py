"""Prediction in row blocks (``_predict_chunk_rows``): the same output as one block.

Every estimator validates and predicts ``X`` a block of rows at a time, so predict's memory
does not grow with the number of rows beyond the output; the blocks must not change a
single prediction, nor what bad input raises.
"""

import numpy as np
import pandas as pd
import pytest

from sklearn_mtml import (
    LateFusionClassifier,
    MultiModalClassifier,
    MultiTaskNetClassifier,
    MultiTaskRidge,
)


def _chunked(model, rows=7):
    model._predict_chunk_rows = rows  # an instance attribute: only this model
    return model


def _wide(n=50, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    Y = np.c_[X[:, 0] + 0.1 * rng.normal(size=n), X[:, 1] - X[:, 2]]
    return X, Y


def test_wide_and_long_ridge_predictions_do_not_depend_on_blocks():
    X, Y = _wide()
    model = MultiTaskRidge(alpha=1.0).fit(X, Y)
    whole = model.predict(X)
    np.testing.assert_allclose(_chunked(model).predict(X), whole, rtol=1e-12, atol=1e-12)
    frame = pd.DataFrame(X, columns=list("abcd")).assign(task=np.arange(50) % 3)
    long = MultiTaskRidge(alpha=1.0, task_column="task").fit(frame, Y[:, 0])
    expected = long.predict(frame)
    np.testing.assert_allclose(_chunked(long, 11).predict(frame), expected, rtol=1e-12,
                               atol=1e-12)
    assert _chunked(long, 11).score(frame, Y[:, 0]) == pytest.approx(
        MultiTaskRidge(alpha=1.0, task_column="task").fit(frame, Y[:, 0]).score(frame, Y[:, 0]))


def test_classifier_probabilities_do_not_depend_on_blocks():
    X, Y = _wide()
    labels = (Y > 0).astype(int)
    model = MultiTaskNetClassifier(hidden_layer_sizes=(8,), max_epochs=3, random_state=0,
                                   n_threads=1).fit(X, labels)
    whole = model.predict_proba(X)
    chunked = _chunked(model).predict_proba(X)
    assert len(chunked) == 2
    for a, b in zip(chunked, whole):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    late = LateFusionClassifier(modalities={"a": [0, 1], "b": [2, 3]}).fit(X, labels[:, 0])
    np.testing.assert_allclose(_chunked(late).predict_proba(X), late.predict_proba(X),
                               rtol=1e-12, atol=1e-12)


def test_multimodal_frame_with_text_is_predicted_in_blocks():
    rng = np.random.default_rng(0)
    words = np.array(["good", "bad", "fine", "awful"])
    frame = pd.DataFrame({"x0": rng.normal(size=40), "x1": rng.normal(size=40),
                          "text": [" ".join(rng.choice(words, 3)) for _ in range(40)]})
    y = (frame["x0"] > 0).astype(int).to_numpy()
    model = MultiModalClassifier(encoder_sizes=(8,), fusion_size=8, hidden_layer_sizes=(8,),
                                 max_epochs=2, random_state=0, n_threads=1).fit(frame, y)
    np.testing.assert_allclose(_chunked(model, 9).predict_proba(frame),
                               model.predict_proba(frame), rtol=1e-6, atol=1e-7)


def test_bad_rows_in_a_later_block_still_raise():
    X, Y = _wide()
    model = _chunked(MultiTaskRidge(alpha=1.0).fit(X, Y))
    X_bad = X.copy()
    X_bad[45, 2] = np.nan  # in the 7th block
    with pytest.raises(ValueError, match="NaN"):
        model.predict(X_bad)


def test_every_predict_path_goes_through_the_blocks(monkeypatch):
    from sklearn_mtml import _base

    X, Y = _wide(n=30)
    labels = (Y > 0).astype(int)
    seen = []
    real = _base.check_predict_X

    def spy(estimator, X, *args, **kwargs):
        seen.append(len(X))
        return real(estimator, X, *args, **kwargs)

    monkeypatch.setattr(_base, "check_predict_X", spy)
    late = _chunked(LateFusionClassifier(modalities={"a": [0, 1], "b": [2, 3]}),
                    10).fit(X, labels[:, 0])
    seen.clear()
    late.predict_proba(X)
    late.predict(X)
    assert seen == [10, 10, 10, 10, 10, 10]


def test_mixed_task_net_probabilities_do_not_depend_on_blocks():
    from sklearn_mtml import MultiTaskNet

    X, Y = _wide()
    y = np.c_[Y[:, 0], (Y[:, 1] > 0).astype(float)]
    model = MultiTaskNet(task_types=["regression", "classification"], hidden_layer_sizes=(8,),
                         max_epochs=3, random_state=0, n_threads=1).fit(X, y)
    whole, whole_pred = model.predict_proba(X), model.predict(X).astype(float)
    chunked = _chunked(model).predict_proba(X)
    assert chunked[0] is None and whole[0] is None
    np.testing.assert_allclose(chunked[1], whole[1], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(model.predict(X).astype(float), whole_pred, rtol=1e-6)
