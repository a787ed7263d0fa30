"""Neural multi-task estimators: formats, masking, balancing, training behaviour, errors."""

import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skorch.callbacks import Callback

from sklearn_mtml.balancing import WEIGHTINGS, get_weighting
from sklearn_mtml.neural import (
    MaskedTaskLoss,
    MultiTaskNet,
    MultiTaskNetClassifier,
    MultiTaskNetRegressor,
)
from sklearn_mtml.nn.sharing import ARCHITECTURES, SharedBottomNetwork

FAST = dict(hidden_layer_sizes=(8,), max_epochs=3, batch_size=32, lr=0.01, random_state=0)


def _wide(n=80, n_tasks=3, missing=True, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    w = rng.normal(size=4)
    Y = np.column_stack([X @ (w + 0.2 * t) * 10 ** t for t in range(n_tasks)])
    if missing:
        Y[::5, 1] = np.nan
        Y[1::7, 2] = np.nan
    return X, Y


def _long(n=150, n_tasks=4, seed=0):
    rng = np.random.default_rng(seed)
    task = rng.integers(0, n_tasks, n)
    X = rng.normal(size=(n, 3))
    y = X @ np.array([1.0, -1.0, 0.5]) + 5.0 * task
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(school=[f"s{t}" for t in task])
    return frame, y


# --------------------------------------------------------------------------- search
def test_grid_search_every_architecture_and_weighting_in_a_pipeline():
    X, Y = _wide(n=60)
    pipe = make_pipeline(StandardScaler(), MultiTaskNetRegressor(
        hidden_layer_sizes=(6,), n_experts=2, max_epochs=2, batch_size=30, random_state=0))
    grid = {
        "multitasknetregressor__architecture": sorted(ARCHITECTURES),
        "multitasknetregressor__loss_weighting": sorted(WEIGHTINGS),
    }
    search = GridSearchCV(pipe, grid, cv=2, error_score="raise").fit(X, Y)
    assert len(search.cv_results_["params"]) == len(ARCHITECTURES) * len(WEIGHTINGS)
    pred = search.best_estimator_.predict(X)
    assert pred.shape == Y.shape and np.isfinite(pred).all()


# --------------------------------------------------------------------------- masking
@pytest.mark.parametrize("long", [False, True])
def test_missing_label_sends_no_gradient_to_its_task_head(long):
    torch.manual_seed(0)
    net = SharedBottomNetwork(3, [1, 1], hidden_layer_sizes=(4,))
    loss = MaskedTaskLoss(["regression"] * 2, [1, 1], get_weighting("fixed", 2))
    x = torch.randn(1, 3)
    if long:  # the one row belongs to task 0; task 1 never sees it
        losses, counts = loss(net(x), torch.tensor([0.5]), torch.tensor([0]),
                              torch.tensor([1.0]))
    else:  # row labelled for task 0, missing for task 1 (placeholder target 123)
        losses, counts = loss(net(x), torch.tensor([[0.5, 123.0]]), torch.tensor([[1.0, 0.0]]))
    assert counts.tolist() == [1.0, 0.0]
    loss.weighting.backward(losses, [], counts > 0)
    head = net.heads  # columns of task t: t * width ... (t + 1) * width, width 1 here
    assert torch.all(head.weight.grad[:, 1] == 0) and head.bias.grad[1] == 0
    assert torch.any(head.weight.grad[:, 0] != 0)


def test_masked_mean_per_task_ignores_missing_rows():
    X, Y = _wide(n=40)
    full = MultiTaskNetRegressor(**FAST).fit(X, Y)
    changed = Y.copy()
    changed[np.isnan(Y)] = np.nan  # same missing pattern: identical fit
    again = MultiTaskNetRegressor(**FAST).fit(X, changed)
    np.testing.assert_array_equal(full.predict(X), again.predict(X))
    # A task entirely missing is an error naming it.
    Y2 = Y.copy()
    Y2[:, 2] = np.nan
    with pytest.raises(ValueError, match="task_2"):
        MultiTaskNetRegressor(**FAST).fit(X, Y2)


# --------------------------------------------------------------------------- formats
def test_long_format_predicts_each_row_for_its_task():
    X, y = _long()
    # four tasks that differ a lot: without the long-format defaults' strong head shrinkage
    model = MultiTaskNetRegressor(task_column="school", hidden_layer_sizes=(16,),
                                  max_epochs=40, lr=0.02, random_state=0, head_shrinkage=0.0,
                                  early_stopping=False).fit(X, y)
    assert list(model.task_names_) == ["s0", "s1", "s2", "s3"]
    pred = model.predict(X)
    assert pred.shape == (len(y),)
    assert model.score(X, y) > 0.9
    with pytest.warns(UserWarning, match="s9.*shared part"):  # unseen_tasks="auto"
        new = model.predict(X.assign(school="s9"))
    heads = np.column_stack([model.predict(X.assign(school=s)) for s in model.task_names_])
    np.testing.assert_allclose(new, heads.mean(axis=1), rtol=1e-6)
    with pytest.raises(ValueError, match="s9"):
        model.set_params(unseen_tasks="error").predict(X.assign(school="s9"))


def test_long_format_classification_with_per_task_labels():
    X, y = _long(n=200)
    labels = np.where(X["a"] > 0, "hi", "lo").astype(object)
    labels[X["school"] == "s1"] = np.where(X.loc[X["school"] == "s1", "b"] > 0, 1, 0)
    clf = MultiTaskNetClassifier(task_column="school", hidden_layer_sizes=(16,),
                                 max_epochs=40, lr=0.02, random_state=0, head_shrinkage=0.0,
                                 early_stopping=False).fit(X, labels)
    assert clf.net_._routed  # rows go through their own task only
    pred = clf.predict(X)
    s1 = (X["school"] == "s1").to_numpy()
    assert set(pred[s1]) <= {0, 1} and set(pred[~s1]) <= {"hi", "lo"}
    assert clf.score(X, labels) > 0.85


def test_shared_private_trains_with_its_adversary_in_long_format():
    X, y = _long()
    model = MultiTaskNetRegressor(architecture="shared_private", task_column="school",
                                  hidden_layer_sizes=(16,), max_epochs=40, lr=0.02,
                                  random_state=0).fit(X, y)
    assert model.net_._auxiliary and model.net_._routed
    assert model.score(X, y) > 0.9


def test_regression_targets_are_standardised_internally():
    X, Y = _wide(missing=False)
    Y = Y * np.array([1e-3, 1.0, 1e4]) + np.array([0.0, 500.0, -1e6])
    model = MultiTaskNetRegressor(hidden_layer_sizes=(16,), max_epochs=60, lr=0.01,
                                  random_state=0).fit(X, Y)
    assert model.score(X, Y) > 0.9


def test_string_labels_round_trip_with_missing_labels():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    y = pd.DataFrame({
        "colour": np.where(X[:, 0] > 0, "red", "blue"),
        "size": pd.Series(np.digitize(X[:, 1], [-0.5, 0.5])).map({0: "S", 1: "M", 2: "L"}),
    }).astype(object)
    y.loc[::6, "colour"] = None
    clf = MultiTaskNetClassifier(hidden_layer_sizes=(16,), max_epochs=40, lr=0.02,
                                 random_state=0).fit(X, y)
    assert [list(c) for c in clf.classes_] == [["blue", "red"], ["L", "M", "S"]]
    pred = clf.predict(X)
    assert set(pred[:, 0]) <= {"blue", "red"} and set(pred[:, 1]) <= {"S", "M", "L"}
    proba = clf.predict_proba(X[:4])
    assert [p.shape for p in proba] == [(4, 2), (4, 3)]
    np.testing.assert_allclose(proba[1].sum(1), 1.0)
    assert clf.score(X, y) > 0.8


def test_binary_single_task_classifier_and_continuous_labels_error():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    y = (X[:, 0] > 0).astype(int)
    clf = MultiTaskNetClassifier(**FAST).fit(X, y)
    assert clf.predict(X).shape == (60,) and clf.predict_proba(X).shape == (60, 2)
    with pytest.raises(ValueError, match="Unknown label type"):
        MultiTaskNetClassifier(**FAST).fit(X, X[:, 0])


def test_mixed_task_types():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 3))
    y = pd.DataFrame({"price": 1000 + 300 * X[:, 0], "up": np.where(X[:, 1] > 0, "y", "n")})
    model = MultiTaskNet(task_types=["regression", "classification"],
                         hidden_layer_sizes=(16,), max_epochs=40, lr=0.02,
                         random_state=0).fit(X, y)
    pred = model.predict(X)
    assert pred.dtype == object and pred.shape == (150, 2)
    assert isinstance(pred[0, 0], float) and pred[0, 1] in {"y", "n"}
    proba = model.predict_proba(X[:3])
    assert proba[0] is None and proba[1].shape == (3, 2)
    assert model.classes_[0] is None
    assert model.score(X, y) > 0.8
    assert not hasattr(MultiTaskNet(task_types="regression"), "predict_proba")
    with pytest.raises(ValueError, match="needs task_types"):
        MultiTaskNet().fit(X, y)


