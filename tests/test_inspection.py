"""Displays of sklearn_mtml.inspection: what is drawn (lines, labels, cells), not pixels."""

import subprocess
import sys

import matplotlib
import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from sklearn_mtml import MultiTaskRidge  # noqa: E402
from sklearn_mtml.inspection import (  # noqa: E402
    ModalityImportanceDisplay,
    TaskLossDisplay,
    TaskRelationDisplay,
    TaskWeightDisplay,
    task_gradient_similarity,
)

torch = pytest.importorskip("torch")
from sklearn_mtml.neural import (  # noqa: E402
    MultiTaskNetClassifier,
    MultiTaskNetRegressor,
)

TASKS = ["math", "reading", "noise"]


def _net(**params):
    defaults = dict(hidden_layer_sizes=(8,), max_epochs=6, lr=0.02, batch_size=32,
                    random_state=0, n_threads=1)
    defaults.update(params)
    return MultiTaskNetRegressor(**defaults)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(120, 4)), columns=[f"x{j}" for j in range(4)])
    Y = pd.DataFrame({
        "math": X["x0"] + 0.1 * rng.normal(size=120),
        "reading": 10 * (X["x0"] - X["x1"]),
        "noise": rng.normal(size=120),
    })
    Y.iloc[::5, 1] = np.nan  # missing labels
    return X, Y


