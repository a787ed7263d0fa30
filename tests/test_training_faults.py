"""Training faults of the neural estimators (issue 6): a diverging loss, an interrupted
run, checkpoint + resume, and a GPU running out of memory."""

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import fitted_attributes as _fitted
from sklearn.exceptions import NotFittedError
from skorch.callbacks import Callback, Checkpoint, LoadInitState

from sklearn_mtml.neural import MultiTaskNetClassifier, MultiTaskNetRegressor
from sklearn_mtml.neural._net import _MultiTaskNeuralNet

torch.set_num_threads(1)

FAST = dict(hidden_layer_sizes=(8,), lr=0.01, batch_size=8, random_state=0)


def _data(n=48, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    Y = pd.DataFrame(X @ rng.normal(size=(3, 2)), columns=["math", "art"])
    Y.iloc[::5, 1] = np.nan
    return X, Y


class _PoisonTask(Callback):
    """At the start of epoch ``epoch``, make task ``task``'s output weights NaN."""

    def __init__(self, epoch=3, task=1):
        self.epoch, self.task = epoch, task

    def on_epoch_begin(self, net, **kwargs):
        if len(net.history) == self.epoch:
            with torch.no_grad():
                net.module_.heads.weight[:, self.task].fill_(float("nan"))  # (in, n_tasks)


class _Interrupt(Callback):
    """Raise KeyboardInterrupt (as Ctrl-C would) after ``epoch`` epochs or mid-epoch."""

    def __init__(self, epoch=2, where="epoch"):
        self.epoch, self.where = epoch, where

    def on_epoch_end(self, net, **kwargs):
        if self.where == "epoch" and len(net.history) == self.epoch:
            raise KeyboardInterrupt

    def on_batch_end(self, net, **kwargs):
        if self.where == "batch" and len(net.history) == self.epoch + 1:
            raise KeyboardInterrupt


# ----------------------------------------------------------------------------- divergence
def test_nan_loss_stops_training_naming_epoch_and_task():
    X, Y = _data()
    model = MultiTaskNetRegressor(max_epochs=6, callbacks=[("poison", _PoisonTask(4, 1))],
                                  **FAST)
    with pytest.raises(
        ValueError, match=r"diverged at epoch 4: the loss of task 'art' became nan in batch 1"
    ):
        model.fit(X, Y)
    assert _fitted(model) == []
    with pytest.raises(NotFittedError):
        model.predict(X)


def test_inf_loss_stops_training():
    X, Y = _data()
    X[0, 0] = 1e30  # float32 overflow in the first layer: an infinite loss
    with pytest.raises(ValueError, match=r"diverged at epoch 1: the loss of task 'math' became"):
        MultiTaskNetRegressor(max_epochs=2, **FAST).fit(X, Y)


def test_keep_last_good_parameters_on_divergence():
    X, Y = _data()
    poisoned = MultiTaskNetRegressor(
        max_epochs=6, callbacks=[("poison", _PoisonTask(4, 1))],
        on_divergence="keep_last_good", **FAST,
    )
    with pytest.warns(UserWarning, match=r"diverged at epoch 4.*'art'.*epoch 3"):
        poisoned.fit(X, Y)
    reference = MultiTaskNetRegressor(max_epochs=3, **FAST).fit(X, Y)
    np.testing.assert_array_equal(poisoned.predict(X), reference.predict(X))
    assert np.isfinite(poisoned.predict(X)).all()
    assert poisoned.n_iter_ == 3


class _PoisonAfterLastEpoch(Callback):
    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == net.max_epochs:
            with torch.no_grad():
                net.module_.trunk[0].weight.fill_(float("inf"))


@pytest.mark.parametrize("policy", ["raise", "keep_last_good"])
def test_non_finite_weights_after_the_last_epoch(policy):
    X, Y = _data()
    model = MultiTaskNetRegressor(max_epochs=3, on_divergence=policy,
                                  callbacks=[("poison", _PoisonAfterLastEpoch())], **FAST)
    if policy == "raise":
        with pytest.raises(ValueError, match="diverged at epoch 3: network weights"):
            model.fit(X, Y)
        assert _fitted(model) == []
        return
    with pytest.warns(UserWarning, match="network weights became non-finite"):
        model.fit(X, Y)
    reference = MultiTaskNetRegressor(max_epochs=3, **FAST).fit(X, Y)
    np.testing.assert_array_equal(model.predict(X), reference.predict(X))


def test_on_divergence_is_validated():
    X, Y = _data()
    with pytest.raises(ValueError, match="on_divergence"):
        MultiTaskNetRegressor(on_divergence="ignore", max_epochs=1).fit(X, Y)


# ----------------------------------------------------------------------------- interrupt
@pytest.mark.parametrize("where", ["epoch", "batch"])
def test_keyboard_interrupt_leaves_a_usable_model(where):
    X, Y = _data()
    model = MultiTaskNetRegressor(max_epochs=10, callbacks=[("stop", _Interrupt(2, where))],
                                  **FAST).fit(X, Y)
    assert model.n_iter_ == (2 if where == "epoch" else 3)  # the interrupted epoch is kept
    P = model.predict(X)
    assert P.shape == (len(X), 2) and np.isfinite(P).all()
    assert np.isfinite(model.score(X, Y))


def test_keyboard_interrupt_then_warm_start_continues():
    X, Y = _data()
    model = MultiTaskNetRegressor(max_epochs=4, callbacks=[("stop", _Interrupt(2))],
                                  warm_start=True, **FAST).fit(X, Y)
    model.set_params(callbacks=None).fit(X, Y)
    assert model.n_iter_ == 6


# ----------------------------------------------------------------------------- resume
@pytest.mark.parametrize("cls, target, extra", [
    (MultiTaskNetRegressor, None, {}),
    (MultiTaskNetClassifier, "labels", {}),
    # randomness inside training: torch's RNG is reseeded per epoch, so resuming repeats it
    (MultiTaskNetRegressor, None, {"dropout": 0.3}),
    (MultiTaskNetRegressor, None, {"loss_weighting": "random"}),
])
def test_checkpoint_and_resume_reproduce_the_uninterrupted_run(tmp_path, cls, target, extra):
    X, Y = _data()
    if target == "labels":
        Y = Y.apply(lambda c: np.where(c.isna(), None, np.where(c > 0, "hi", "lo")))
    params = {**FAST, **extra}
    full = cls(max_epochs=6, **params).fit(X, Y)

    checkpoint = Checkpoint(monitor=None, dirname=str(tmp_path))
    cls(max_epochs=3, callbacks=[("checkpoint", checkpoint)], **params).fit(X, Y)
    resumed = cls(max_epochs=3, callbacks=[
        ("checkpoint", Checkpoint(monitor=None, dirname=str(tmp_path))),
        ("resume", LoadInitState(checkpoint)),
    ], **params).fit(X, Y)

    assert resumed.n_iter_ == 6
    np.testing.assert_array_equal(resumed.predict(X), full.predict(X))
    np.testing.assert_allclose([h["train_loss"] for h in resumed.history_],
                               [h["train_loss"] for h in full.history_], rtol=1e-6)


# ----------------------------------------------------------------------------- GPU memory
def test_out_of_memory_suggests_a_smaller_batch_size(monkeypatch):
    X, Y = _data()

    def out_of_memory(self, batch, **fit_params):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(_MultiTaskNeuralNet, "train_step_single", out_of_memory)
    model = MultiTaskNetRegressor(max_epochs=2, **FAST)
    with pytest.raises(torch.cuda.OutOfMemoryError, match=r"batch_size=8.*smaller") as info:
        model.fit(X, Y)
    assert "Tried to allocate 2.00 GiB" in str(info.value)  # torch's own diagnosis is kept
    assert _fitted(model) == []
