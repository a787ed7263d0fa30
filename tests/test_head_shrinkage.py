"""``head_shrinkage``: task heads pulled towards their mean (TaskHeads.shrinkage_penalty)."""

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from torch import nn

from sklearn_mtml.model_selection import TaskKFold
from sklearn_mtml.neural import MultiModalRegressor, MultiTaskNetClassifier, MultiTaskNetRegressor
from sklearn_mtml.nn.heads import TaskHeads, head_shrinkage_penalty
from sklearn_mtml.nn.sharing import SharedBottomNetwork
from sklearn_mtml.persistence import load_safe, save_safe

# the mechanism under test, without the long-format "auto" defaults (early stopping, pooled
# scaling, shrinkage 1000), whose own test is test_long_format_auto_defaults below
FAST = dict(hidden_layer_sizes=(8,), max_epochs=20, lr=0.02, batch_size=32, random_state=0,
            n_threads=1, early_stopping=False, target_scaling="task")


def _long(n=240, n_tasks=6, seed=0):
    """Long format: column 0 is the task; the tasks share one direction, scaled per task."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    task = rng.integers(0, n_tasks, n)
    y = X[:, 0] * (1 + 0.3 * task) + X[:, 1] + 0.1 * rng.normal(size=n)
    return np.column_stack([task, X]), y


def _spread(model) -> float:
    """Relative distance of the task heads from their mean head."""
    heads = [m for m in model.net_.module_.modules() if isinstance(m, TaskHeads)][0]
    W = heads.weight.detach().view(heads.in_features, heads.n_tasks, heads.width)
    mean = W.mean(dim=1, keepdim=True)
    return float((W - mean).norm() / (mean.norm() * np.sqrt(heads.n_tasks)))


# ----------------------------------------------------------------------------- TaskHeads
def test_penalty_is_the_weighted_squared_distance_to_the_mean_head():
    heads = TaskHeads(3, 4, [1, 1, 1])
    assert head_shrinkage_penalty(heads) is None  # nothing set: no term at all
    heads.set_shrinkage([1.0, 2.0, 0.5])
    heads(torch.randn(5, 4))
    W = heads.weight.detach().T  # (tasks, in)
    b = heads.bias.detach()
    expected = sum(c * (((W[t] - W.mean(0)) ** 2).sum() + (b[t] - b.mean()) ** 2)
                   for t, c in enumerate([1.0, 2.0, 0.5]))
    torch.testing.assert_close(heads.shrinkage_penalty().detach(), expected)
    heads.eval()
    assert heads.shrinkage_penalty() is None  # a training-time term only
    heads.set_shrinkage(0.0)
    heads.train()
    assert heads.shrinkage_penalty() is None


def test_routed_forward_penalises_only_the_batch_tasks():
    heads = TaskHeads(4, 3, [1, 1, 1, 1])
    heads.set_shrinkage(1.0)
    heads(torch.randn(6, 3), task=torch.tensor([0, 2, 2, 0, 0, 2]))
    W = heads.weight.detach().T
    b = heads.bias.detach()
    expected = sum(((W[t] - W.mean(0)) ** 2).sum() + (b[t] - b.mean()) ** 2 for t in (0, 2))
    penalty = heads.shrinkage_penalty()
    torch.testing.assert_close(penalty.detach(), expected)
    penalty.backward()
    # a present task's head moves towards the mean (the gradient points away from it)
    for t in (0, 2):
        direction = (heads.weight.grad.T[t] * (W[t] - W.mean(0))).sum()
        assert direction > 0


def test_padding_columns_of_smaller_classification_heads_take_no_part():
    heads = TaskHeads(3, 2, [2, 3, 2])
    heads.set_shrinkage(1.0)
    heads(torch.randn(4, 2))
    heads.shrinkage_penalty().backward()
    W = heads.weight.grad.view(2, 3, 3)
    # column 2 is real for task 1 only: no deviation from a mean of one, no gradient
    assert torch.all(W[:, :, 2] == 0)
    assert torch.all(heads.bias.grad.view(3, 3)[:, 2] == 0)
    assert W[:, :, :2].abs().sum() > 0


def test_set_shrinkage_checks_its_values():
    heads = TaskHeads(2, 3, [1, 1])
    with pytest.raises(ValueError, match="3 values for 2 tasks"):
        heads.set_shrinkage([1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match=">= 0"):
        heads.set_shrinkage([1.0, -1.0])


# ----------------------------------------------------------------------------- estimators
def test_zero_is_identical_to_not_passing_it_and_a_positive_value_is_not():
    X, y = _long()
    X_wide, Y_wide = X[:, 1:], np.column_stack([y, -y])
    plain = MultiTaskNetRegressor(**FAST).fit(X_wide, Y_wide)  # wide: "auto" is 0
    zero = MultiTaskNetRegressor(head_shrinkage=0.0, **FAST).fit(X_wide, Y_wide)
    np.testing.assert_array_equal(zero.predict(X_wide), plain.predict(X_wide))
    assert zero.history_[:, "train_objective"] == plain.history_[:, "train_objective"]
    plain = MultiTaskNetRegressor(task_column=0, head_shrinkage=0.0, **FAST).fit(X, y)
    zero = MultiTaskNetRegressor(task_column=0, head_shrinkage=0, **FAST).fit(X, y)
    np.testing.assert_array_equal(zero.predict(X), plain.predict(X))
    assert zero.history_[:, "train_objective"] == plain.history_[:, "train_objective"]
    shrunk = MultiTaskNetRegressor(task_column=0, head_shrinkage=10.0, **FAST).fit(X, y)
    assert not np.allclose(shrunk.predict(X), plain.predict(X))


@pytest.mark.parametrize("architecture",
                         ["shared_bottom", "mmoe", "independent", "shared_private"])
def test_strong_shrinkage_makes_the_heads_nearly_equal_in_long_format(architecture):
    X, y = _long()
    spread = {hs: _spread(MultiTaskNetRegressor(
        architecture=architecture, task_column=0, head_shrinkage=hs, **FAST).fit(X, y))
        for hs in (0.0, 0.01, 1e4)}
    assert spread[0.0] > 0.2
    assert spread[0.01] > 0.2  # a small value hardly changes the heads
    assert spread[1e4] < 0.05 * spread[0.0]


def test_wide_format_and_classification():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 4))
    Y = np.column_stack([X[:, 0] + X[:, 1], 2 * X[:, 0] + X[:, 1], X[:, 0]])
    Y[::4, 1] = np.nan
    loose = MultiTaskNetRegressor(**FAST).fit(X, Y)
    tight = MultiTaskNetRegressor(head_shrinkage=1e4, **FAST).fit(X, Y)
    assert _spread(tight) < 0.05 * _spread(loose)
    labels = np.column_stack([np.where(X[:, 0] > 0, "a", "b"), np.digitize(X[:, 1], [-0.5, 0.5])])
    clf = MultiTaskNetClassifier(head_shrinkage=100.0, **FAST).fit(X, labels)
    assert clf.score(X, labels) > 0.7


def test_multimodal_estimator_shrinks_its_task_heads():
    rng = np.random.default_rng(2)
    X = pd.DataFrame(rng.normal(size=(160, 4)), columns=list("abcd"))
    Y = np.column_stack([X.a + X.c, X.a - X.c, X.b])
    kw = dict(modalities={"u": ["a", "b"], "v": ["c", "d"]}, encoder_sizes=(8,),
              fusion_size=8, fusion="concat", **FAST)
    loose = MultiModalRegressor(**kw).fit(X, Y)
    tight = MultiModalRegressor(head_shrinkage=1e4, **kw).fit(X, Y)
    assert _spread(tight) < 0.05 * _spread(loose)


def test_penalty_strength_is_divided_by_each_task_training_labels():
    X, y = _long(n=120, n_tasks=3)
    model = MultiTaskNetRegressor(task_column=0, head_shrinkage=6.0, **FAST).fit(X, y)
    counts = np.bincount(X[:, 0].astype(int), minlength=3)
    np.testing.assert_allclose(model.net_.module_.heads.shrinkage.numpy(), 6.0 / counts,
                               rtol=1e-6)


@pytest.mark.parametrize("value", [-1.0, "strong"])
def test_invalid_values_are_rejected_by_parameter_validation(value):
    X, y = _long(n=60)
    with pytest.raises(ValueError, match="head_shrinkage"):
        MultiTaskNetRegressor(task_column=0, head_shrinkage=value, **FAST).fit(X, y)


class _PlainNet(nn.Module):
    def __init__(self, in_features, out_sizes):
        super().__init__()
        self.layer = nn.Linear(in_features, sum(out_sizes))

    def forward(self, x):
        return self.layer(x)


def test_a_network_without_task_heads_is_a_clear_error():
    X, y = _long(n=60)
    model = MultiTaskNetRegressor(architecture=_PlainNet, task_column=0, head_shrinkage=1.0,
                                  **FAST)
    with pytest.raises(ValueError, match="TaskHeads"):
        model.fit(X, y)
    # without shrinkage the same network trains as before
    MultiTaskNetRegressor(architecture=_PlainNet, task_column=0, **FAST).fit(X, y)


def test_a_sharing_network_instance_and_warm_start_switching_it_off():
    X, y = _long()
    net = SharedBottomNetwork(4, [1] * 6, hidden_layer_sizes=(8,))
    model = MultiTaskNetRegressor(architecture=net, task_column=0, head_shrinkage=1e4,
                                  warm_start=True, **FAST).fit(X, y)
    assert _spread(model) < 0.05
    model.set_params(head_shrinkage=0.0).fit(X, y)
    assert model.net_.module_.heads.shrinkage is None


def test_clone_grid_search_and_safe_persistence(tmp_path):
    X, y = _long(n=180)
    model = MultiTaskNetRegressor(task_column=0, head_shrinkage=5.0, **{**FAST, "max_epochs": 5})
    assert clone(model).get_params()["head_shrinkage"] == 5.0
    search = GridSearchCV(model, {"head_shrinkage": [0.0, 1e6]},
                          cv=TaskKFold(n_splits=2, task_column=0, shuffle=True, random_state=0))
    search.fit(X, y)
    assert search.best_params_["head_shrinkage"] in (0.0, 1e6)
    assert len(search.cv_results_["mean_test_score"]) == 2
    fitted = model.fit(X, y)
    save_safe(fitted, tmp_path / "model.safetensors")
    loaded = load_safe(tmp_path / "model.safetensors")
    assert loaded.head_shrinkage == 5.0
    np.testing.assert_array_equal(loaded.predict(X), fitted.predict(X))


def test_accelerated_training_adds_the_same_penalty():
    pytest.importorskip("accelerate", reason="the 'accelerate' extra is not installed")
    from accelerate.state import AcceleratorState

    X, y = _long()
    AcceleratorState._reset_state(reset_partial_state=True)
    try:
        plain = MultiTaskNetRegressor(task_column=0, head_shrinkage=50.0, **FAST).fit(X, y)
        accelerated = MultiTaskNetRegressor(task_column=0, head_shrinkage=50.0, accelerator={},
                                            **FAST).fit(X, y)
    finally:
        AcceleratorState._reset_state(reset_partial_state=True)
    np.testing.assert_array_equal(accelerated.predict(X), plain.predict(X))


# ----------------------------------------------------------------------------- target_scaling
def _offset_tasks(n=300, n_tasks=5, seed=0):
    """Long format, one slope, task levels far apart (offsets 0, 10, 20, ...)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    task = rng.integers(0, n_tasks, n)
    y = 10.0 * task + 2 * X[:, 0] + 0.1 * rng.normal(size=n)
    return np.column_stack([task, X]), y, n_tasks