# --------------------------------------------------------------------------- training
def test_same_random_state_gives_identical_predictions_and_leaves_torch_rng():
    X, Y = _wide()
    state = torch.random.get_rng_state()
    a = MultiTaskNetRegressor(**{**FAST, "dropout": 0.3}).fit(X, Y).predict(X)
    assert torch.equal(state, torch.random.get_rng_state())
    b = MultiTaskNetRegressor(**{**FAST, "dropout": 0.3}).fit(X, Y).predict(X)
    np.testing.assert_array_equal(a, b)
    c = MultiTaskNetRegressor(**{**FAST, "random_state": 1}).fit(X, Y).predict(X)
    assert not np.array_equal(a, c)


def test_n_threads_is_restored_after_fit_and_predict():
    X, Y = _wide()
    before = torch.get_num_threads()
    model = MultiTaskNetRegressor(**{**FAST, "n_threads": before + 1}).fit(X, Y)
    model.predict(X)
    assert torch.get_num_threads() == before


def test_history_records_per_task_losses_and_weights():
    X, Y = _wide()
    model = MultiTaskNetRegressor(**{**FAST, "loss_weighting": "uncertainty",
                                     "early_stopping": True}).fit(X, Y)
    h = model.history_
    assert len(h) == model.n_iter_ == 3
    assert len(h[-1, "train_task_losses"]) == 3 and len(h[-1, "valid_task_losses"]) == 3
    assert len(h[-1, "task_weights"]) == 3
    assert np.isfinite(h[:, "train_loss"]).all() and np.isfinite(h[:, "valid_loss"]).all()


