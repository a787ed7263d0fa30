"""``accelerator=``: training through Hugging Face Accelerate (skorch's AccelerateMixin).

Single-process runs are compared with plain training (same seed: the same model), gradient
accumulation with one larger batch, and a real data-parallel run of 2 CPU processes (gloo)
with the same model trained in one process on the combined batch.
"""

import json
import os
import pickle
import socket
import sys
import tempfile
from unittest import mock

import numpy as np
import pytest
import torch
from sklearn.base import clone

pytest.importorskip("accelerate", reason="the 'accelerate' extra is not installed")

from accelerate import Accelerator  # noqa: E402
from accelerate.state import AcceleratorState  # noqa: E402
from skorch.callbacks import Callback  # noqa: E402

from sklearn_mtml.neural import (  # noqa: E402
    MultiModalClassifier,
    MultiTaskNetClassifier,
    MultiTaskNetRegressor,
)
from sklearn_mtml.neural._accelerate import check_weighting, make_accelerator  # noqa: E402
from sklearn_mtml.persistence import load_safe, save_safe  # noqa: E402


@pytest.fixture(autouse=True)
def fresh_accelerate_state():
    """Accelerate keeps one process-wide state (mixed precision, ...); start each test anew."""
    AcceleratorState._reset_state(reset_partial_state=True)
    yield
    AcceleratorState._reset_state(reset_partial_state=True)


def _data(n=256, seed=0, missing=0.2):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, 5)
    Y = np.c_[X[:, 0] + 0.1 * rng.randn(n), X[:, 1] - X[:, 0], np.tanh(X[:, 2])]
    if missing:
        Y[rng.rand(n) < missing, 1] = np.nan
    return X, Y


def _net(**params):
    defaults = dict(hidden_layer_sizes=(16,), max_epochs=4, batch_size=32, random_state=0,
                    n_threads=1)
    defaults.update(params)
    return MultiTaskNetRegressor(**defaults)


# ---------------------------------------------------------------- one process
def test_single_process_trains_the_same_model_as_plain_training():
    X, Y = _data()
    plain = _net().fit(X, Y)
    accelerated = _net(accelerator={}).fit(X, Y)
    assert type(accelerated.net_).__name__ == "AcceleratedMultiTaskNet"
    assert accelerated.device_ == torch.device("cpu")
    np.testing.assert_array_equal(accelerated.predict(X), plain.predict(X))
    assert accelerated.history_[:, "train_task_losses"] == plain.history_[:, "train_task_losses"]
    # the optimizer is handed back unwrapped: the fitted model pickles
    assert isinstance(accelerated.net_.optimizer_, torch.optim.Optimizer)


def test_single_process_long_format_and_classifier():
    X, Y = _data(missing=0)
    rng = np.random.RandomState(1)
    task = rng.randint(0, 3, len(X))
    X_long = np.c_[task, X]
    y_long = Y[np.arange(len(X)), task]
    plain = _net(task_column=0).fit(X_long, y_long)
    accelerated = _net(task_column=0, accelerator={}).fit(X_long, y_long)
    np.testing.assert_array_equal(accelerated.predict(X_long), plain.predict(X_long))

    labels = (Y > 0).astype(int)
    kw = dict(hidden_layer_sizes=(8,), max_epochs=3, random_state=0, n_threads=1)
    a = MultiTaskNetClassifier(**kw).fit(X, labels)
    b = MultiTaskNetClassifier(accelerator={}, **kw).fit(X, labels)
    np.testing.assert_allclose(b.predict_proba(X)[0], a.predict_proba(X)[0], atol=0)


def test_multimodal_estimator_accepts_an_accelerator():
    rng = np.random.RandomState(0)
    X = rng.randn(120, 6)
    y = (X[:, 0] + X[:, 4] > 0).astype(int)
    kw = dict(modalities={"a": [0, 1, 2], "b": [3, 4, 5]}, encoder_sizes=(8,), fusion_size=8,
              hidden_layer_sizes=(8,), max_epochs=3, random_state=0, n_threads=1)
    plain = MultiModalClassifier(**kw).fit(X, y)
    accelerated = MultiModalClassifier(accelerator={}, **kw).fit(X, y)
    np.testing.assert_array_equal(accelerated.predict_proba(X), plain.predict_proba(X))


@pytest.mark.parametrize("weighting", ["fixed", "uncertainty"])
def test_gradient_accumulation_equals_one_larger_batch(weighting):
    # uncertainty: its log-variance regulariser must be averaged over the micro-batches
    # like the losses, not added once per micro-batch
    X, Y = _data(missing=0)
    kw = dict(optimizer="sgd", lr=0.05, max_epochs=3, loss_weighting=weighting)
    large = _net(batch_size=64, **kw).fit(X, Y).predict(X)
    accumulated = _net(batch_size=32, accelerator={"gradient_accumulation_steps": 2},
                       **kw).fit(X, Y).predict(X)
    small = _net(batch_size=32, **kw).fit(X, Y).predict(X)
    np.testing.assert_allclose(accumulated, large, atol=1e-5)
    assert np.abs(small - large).max() > 1e-2  # accumulation did change the training


