"""
=========================================================
Balancing tasks: learning curves, weights and relations
=========================================================

A multi-task network minimises one objective built from every task's loss. With
``loss_weighting="fixed"`` that objective is the plain sum, so a task whose labels are
mostly noise pulls on the shared layers as hard as a clean one. Uncertainty weighting
(Kendall et al., 2018; ``loss_weighting="uncertainty"``) learns one noise level per task
and divides each loss by it: noisy tasks are down-weighted as training goes.

This example fits both on a wide problem with missing labels and looks inside the
networks with the displays of :mod:`sklearn_mtml.inspection`:

* :class:`~sklearn_mtml.inspection.TaskLossDisplay`: each task's training and validation
  loss per epoch;
* :class:`~sklearn_mtml.inspection.TaskWeightDisplay`: the task weights per epoch;
* :class:`~sklearn_mtml.inspection.TaskRelationDisplay`: the cosine similarity of the
  tasks' gradients on the shared layers, which shows which tasks help each other and which
  pull the shared layers apart.
"""

# %%
# A wide problem with related, unrelated and noisy tasks
# ------------------------------------------------------
# Six regression tasks on 20 features. Tasks ``a1``-``a3`` share most of their weights,
# ``b1``-``b2`` share another weight vector, and ``noisy`` follows group ``a`` under
# heavy noise. 40% of the labels of every task are missing (``NaN``): each row
# contributes only to the losses of the tasks it is labelled for.
import os

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_mtml import MultiTaskNetRegressor
from sklearn_mtml.inspection import TaskLossDisplay, TaskRelationDisplay, TaskWeightDisplay
from sklearn_mtml.metrics import per_task_r2

QUICK = bool(os.environ.get("SKLEARN_MTML_QUICK"))  # fewer rows and epochs in the test suite
N_SAMPLES = 800 if QUICK else 3000
MAX_EPOCHS = 15 if QUICK else 80

rng = np.random.default_rng(0)
n_features = 20
X = rng.normal(size=(N_SAMPLES, n_features))
group_a, group_b = rng.normal(size=n_features), rng.normal(size=n_features)
weights = {
    "a1": group_a + 0.2 * rng.normal(size=n_features),
    "a2": group_a + 0.2 * rng.normal(size=n_features),
    "a3": group_a + 0.2 * rng.normal(size=n_features),
    "b1": group_b + 0.2 * rng.normal(size=n_features),
    "b2": group_b + 0.2 * rng.normal(size=n_features),
    "noisy": group_a,
}
noise = {"a1": 1.0, "a2": 1.0, "a3": 1.0, "b1": 1.0, "b2": 1.0, "noisy": 15.0}
Y = pd.DataFrame({
    # a mild non-linearity, so that the shared hidden layer has something to learn
    name: np.tanh(X @ w / 4) * 4 + noise[name] * rng.normal(size=N_SAMPLES)
    for name, w in weights.items()
})
Y = Y.mask(rng.random(Y.shape) < 0.4)  # missing labels
X_train, X_test, Y_train, Y_test = train_test_split(X, Y, test_size=0.3, random_state=0)
Y_train.notna().mean().round(2).to_frame("labelled fraction").T

# %%
# Fixed and uncertainty weighting
# -------------------------------
# The same network (a shared hidden layer and one linear head per task) with each
# weighting. ``early_stopping=True`` holds out 15% of the training rows, which gives the
# validation curves below; ``n_threads=1`` suits such a small network on a CPU.
params = dict(hidden_layer_sizes=(32,), lr=0.005, batch_size=64, max_epochs=MAX_EPOCHS,
              early_stopping=True, validation_fraction=0.15, n_iter_no_change=15,
              random_state=0, n_threads=1)
models = {
    weighting: make_pipeline(
        StandardScaler(), MultiTaskNetRegressor(loss_weighting=weighting, **params)
    ).fit(X_train, Y_train)
    for weighting in ["fixed", "uncertainty"]
}
scores = pd.DataFrame(
    {weighting: per_task_r2(Y_test, model.predict(X_test)) for weighting, model in
     models.items()},
    index=Y.columns,
)
scores.loc["mean"] = scores.mean()
scores.round(3)

# %%
# Per-task learning curves
# ------------------------
# One colour per task, solid for training and dashed for validation; the black line is the
# mean over tasks (what early stopping watches). The losses are on standardised targets,
# so tasks are comparable: the noisy task's loss stays near 1 (its variance is mostly
# noise) while the others fall. With fixed weights the network fits the noisy task's noise
# (its training loss falls while its validation loss rises); uncertainty weighting, which
# turns that task down, avoids most of it.
fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
for ax, (weighting, model) in zip(axes, models.items()):
    TaskLossDisplay.from_estimator(model, ax=ax, log_scale=True)
    ax.set_title(f'loss_weighting="{weighting}"')
fig.tight_layout()

# %%
# Task-weight trajectories
# ------------------------
# Fixed weighting keeps every weight at 1. Uncertainty weighting learns each task's noise
# level: the weight of ``noisy`` stays low while the clean tasks' weights grow, so the
# clean tasks drive the shared layer.
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
for ax, model in zip(axes, models.values()):
    TaskWeightDisplay.from_estimator(model, ax=ax)
final = models["uncertainty"][-1].history_[-1, "task_weights"]
pd.Series(final, index=Y.columns, name="final uncertainty weight").round(3)

# %%
# Which tasks pull together?
# --------------------------
# :func:`~sklearn_mtml.inspection.task_gradient_similarity` takes, for each task, the
# gradient of its loss on the given data with respect to the shared layer, and compares the
# tasks two by two (cosine). Early in training (here: the same network after one epoch) the
# groups stand out: tasks of a group pull the shared layer the same way, tasks of different
# groups are close to orthogonal, and the noisy task's gradient, mostly noise, agrees with
# nobody. Near convergence the gradients are dominated by each task's own residual noise
# and every similarity shrinks towards 0. Such a matrix suggests which tasks to train
# together, and large negative entries that a gradient method such as
# ``loss_weighting="pcgrad"`` may help.
early = make_pipeline(
    StandardScaler(),
    MultiTaskNetRegressor(loss_weighting="uncertainty", **{**params, "max_epochs": 1}),
).fit(X_train, Y_train)
fig, axes = plt.subplots(1, 2, figsize=(12, 5))
for ax, (when, model) in zip(axes, [("after one epoch", early),
                                    ("at the end", models["uncertainty"])]):
    display = TaskRelationDisplay.from_estimator(model, X_test, Y_test, ax=ax)
    ax.set_title(f"Gradient cosine similarity, {when}")
fig.tight_layout()
plt.show()