@pytest.fixture(scope="module")
def fitted(data):
    """Uncertainty weighting with a validation split: train and valid curves, moving weights."""
    X, Y = data
    return _net(loss_weighting="uncertainty", early_stopping=True, validation_fraction=0.2,
                n_iter_no_change=50).fit(X, Y)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _legend(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_import_needs_neither_torch_nor_matplotlib():
    code = ("import sys, sklearn_mtml.inspection; "
            "assert 'torch' not in sys.modules and 'matplotlib' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_modality_importance_display_is_the_same_class_in_both_places():
    from sklearn_mtml.multimodal import ModalityImportanceDisplay as FromMultimodal

    assert ModalityImportanceDisplay is FromMultimodal


# ----------------------------------------------------------------- TaskLossDisplay
def test_task_loss_display_train_and_valid(fitted):
    display = TaskLossDisplay.from_estimator(fitted)
    n_epochs = len(fitted.history_)
    assert display.lines_.shape == (2, len(TASKS) + 1)  # (train, valid) x (tasks + mean)
    assert len(display.ax_.get_lines()) == 2 * (len(TASKS) + 1)
    assert _legend(display.ax_) == TASKS + ["mean over tasks", "train", "valid"]
    assert display.ax_.get_xlabel() == "epoch"
    assert "loss" in display.ax_.get_ylabel()
    assert display.figure_ is display.ax_.figure
    # the lines hold the recorded values: epochs 1..n on x
    for i, phase in enumerate(["train", "valid"]):
        expected = np.array(fitted.history_[:, f"{phase}_task_losses"])
        for t in range(len(TASKS)):
            line = display.lines_[i, t]
            np.testing.assert_array_equal(line.get_xdata(), np.arange(1, n_epochs + 1))
            np.testing.assert_allclose(line.get_ydata(), expected[:, t])
        np.testing.assert_allclose(display.lines_[i, -1].get_ydata(),
                                   fitted.history_[:, f"{phase}_loss"])
    assert {ln.get_linestyle() for ln in display.lines_[0]} == {"-"}
    assert {ln.get_linestyle() for ln in display.lines_[1]} == {"--"}
    # one colour per task in both phases
    assert [ln.get_color() for ln in display.lines_[0]] == [
        ln.get_color() for ln in display.lines_[1]]


def test_task_loss_display_one_phase_without_mean_on_given_axes(fitted):
    _, ax = plt.subplots()
    display = TaskLossDisplay.from_estimator(fitted, which="train", mean=False, ax=ax,
                                             log_scale=True)
    assert display.ax_ is ax
    assert display.lines_.shape == (1, len(TASKS))
    assert _legend(ax) == TASKS
    assert ax.get_yscale() == "log"


def test_task_loss_display_without_validation_split(data):
    X, Y = data
    net = _net(max_epochs=3).fit(X, Y)
    display = TaskLossDisplay.from_estimator(net)  # default: the phases recorded
    assert display.lines_.shape == (1, len(TASKS) + 1)
    assert "valid" not in _legend(display.ax_)
    with pytest.raises(ValueError, match="early_stopping=True"):
        TaskLossDisplay.from_estimator(net, which="valid")
    with pytest.raises(ValueError, match="'train' and/or 'valid'"):
        TaskLossDisplay.from_estimator(net, which=("train", "test"))


def test_task_loss_display_through_a_pipeline(data):
    X, Y = data
    pipe = make_pipeline(StandardScaler(), _net(max_epochs=2)).fit(X, Y)
    display = TaskLossDisplay.from_estimator(pipe)
    assert _legend(display.ax_)[:3] == TASKS
    assert len(display.lines_[0, 0].get_xdata()) == 2


# ----------------------------------------------------------------- TaskWeightDisplay
def test_task_weight_display_lines_are_the_recorded_weights(fitted):
    display = TaskWeightDisplay.from_estimator(fitted)
    weights = np.array(fitted.history_[:, "task_weights"])
    assert len(display.lines_) == len(TASKS)
    assert len(display.ax_.get_lines()) == len(TASKS)
    assert _legend(display.ax_) == TASKS
    assert display.ax_.get_xlabel() == "epoch"
    assert display.ax_.get_ylabel() == "task weight"
    assert "uncertainty" in display.ax_.get_title()
    for t, line in enumerate(display.lines_):
        np.testing.assert_allclose(line.get_ydata(), weights[:, t])
    # learned weights move during training
    assert np.ptp(weights, axis=0).max() > 0


def test_task_weight_display_fixed_weights_are_flat(data):
    X, Y = data
    net = _net(max_epochs=3, task_weights=[1.0, 2.0, 0.5]).fit(X, Y)
    display = TaskWeightDisplay.from_estimator(net)
    for line, w in zip(display.lines_, [1.0, 2.0, 0.5]):
        np.testing.assert_allclose(line.get_ydata(), w)


# ----------------------------------------------------------------- bad estimators
@pytest.mark.parametrize("make_display", [
    TaskLossDisplay.from_estimator,
    TaskWeightDisplay.from_estimator,
    lambda est: TaskRelationDisplay.from_estimator(est, *_xy()),
])
def test_unfitted_estimator_is_refused(make_display):
    with pytest.raises(NotFittedError):
        make_display(_net())


def _xy():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(30, 3))
    return X, np.column_stack([X[:, 0], X[:, 1]])


@pytest.mark.parametrize("make_display, match", [
    (TaskLossDisplay.from_estimator, "history_"),
    (TaskWeightDisplay.from_estimator, "history_"),
    (lambda est: task_gradient_similarity(est, *_xy()), "neural multi-task estimator"),
])
def test_estimator_without_history_is_refused(make_display, match):
    ridge = MultiTaskRidge().fit(*_xy())
    with pytest.raises(TypeError, match=match):
        make_display(ridge)


# ----------------------------------------------------------------- gradient similarity
def test_gradient_similarity_is_a_symmetric_cosine_matrix(fitted, data):
    X, Y = data
    before = fitted.predict(X)
    n_epochs = len(fitted.history_)
    fitted.net_.module_.train()
    sim = task_gradient_similarity(fitted, X, Y)
    assert fitted.net_.module_.training  # its mode is restored (evaluation inside)
    assert list(sim.index) == TASKS and list(sim.columns) == TASKS
    np.testing.assert_allclose(sim.to_numpy(), sim.to_numpy().T)
    np.testing.assert_allclose(np.diag(sim), 1.0)
    assert np.all(np.abs(sim.to_numpy()) <= 1.0)
    # the estimator is left as it was
    np.testing.assert_array_equal(fitted.predict(X), before)
    assert len(fitted.history_) == n_epochs and list(fitted.task_names_) == TASKS


def test_identical_tasks_have_similarity_one():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 3))
    y = X[:, 0] - X[:, 1]
    Y = np.column_stack([y, y, rng.normal(size=80)])
    net = _net(max_epochs=3).fit(X, Y)
    heads = net.net_.module_.heads
    with torch.no_grad():  # the same head for tasks 0 and 1: the same function of the trunk
        heads.weight[:, 1] = heads.weight[:, 0]
        heads.bias[1] = heads.bias[0]
    sim = task_gradient_similarity(net, X, Y).to_numpy()
    assert sim[0, 1] == pytest.approx(1.0, abs=1e-6)
    assert sim[0, 2] == pytest.approx(sim[1, 2], abs=1e-6)
    assert sim[0, 2] < 0.99