def test_pooled_target_scaling_uses_one_mean_and_scale():
    X, y, n_tasks = _offset_tasks()
    task = MultiTaskNetRegressor(task_column=0, head_shrinkage=0.0, **FAST).fit(X, y)
    pooled = MultiTaskNetRegressor(task_column=0, head_shrinkage=0.0,
                                   **{**FAST, "target_scaling": "pooled"}).fit(X, y)
    np.testing.assert_allclose(pooled._target_mean_, np.full(n_tasks, y.mean()))
    np.testing.assert_allclose(pooled._target_scale_, np.full(n_tasks, y.std()))
    levels = [y[X[:, 0] == t].mean() for t in range(n_tasks)]
    np.testing.assert_allclose(task._target_mean_, levels)
    # both learn the task levels when heads are free
    for model in (task, pooled):
        assert model.score(X, y) > 0.9


def test_pooled_scaling_lets_head_shrinkage_pull_task_levels_together():
    X, y, n_tasks = _offset_tasks()
    probe = np.column_stack([np.arange(n_tasks), np.zeros((n_tasks, 3))])  # same x per task
    strong = dict(task_column=0, head_shrinkage=1e5, **FAST)
    per_task = MultiTaskNetRegressor(**strong).fit(X, y).predict(probe)
    pooled = MultiTaskNetRegressor(**{**strong, "target_scaling": "pooled"})
    pooled = pooled.fit(X, y).predict(probe)
    # "task": levels are the scaling's own means, kept whatever the heads do
    assert np.ptp(per_task) > 30
    # "pooled": the levels live in the shrunk biases and collapse towards the common one
    assert np.ptp(pooled) < 0.2 * np.ptp(per_task)


