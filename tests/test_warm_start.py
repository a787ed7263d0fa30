"""warm_start follows MLPRegressor's rule: what cannot continue is refused before any state
is touched (the fitted model survives); what can change takes effect."""

import numpy as np
import pytest

from sklearn_mtml.neural import MultiTaskNetClassifier, MultiTaskNetRegressor

FAST = dict(hidden_layer_sizes=(8,), max_epochs=3, lr=0.01, random_state=0, n_threads=1)


def _data(n=120, d=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    return X, np.column_stack([X[:, 0] - X[:, 1], X[:, 2]])


def _survives(model, X, before):
    np.testing.assert_array_equal(model.predict(X), before)


def test_other_columns_are_refused_and_the_model_survives():
    X, Y = _data()
    model = MultiTaskNetRegressor(warm_start=True, **FAST).fit(X, Y)
    before, net = model.predict(X), model.net_
    with pytest.raises(ValueError, match="4 input columns, but X has 5.*warm_start=False"):
        model.fit(np.c_[X, X[:, 0]], Y)
    assert model.net_ is net and model.n_features_in_ == 4
    _survives(model, X, before)


def test_a_changed_architecture_parameter_is_named_and_the_model_survives():
    X, Y = _data()
    model = MultiTaskNetRegressor(warm_start=True, **FAST).fit(X, Y)
    before = model.predict(X)
    with pytest.raises(ValueError, match=r"\['hidden_layer_sizes'\].*hidden_layer_sizes=\(8,\)"):
        model.set_params(hidden_layer_sizes=(16,)).fit(X, Y)
    _survives(model, X, before)
    model.set_params(hidden_layer_sizes=(8,)).fit(X, Y)  # set back: continues
    assert model.n_iter_ == 6


def test_other_labels_are_refused_and_the_model_survives():
    X, _ = _data()
    y = np.where(X[:, 0] > 0, "a", "b")
    model = MultiTaskNetClassifier(warm_start=True, **FAST).fit(X, y)
    before = model.predict(X)
    with pytest.raises(ValueError, match="other tasks or labels"):
        model.fit(X, np.where(X[:, 0] > 0, "a", "c"))
    assert list(model.classes_) == ["a", "b"]
    _survives(model, X, before)


def test_switching_early_stopping_on_takes_effect_and_marks_the_best_epoch():
    X, Y = _data(n=300)
    model = MultiTaskNetRegressor(warm_start=True, **{**FAST, "max_epochs": 2}).fit(X, Y)
    assert "early_stopping" not in dict(model.net_.callbacks_)
    model.set_params(early_stopping=True, n_iter_no_change=2, max_epochs=200, lr=0.05)
    model.fit(X, Y)
    assert "early_stopping" in dict(model.net_.callbacks_)
    assert model.n_iter_ < 2 + 200  # it stopped
    best = [row.get("valid_loss_best") for row in model.history_[2:]]
    assert best[0] is True and any(b is False for b in best)
    losses = [row["valid_loss"] for row in model.history_[2:]]
    assert [b for b in best] == [i == 0 or v < min(losses[:i]) for i, v in enumerate(losses)]


def test_a_new_learning_rate_and_batch_size_take_effect():
    X, Y = _data()
    model = MultiTaskNetRegressor(warm_start=True, **FAST).fit(X, Y)
    model.set_params(lr=0.2, batch_size=16, weight_decay=0.01).fit(X, Y)
    group = model.net_.optimizer_.param_groups[0]
    assert group["lr"] == 0.2 and group["weight_decay"] == 0.01
    assert model.history_[-1, "train_batch_count"] == -(-len(X) // 16)