def test_early_stopping_stops_and_restores_best():
    X, Y = _wide(n=100)
    model = MultiTaskNetRegressor(hidden_layer_sizes=(16,), max_epochs=300, lr=0.05,
                                  early_stopping=True, n_iter_no_change=3, tol=0.05,
                                  random_state=0).fit(X, Y)
    assert model.n_iter_ < 300


def test_warm_start_and_partial_fit_continue_training():
    X, Y = _wide()
    model = MultiTaskNetRegressor(**{**FAST, "warm_start": True}).fit(X, Y)
    weights = model.net_.module_.trunk[0].weight.detach().clone()
    model.fit(X, Y)
    assert model.n_iter_ == 6
    assert not torch.equal(weights, model.net_.module_.trunk[0].weight)
    with pytest.raises(ValueError, match="other tasks"):
        model.fit(X, Y[:, :2])

    stream = MultiTaskNetClassifier(hidden_layer_sizes=(8,), random_state=0)
    labels = np.where(X[:, 0] > 0, "pos", "neg")
    stream.partial_fit(X[:10], labels[:10], classes=["neg", "pos", "zero"])
    for start in range(10, 80, 10):
        stream.partial_fit(X[start:start + 10], labels[start:start + 10])
    assert stream.n_iter_ == 8
    assert list(stream.classes_) == ["neg", "pos", "zero"]
    with pytest.raises(ValueError, match="not among its classes"):
        stream.partial_fit(X[:5], np.array(["other"] * 5))