def test_target_scaling_is_validated():
    X, y, _ = _offset_tasks(n=60)
    with pytest.raises(ValueError, match="target_scaling"):
        MultiTaskNetRegressor(task_column=0, **{**FAST, "target_scaling": "global"}).fit(X, y)


def test_only_tasks_labelled_in_the_batch_are_penalised():
    # wide data with missing labels: a task without a label in the batch gets no loss, so
    # it gets no penalty either (the estimators mark the labelled tasks at each step)
    heads = TaskHeads(3, 4, [1, 1, 1])
    heads.set_shrinkage(1.0)
    heads(torch.randn(5, 4))  # wide: every task's outputs
    everyone = heads.shrinkage_penalty().detach()
    heads.mark_labelled(torch.tensor([True, False, True]))
    W, b = heads.weight.detach().T, heads.bias.detach()
    per_task = ((W - W.mean(0)) ** 2).sum(1) + (b - b.mean()) ** 2
    torch.testing.assert_close(heads.shrinkage_penalty().detach(), per_task[[0, 2]].sum())
    torch.testing.assert_close(everyone, per_task.sum())
    heads.mark_labelled(None)
    torch.testing.assert_close(heads.shrinkage_penalty().detach(), everyone)


def test_estimator_marks_the_labelled_tasks_of_each_step():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 3))
    Y = np.c_[X[:, 0], X[:, 1]]
    Y[2:, 1] = np.nan  # task 1 labelled in 2 rows only: most batches lack it
    model = MultiTaskNetRegressor(head_shrinkage=10.0, batch_size=8, max_epochs=1,
                                  hidden_layer_sizes=(4,), random_state=0, n_threads=1)
    seen = []

    class Spy(TaskHeads):
        def mark_labelled(self, labelled):
            seen.append(labelled.tolist())
            super().mark_labelled(labelled)

    model.fit(X, Y)  # builds the network
    for m in model.net_.module_.modules():
        if isinstance(m, TaskHeads):
            m.__class__ = Spy
    model.set_params(warm_start=True).fit(X, Y)
    assert len(seen) == 8  # one mark per batch
    assert all(task0 for task0, _ in seen)
    assert 1 <= sum(task1 for _, task1 in seen) <= 2  # only the batches with its 2 labels