class _DtypeProbe(Callback):
    """Records the dtype of the first layer's output during training."""

    def on_train_begin(self, net, **kwargs):
        self.dtypes_ = set()
        first = next(m for m in net.module_.modules() if isinstance(m, torch.nn.Linear))
        self.handle_ = first.register_forward_hook(
            lambda module, inputs, output: self.dtypes_.add(output.dtype))

    def on_train_end(self, net, **kwargs):
        self.handle_.remove()


def test_bf16_mixed_precision_trains_in_bf16_and_predicts_in_float32():
    X, Y = _data()
    model = _net(accelerator={"mixed_precision": "bf16"}, max_epochs=15,
                 callbacks=[("probe", _DtypeProbe())]).fit(X, Y)
    probe = dict(model.net_.callbacks_)["probe"]
    assert torch.bfloat16 in probe.dtypes_
    assert all(p.dtype == torch.float32 for p in model.net_.module_.parameters())
    reference = _net(max_epochs=15).fit(X, Y)
    assert model.score(X, Y) > reference.score(X, Y) - 0.05
    assert np.isfinite(model.predict(X)).all()


# ---------------------------------------------------------------- pickling, persistence
def test_accelerated_model_clones_pickles_and_saves(tmp_path):
    X, Y = _data()
    model = _net(accelerator={}).fit(X, Y)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))
    assert restored.net_.accelerator is None  # the accelerator does not travel
    assert clone(model).get_params()["accelerator"] == {}
    save_safe(model, tmp_path / "m.mtml")
    np.testing.assert_allclose(load_safe(tmp_path / "m.mtml").predict(X), model.predict(X),
                               rtol=1e-6)
    # an accelerator instance works as well
    instance = _net(accelerator=Accelerator()).fit(X, Y)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(instance)).predict(X),
                                  instance.predict(X))


def test_warm_start_and_partial_fit_continue_accelerated_training(tmp_path):
    X, Y = _data()
    model = _net(accelerator={}, warm_start=True).fit(X, Y)
    model.fit(X, Y)
    model.partial_fit(X, Y)
    assert len(model.history_) == 4 + 4 + 1
    # switching the accelerator off (and on) continues from the same training state
    model.set_params(accelerator=None).partial_fit(X, Y)
    assert type(model.net_).__name__ == "_MultiTaskNeuralNet"
    model.set_params(accelerator={}).partial_fit(X, Y)
    assert type(model.net_).__name__ == "AcceleratedMultiTaskNet"
    reference = _net(warm_start=True).fit(X, Y)
    reference.fit(X, Y)
    for _ in range(3):
        reference.partial_fit(X, Y)
    assert len(model.history_) == len(reference.history_) == 11
    np.testing.assert_array_equal(model.predict(X), reference.predict(X))
    # a model loaded from a safe file (a plain net) goes on training with its accelerator
    save_safe(model, tmp_path / "m.mtml")
    loaded = load_safe(tmp_path / "m.mtml").partial_fit(X, Y)
    assert type(loaded.net_).__name__ == "AcceleratedMultiTaskNet"
    assert len(loaded.history_) == 12


# ---------------------------------------------------------------- errors
def test_bad_accelerator_arguments_are_named():
    X, Y = _data(n=64)
    with pytest.raises(ValueError, match="accelerator"):
        _net(accelerator="yes").fit(X, Y)
    with pytest.raises(TypeError, match="not a valid set of accelerate.Accelerator options"):
        _net(accelerator={"no_such_option": 1}).fit(X, Y)
    with pytest.raises(ValueError, match="leave device='auto'"):
        _net(accelerator={}, device="cuda").fit(X, Y)
    model = _net(accelerator={"no_such_option": 1})
    with pytest.raises(TypeError):
        model.fit(X, Y)
    assert not hasattr(model, "net_")  # no half-fitted state


def test_missing_accelerate_package_says_how_to_install(monkeypatch):
    X, Y = _data(n=64)
    monkeypatch.setitem(sys.modules, "accelerate", None)
    with pytest.raises(ImportError, match=r"sklearn-mtml\[accelerate\]"):
        _net(accelerator={}).fit(X, Y)


def test_sharded_engines_and_fp16_gradient_methods_are_refused():
    from accelerate.utils import DistributedType

    accelerator = Accelerator()
    with mock.patch.object(Accelerator, "distributed_type", new_callable=mock.PropertyMock,
                           return_value=DistributedType.DEEPSPEED):
        with pytest.raises(ValueError, match="DEEPSPEED"):
            make_accelerator(accelerator, "MultiTaskNetRegressor")
    from sklearn_mtml.balancing import get_weighting

    fp16 = mock.Mock(scaler=object())  # what an accelerator with a loss scaler looks like
    for name in ("pcgrad", "gradnorm", "mgda"):
        with pytest.raises(ValueError, match="bf16"):
            check_weighting(fp16, get_weighting(name, 2), "MultiTaskNetRegressor")
    for name in ("fixed", "uncertainty", "dwa", "famo"):
        check_weighting(fp16, get_weighting(name, 2), "MultiTaskNetRegressor")