def test_divergence_names_the_epoch_and_task():
    X, Y = _wide()
    model = MultiTaskNetRegressor(**{**FAST, "optimizer": "sgd", "lr": 1e8})
    with pytest.raises(ValueError, match=r"diverged at epoch \d+: .*task"):
        model.fit(X, Y * 1e3)
    assert not hasattr(model, "net_")  # no half-fitted model that could predict NaN


def test_user_callbacks_verbose_and_optimizers(capsys):
    class CountEpochs(Callback):
        def initialize(self):
            self.count_ = 0
            return self

        def on_epoch_end(self, net, **kwargs):
            self.count_ += 1

    X, Y = _wide()
    model = MultiTaskNetRegressor(**{**FAST, "callbacks": [("count", CountEpochs())],
                                     "verbose": 2, "optimizer": "adamw"}).fit(X, Y)
    assert dict(model.net_.callbacks_)["count"].count_ == 3
    assert "train_loss" in capsys.readouterr().out
    model.set_params(optimizer=torch.optim.RMSprop, verbose=0).fit(X, Y)
    assert isinstance(model.net_.optimizer_, torch.optim.RMSprop)


def test_task_weights_by_position_and_name():
    X, Y = _wide(missing=False)
    frame = pd.DataFrame(Y, columns=["a", "b", "c"])
    model = MultiTaskNetRegressor(**{**FAST, "task_weights": {"a": 1, "b": 0, "c": 2}})
    model.fit(X, frame)
    assert model.history_[-1, "task_weights"] == [1.0, 0.0, 2.0]


def test_transfer_shared_layers_to_new_tasks():
    X, Y = _wide(missing=False)
    source = MultiTaskNetRegressor(**FAST).fit(X, Y)
    target = MultiTaskNetRegressor(**{**FAST, "init_from": source, "freeze_shared": True})
    target.fit(X[:20], Y[:20, 0])
    src, dst = source.net_.module_.trunk, target.net_.module_.trunk
    torch.testing.assert_close(src[0].weight, dst[0].weight)
    assert not dst[0].weight.requires_grad
    # both forms survive clone (GridSearchCV): the fitted estimator is passed on as it is
    from sklearn.base import clone
    clone(target.set_params(init_from=source.net_.module_)).fit(X[:20], Y[:20, 0])
    cloned = clone(target.set_params(init_from=source))
    assert cloned.init_from is source
    cloned.fit(X[:20], Y[:20, 0])
    torch.testing.assert_close(cloned.net_.module_.trunk[0].weight, src[0].weight)
    search = GridSearchCV(target, {"lr": [0.01, 0.02]}, cv=2).fit(X[:40], Y[:40, 0])
    torch.testing.assert_close(search.best_estimator_.net_.module_.trunk[0].weight,
                               src[0].weight)
    with pytest.raises(ValueError, match="same architecture"):
        MultiTaskNetRegressor(**{**FAST, "architecture": "mmoe", "init_from": source}).fit(X, Y)


def test_pickle_round_trip():
    X, Y = _wide()
    model = MultiTaskNetRegressor(**FAST).fit(X, Y)
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(model.predict(X), again.predict(X))


def test_predict_works_in_batches(monkeypatch):
    X, Y = _wide()
    model = MultiTaskNetRegressor(**FAST).fit(X, Y)
    full = model.predict(X)
    monkeypatch.setattr(MultiTaskNetRegressor, "_predict_batch_size", 7)
    np.testing.assert_allclose(model.predict(X), full, rtol=1e-5)