def test_long_format_auto_defaults():
    X, y = _long()
    auto = MultiTaskNetRegressor(task_column=0, hidden_layer_sizes=(8,), random_state=0,
                                 max_epochs=20).fit(X, y)
    assert "early_stopping" in dict(auto.net_.callbacks_)
    np.testing.assert_allclose(auto._target_mean_, np.full(6, y.mean()))  # pooled
    counts = np.bincount(X[:, 0].astype(int))
    shrink = auto.net_.module_.heads.shrinkage.numpy()
    assert np.all(shrink > 0)
    explicit = MultiTaskNetRegressor(task_column=0, hidden_layer_sizes=(8,), random_state=0,
                                     max_epochs=20, early_stopping=True,
                                     target_scaling="pooled", head_shrinkage=1000.0).fit(X, y)
    np.testing.assert_array_equal(auto.predict(X), explicit.predict(X))
    assert counts.sum() == len(y)
    # wide format: "auto" changes nothing (no early stopping, per-task scaling, no shrinkage)
    wide = MultiTaskNetRegressor(hidden_layer_sizes=(8,), random_state=0, max_epochs=3)
    wide.fit(X[:, 1:], np.column_stack([y, -y]))
    assert "early_stopping" not in dict(wide.net_.callbacks_)
    assert wide.net_.module_.heads.shrinkage is None