# ---------------------------------------------------------------- data-parallel processes
def _train_in_processes(out_dir, X, Y):
    """Run in each of the 2 processes (the accelerate launcher sets the process group)."""
    torch.set_num_threads(1)
    accelerator = Accelerator()
    rank = accelerator.process_index
    result = {"world": accelerator.num_processes}
    kw = dict(optimizer="sgd", lr=0.05, max_epochs=3)
    model = _net(batch_size=16, accelerator=accelerator, **kw).fit(X, Y)
    result["sgd"] = model.predict(X).tolist()
    result["sgd_losses"] = model.history_[:, "train_task_losses"]
    model = _net(batch_size=16, accelerator=accelerator, loss_weighting="pcgrad",
                 early_stopping=True, random_state=None).fit(X, Y)
    result["pcgrad"] = model.predict(X).tolist()
    result["pcgrad_valid"] = model.history_[:, "valid_loss"]
    try:  # the processes disagree on the data: a clear error on each, not a hang
        _net(accelerator=accelerator).fit(X[: len(X) - 8 * rank], Y[: len(X) - 8 * rank])
        result["mismatch"] = "no error"
    except ValueError as exc:
        result["mismatch"] = str(exc)
    with open(os.path.join(out_dir, f"rank{rank}.json"), "w") as f:
        json.dump(result, f)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(not torch.distributed.is_available(),
                    reason="this torch build has no torch.distributed")
def test_two_cpu_processes_train_one_model(tmp_path):
    from accelerate.utils import PrepareForLaunch, patch_environment
    from torch.multiprocessing import start_processes

    X, Y = _data(n=192, missing=0)
    with tempfile.NamedTemporaryFile() as rendezvous, patch_environment(
        world_size=2, master_addr="127.0.0.1", master_port=str(_free_port()),
        accelerate_mixed_precision="no", accelerate_debug_rdv_file=rendezvous.name,
        accelerate_use_cpu="yes", gloo_socket_ifname="lo",
    ):
        start_processes(PrepareForLaunch(_train_in_processes, debug=True),
                        args=(str(tmp_path), X, Y), nprocs=2, start_method="fork")
    r0, r1 = (json.loads((tmp_path / f"rank{i}.json").read_text()) for i in range(2))
    assert r0["world"] == r1["world"] == 2
    # every process ends with the same model and the same (summed) epoch losses
    assert r0["sgd"] == r1["sgd"] and r0["pcgrad"] == r1["pcgrad"]
    assert r0["sgd_losses"] == r1["sgd_losses"]
    assert r0["pcgrad_valid"] == r1["pcgrad_valid"]
    # 2 processes x 16 rows with averaged gradients = one process with 32-row batches
    single = _net(batch_size=32, optimizer="sgd", lr=0.05, max_epochs=3).fit(X, Y)
    np.testing.assert_allclose(np.array(r0["sgd"]), single.predict(X), atol=1e-5)
    np.testing.assert_allclose(np.array(r0["sgd_losses"]),
                               np.array(single.history_[:, "train_task_losses"]), rtol=1e-5)
    for r in (r0, r1):
        assert "different data" in r["mismatch"]


def test_lr_scheduler_callbacks_behave_as_without_accelerator():
    from skorch.callbacks import LRScheduler

    X, Y = _data()

    def scheduled(**params):
        return _net(callbacks=[("lr", LRScheduler(policy="StepLR", step_size=1, gamma=0.5))],
                    **params).fit(X, Y)

    plain, accelerated = scheduled(), scheduled(accelerator={})
    np.testing.assert_array_equal(accelerated.predict(X), plain.predict(X))
    lr = accelerated.net_.optimizer_.param_groups[0]["lr"]
    assert lr == pytest.approx(1e-3 * 0.5 ** 4)  # stepped once per epoch, 4 epochs


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("precision", ["no", "bf16", "fp16"])
def test_accelerator_trains_on_the_gpu(precision):
    # fp16 goes through accelerate's loss scaler and its optimizer wrapper
    X, Y = _data()
    model = _net(accelerator={"mixed_precision": precision}, max_epochs=15).fit(X, Y)
    assert model.device_.type == "cuda"
    assert next(model.net_.module_.parameters()).device.type == "cuda"
    reference = _net(max_epochs=15, device="cpu").fit(X, Y)
    assert model.score(X, Y) > reference.score(X, Y) - 0.05
    if precision == "fp16":
        with pytest.raises(ValueError, match="bf16"):
            _net(accelerator={"mixed_precision": "fp16"}, loss_weighting="pcgrad").fit(X, Y)