# --------------------------------------------------------------------------- errors
@pytest.mark.parametrize("params, match", [
    ({"architecture": "transformer"}, "architecture.*shared_bottom"),
    ({"loss_weighting": "magic"}, "loss_weighting.*pcgrad"),
    ({"task_weights": [1.0, 2.0]}, "task_weights has 2 entries but there are 3 tasks"),
    ({"task_weights": [1.0, -1.0, 1.0]}, "task_weights must be finite"),
    ({"device": "tpu:9"}, "device"),
    ({"callbacks": [Callback()]}, r"\(name, skorch Callback\) pairs"),
])
def test_bad_parameters_name_the_problem(params, match):
    X, Y = _wide()
    with pytest.raises(ValueError, match=match):
        MultiTaskNetRegressor(**{**FAST, **params}).fit(X, Y)


def test_cuda_device_when_available():
    if not torch.cuda.is_available():
        pytest.skip("CUDA is not available on this machine")
    X, Y = _wide()
    model = MultiTaskNetRegressor(**{**FAST, "device": "auto"}).fit(X, Y)
    assert model.device_.type == "cuda"
    cpu = MultiTaskNetRegressor(**{**FAST, "device": "cpu"}).fit(X, Y)
    np.testing.assert_allclose(model.predict(X), cpu.predict(X), rtol=1e-3, atol=1e-3)


def test_cuda_request_without_cuda_is_a_clear_error():
    if torch.cuda.is_available():
        pytest.skip("CUDA is available: nothing to refuse")
    X, Y = _wide()
    with pytest.raises(ValueError, match="CUDA is not available"):
        MultiTaskNetRegressor(**{**FAST, "device": "cuda"}).fit(X, Y)


def test_callback_parameters_are_reachable_by_set_params_and_grid_search():
    from skorch.callbacks import EarlyStopping

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    Y = np.column_stack([X[:, 0], X[:, 1] - X[:, 2]])
    stop = EarlyStopping(monitor="train_loss", patience=5)
    net = MultiTaskNetRegressor(callbacks=[("stop", stop)], **FAST)
    net.set_params(callbacks__stop__patience=2)
    assert stop.patience == 5  # the caller's instance is untouched
    assert dict(net.callbacks)["stop"].patience == 2
    with pytest.raises(ValueError, match="no callback named 'nope'"):
        net.set_params(callbacks__nope__patience=1)
    search = GridSearchCV(
        MultiTaskNetRegressor(callbacks=[("stop", stop)], **FAST),
        {"callbacks__stop__patience": [1, 7]}, cv=2,
    ).fit(X, Y)
    chosen = search.best_params_["callbacks__stop__patience"]
    assert dict(search.best_estimator_.net_.callbacks_)["stop"].patience == chosen


def test_partial_fit_chunk_without_a_task_label_and_a_bad_chunk_keeps_the_model():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(90, 3))
    Y = np.column_stack([X[:, 0], X[:, 1] - X[:, 2]])
    net = MultiTaskNetRegressor(**FAST)
    net.partial_fit(X[:30], Y[:30])
    second = Y[30:60].copy()
    second[:, 1] = np.nan  # this chunk has no label of task 1: only task 0 learns from it
    net.partial_fit(X[30:60], second)
    assert np.isfinite(net.predict(X)).all()
    before = net.predict(X)
    with pytest.raises(ValueError, match="features"):
        net.partial_fit(X[60:, :2], Y[60:])
    with pytest.raises(ValueError, match="differ"):
        net.partial_fit(X[60:], Y[60:, :1].reshape(-1, 1))
    np.testing.assert_array_equal(net.predict(X), before)
    assert net.n_tasks_ == 2
    net.partial_fit(X[60:], Y[60:])
    assert len(net.history_) == 3


def test_early_stopping_model_pickles_and_continues_with_partial_fit():
    # the early-stopping callback's silent print sink pickles (it was a lambda), and
    # partial_fit, which has no validation data, skips early stopping instead of failing
    X, Y = _wide()
    model = MultiTaskNetRegressor(early_stopping=True, validation_fraction=0.25, **FAST)
    model.fit(X, Y)
    assert "valid_loss" in model.history_[-1]
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))
    n_epochs = len(model.history_)
    model.partial_fit(X, Y)
    assert len(model.history_) == n_epochs + 1
    assert "valid_loss" not in model.history_[-1]
    assert "early_stopping" in dict(model.net_.callbacks_)  # back for the next fit
