"""
=================================================
Training on a file larger than memory, in chunks
=================================================

When the data do not fit in memory, read them from disk in chunks and update the model with
``partial_fit`` on each chunk: memory is set by the chunk size, not by the file.

This example writes a multi-task regression dataset to a CSV file chunk by chunk (so it is
never held in memory whole), then streams it back with ``pandas.read_csv(chunksize=...)``:
once to learn the feature scaling, then once per training epoch. The targets follow the package's
task contract (:ref:`task_contract`): one column per task, ``NaN`` where a label is missing.

The model is a :class:`~sklearn_mtml.MultiTaskNetRegressor`: each ``partial_fit`` call
trains one epoch over the chunk it is given, continuing from the current weights, with
each task's loss computed on the rows where that task is labelled.
"""

# %%
# Write a large CSV, one chunk at a time
# --------------------------------------
# Four related tasks: each task's weights are a shared vector plus a small task-specific
# deviation, and 30% of the labels of each task are missing.
import os
import tempfile
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.preprocessing import StandardScaler

from sklearn_mtml import MultiTaskNetRegressor, MultiTaskRidge

QUICK = bool(os.environ.get("SKLEARN_MTML_QUICK"))  # a small file in the test suite
N_ROWS = 10_000 if QUICK else 60_000
CHUNK_SIZE = 2_500 if QUICK else 10_000
N_FEATURES, N_TASKS = 20, 4
N_PASSES = 1 if QUICK else 2  # passes over the file (epochs)

rng = np.random.default_rng(0)
shared = rng.normal(size=N_FEATURES)
task_weights = shared + 0.3 * rng.normal(size=(N_TASKS, N_FEATURES))
features = [f"x{j:02d}" for j in range(N_FEATURES)]
tasks = [f"task_{t}" for t in range(N_TASKS)]


def make_chunk(n, rng):
    X = rng.normal(loc=3.0, scale=2.0, size=(n, N_FEATURES))
    Y = (X - 3.0) @ task_weights.T + rng.normal(scale=2.0, size=(n, N_TASKS))
    Y[rng.random(Y.shape) < 0.3] = np.nan  # missing labels
    return pd.DataFrame(np.hstack([X, Y]), columns=features + tasks)


workdir = Path(tempfile.mkdtemp(prefix="sklearn_mtml_stream_"))
path = workdir / "train.csv"
start = time.perf_counter()
for i in range(N_ROWS // CHUNK_SIZE):
    make_chunk(CHUNK_SIZE, rng).to_csv(
        path, mode="a", header=(i == 0), index=False, float_format="%.4f"
    )
print(
    f"wrote {N_ROWS:,} rows ({path.stat().st_size / 1e6:.0f} MB) "
    f"in {time.perf_counter() - start:.1f} s"
)

# A separate held-out set, small enough for memory.
test = make_chunk(2_000 if QUICK else 10_000, rng)
X_test, Y_test = test[features], test[tasks]

# %%
# First pass: the feature scaling
# -------------------------------
# ``StandardScaler.partial_fit`` accumulates means and variances exactly over the chunks.
scaler = StandardScaler()
for chunk in pd.read_csv(path, chunksize=CHUNK_SIZE):
    scaler.partial_fit(chunk[features])

# %%
# Then: train, one chunk at a time
# --------------------------------
# The first ``partial_fit`` call fixes the tasks (the columns of ``Y``); every chunk must
# keep them, with ``NaN`` for missing labels. After every chunk we score the held-out set
# (``score`` is the mean over tasks of the per-task R²). A few passes over the file are a
# few epochs.
model = MultiTaskNetRegressor(
    hidden_layer_sizes=(64,), lr=3e-3, batch_size=512, random_state=0, device="auto"
)
X_test_scaled = scaler.transform(X_test)
rows_seen, curve = [], []
start = time.perf_counter()
for _ in range(N_PASSES):
    for chunk in pd.read_csv(path, chunksize=CHUNK_SIZE):
        model.partial_fit(scaler.transform(chunk[features]), chunk[tasks])
        rows_seen.append((rows_seen[-1] if rows_seen else 0) + len(chunk))
        curve.append(model.score(X_test_scaled, Y_test))
print(f"trained on {rows_seen[-1]:,} streamed rows in {time.perf_counter() - start:.1f} s")

# %%
# Compare with a model fitted in memory
# -------------------------------------
# The demo file is small enough to load whole, so we can check the streamed model against
# :class:`~sklearn_mtml.MultiTaskRidge` fitted in memory on all rows (with a real
# larger-than-memory file this reference would not exist).
everything = pd.read_csv(path)
in_memory = MultiTaskRidge(alpha=1.0).fit(scaler.transform(everything[features]), everything[tasks])
reference = in_memory.score(X_test_scaled, Y_test)
del everything
print(f"MultiTaskNetRegressor, streamed:    mean R² over tasks {curve[-1]:.4f}")
print(f"MultiTaskRidge, all rows in memory: mean R² over tasks {reference:.4f}")

fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
ax.plot(rows_seen, curve, marker="o", label="MultiTaskNetRegressor, partial_fit per chunk")
ax.axhline(reference, color="gray", linestyle="--", label="MultiTaskRidge, all rows in memory")
ax.set_xlabel("rows streamed from disk (all passes)")
ax.set_ylabel("held-out R² (mean over tasks)")
ax.set_title(f"partial_fit over chunks of {CHUNK_SIZE:,} rows")
ax.legend(loc="lower right")
plt.show()

# %%
# Clean up the temporary file.
path.unlink()
workdir.rmdir()