def test_gradient_similarity_batches_add_up(fitted, data, monkeypatch):
    """Data-set gradients accumulated over batches give the one-batch result."""
    X, Y = data
    whole = task_gradient_similarity(fitted, X, Y)
    monkeypatch.setattr(type(fitted), "_predict_batch_size", 7)
    pd.testing.assert_frame_equal(task_gradient_similarity(fitted, X, Y), whole, atol=1e-9)


def test_gradient_similarity_of_a_classifier_and_a_pipeline():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 3)) * 5 + 2
    y = np.column_stack([np.where(X[:, 0] > 2, "yes", "no"),
                         np.where(X[:, 1] > 2, "up", "down")]).astype(object)
    clf = make_pipeline(StandardScaler(), MultiTaskNetClassifier(
        hidden_layer_sizes=(8,), max_epochs=3, random_state=0, n_threads=1)).fit(X, y)
    sim = task_gradient_similarity(clf, X, y)
    assert sim.shape == (2, 2)
    np.testing.assert_allclose(np.diag(sim), 1.0)


def test_gradient_similarity_errors(data):
    X, Y = data
    independent = _net(architecture="independent", max_epochs=1).fit(X, Y)
    with pytest.raises(ValueError, match="no trainable shared parameters"):
        task_gradient_similarity(independent, X, Y)
    net = _net(max_epochs=1).fit(X, Y)
    with pytest.raises(ValueError, match="fitted on"):
        task_gradient_similarity(net, X, Y.rename(columns={"noise": "other"}))


# ----------------------------------------------------------------- TaskRelationDisplay
def test_task_relation_display_draws_an_annotated_heatmap(fitted, data):
    X, Y = data
    display = TaskRelationDisplay.from_estimator(fitted, X, Y)
    sim = task_gradient_similarity(fitted, X, Y).to_numpy()
    assert display.im_.get_array().shape == (3, 3)
    np.testing.assert_allclose(display.im_.get_array(), sim)
    assert [t.get_text() for t in display.ax_.get_xticklabels()] == TASKS
    assert [t.get_text() for t in display.ax_.get_yticklabels()] == TASKS
    assert display.text_.shape == (3, 3)
    assert display.text_[0, 0].get_text() == "1.00"
    assert display.text_[1, 2].get_text() == f"{sim[1, 2]:.2f}"
    assert display.colorbar_.ax.get_ylabel() == "gradient cosine similarity"
    assert display.im_.get_clim() == (-1.0, 1.0)


def test_task_relation_display_from_a_matrix_without_annotations():
    _, ax = plt.subplots()
    display = TaskRelationDisplay(np.eye(2), ["a", "b"], label="gain").plot(
        ax=ax, values_format=None, colorbar=False)
    assert display.ax_ is ax and display.text_ is None and display.colorbar_ is None
    assert len(ax.texts) == 0
    with pytest.raises(ValueError, match="expected \\(3, 3\\)"):
        TaskRelationDisplay(np.eye(2), ["a", "b", "c"]).plot()
