"""Property-based tests (hypothesis) of the modality contract and the per-task metrics.

The task contract has its own file (test_properties_targets.py). Generated inputs per run:
``MAX_EXAMPLES`` per test (6 tests x 30 = 180 generated inputs).
"""

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    mean_absolute_error,
    r2_score,
    root_mean_squared_error,
)

from sklearn_mtml._modalities import (
    ModalityPreprocessor,
    presence_mask,
    resolve_modalities,
)
from sklearn_mtml.metrics import (
    per_task_accuracy,
    per_task_f1,
    per_task_mae,
    per_task_r2,
    per_task_rmse,
)

MAX_EXAMPLES = 30
SETTINGS = settings(max_examples=MAX_EXAMPLES, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
WORDS = ["soft", "warm", "thin", "cheap", "lovely", "small", "red"]


# ----------------------------------------------------------------------------- modalities
@st.composite
def modal_frame(draw):
    """A DataFrame with numeric, categorical and text columns, a modality spec (names,
    positions or a slice per modality) and random missingness, whole-row holes included."""
    n = draw(st.integers(1, 15))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    n_num = draw(st.integers(1, 5))
    cols = {f"n{j}": rng.normal(size=n) for j in range(n_num)}
    with_cat = draw(st.booleans())
    with_text = draw(st.booleans())
    if with_cat:
        cols["c0"] = pd.Series(rng.choice(["a", "b", "c"], size=n), dtype=object)
    if with_text:
        cols["t0"] = pd.Series([" ".join(rng.choice(WORDS, size=rng.integers(3, 6)))
                                for _ in range(n)], dtype=object)
    X = pd.DataFrame(cols)
    # cut the numeric columns into 1..3 modalities of consecutive columns
    n_groups = draw(st.integers(1, min(3, n_num)))
    cuts = sorted(rng.choice(np.arange(1, n_num), size=n_groups - 1, replace=False).tolist()
                  ) if n_groups > 1 else []
    bounds = [0, *cuts, n_num]
    spec, types = {}, {}
    for g in range(n_groups):
        names = [f"n{j}" for j in range(bounds[g], bounds[g + 1])]
        how = draw(st.sampled_from(["names", "positions", "slice"]))
        spec[f"num{g}"] = (names if how == "names" else
                           [X.columns.get_loc(c) for c in names] if how == "positions" else
                           slice(bounds[g], bounds[g + 1]))
    if with_cat:
        spec["cat"], types["cat"] = "c0", "categorical"
    if with_text:
        spec["text"], types["text"] = "t0", "text"
    # missing cells, and some rows where a whole modality is missing
    p = draw(st.floats(0.0, 0.6))
    holes = rng.random(X.shape) < p
    X = X.mask(holes)
    if with_text:  # blank strings are absent text too
        blank = rng.random(n) < 0.2
        X.loc[blank & X["t0"].notna().to_numpy(), "t0"] = "   "
    return X, spec, types


def _expected_presence(X, modality):
    block = X[list(modality.columns)]
    if modality.kind == "text":
        return np.array([not (pd.isna(v) or str(v).strip() == "") for v in block.iloc[:, 0]])
    return ~block.isna().all(axis=1).to_numpy()


@SETTINGS
@given(modal_frame())
def test_presence_is_all_columns_missing_in_the_row(case):
    X, spec, types = case
    mods = resolve_modalities(X, spec, types)
    mask = presence_mask(X, mods)
    assert mask.shape == (len(X), len(spec)) and mask.dtype == bool
    for j, m in enumerate(mods):
        np.testing.assert_array_equal(mask[:, j], _expected_presence(X, m))


@SETTINGS
@given(modal_frame())
def test_spec_by_names_positions_or_slice_resolves_the_same(case):
    X, spec, types = case
    by_names = {k: ([X.columns[i] for i in range(X.shape[1])[v]] if isinstance(v, slice)
                    else [X.columns[c] if isinstance(c, int) else c for c in v]
                    if isinstance(v, list) else v)
                for k, v in spec.items()}
    a = resolve_modalities(X, spec, types)
    b = resolve_modalities(X, by_names, types)
    assert [(m.name, m.kind, m.positions) for m in a] == [(m.name, m.kind, m.positions) for m in b]


@SETTINGS
@given(modal_frame())
def test_absent_rows_reach_the_network_as_zeros(case):
    X, spec, types = case
    mods = resolve_modalities(X, spec, types)
    if not presence_mask(X, mods).any():
        return  # nothing to fit vocabularies or statistics on
    blocks = ModalityPreprocessor(mods, text_max_features=50).fit(X).transform(X)
    np.testing.assert_array_equal(blocks.mask, presence_mask(X, mods))
    for j, m in enumerate(mods):
        for array in blocks.arrays[m.name]:
            assert np.isfinite(array).all()  # no NaN ever reaches the network
            assert not np.any(array[~blocks.mask[:, j]])  # absent: zeros, not imputed values


# ----------------------------------------------------------------------------- metrics
@st.composite
def scored_tasks(draw, classification=False):
    n = draw(st.integers(3, 25))
    t = draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    if classification:
        labels = np.array(["x", "y", "z"], dtype=object)
        Y = labels[rng.integers(0, 3, size=(n, t))]
        P = np.where(rng.random((n, t)) < 0.6, Y, labels[rng.integers(0, 3, size=(n, t))])
    else:
        Y = rng.normal(size=(n, t)) * rng.uniform(0.1, 100, size=t)
        P = Y + rng.normal(size=(n, t)) * rng.uniform(0.1, 10, size=t)
    missing = rng.random((n, t)) < draw(st.floats(0.0, 0.6))
    missing[rng.choice(n, size=2, replace=False)] = False  # each task keeps two labels
    Y = Y.astype(object) if classification else Y
    Y[missing] = None if classification else np.nan
    return Y, P, missing


REGRESSION = [(per_task_r2, r2_score), (per_task_rmse, root_mean_squared_error),
              (per_task_mae, mean_absolute_error)]


@SETTINGS
@given(scored_tasks())
def test_regression_metrics_equal_sklearn_on_observed_entries(case):
    Y, P, missing = case
    for ours, sklearn_metric in REGRESSION:
        got = ours(Y, P)
        expected = [sklearn_metric(Y[~missing[:, t], t], P[~missing[:, t], t])
                    for t in range(Y.shape[1])]
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


@SETTINGS
@given(scored_tasks(classification=True))
def test_classification_metrics_equal_sklearn_on_observed_entries(case):
    Y, P, missing = case
    got_acc = per_task_accuracy(Y, P)
    got_f1 = per_task_f1(Y, P, zero_division=0)
    for t in range(Y.shape[1]):
        keep = ~missing[:, t]
        yt, yp = Y[keep, t].astype(str), P[keep, t].astype(str)
        assert got_acc[t] == pytest.approx(accuracy_score(yt, yp))
        assert got_f1[t] == pytest.approx(f1_score(yt, yp, average="macro", zero_division=0))


@SETTINGS
@given(scored_tasks(), st.integers(0, 2**16))
def test_a_task_score_ignores_other_tasks_missing_labels(case, seed):
    Y, P, _ = case
    if Y.shape[1] < 2:
        return
    rng = np.random.default_rng(seed)
    Y2 = Y.copy()
    Y2[rng.random(len(Y)) < 0.5, 1:] = np.nan  # hide labels of the other tasks only
    keep = ~np.isnan(Y2[:, 1:]).all(axis=0)  # tasks that still have a label
    Y2[:, 1:][:, ~keep] = Y[:, 1:][:, ~keep]
    P2 = P.copy()
    P2[np.isnan(Y2)] = 1e12  # predictions for missing labels must not matter either
    for metric, _ in REGRESSION:
        assert metric(Y2, P2)[0] == pytest.approx(metric(Y, P)[0], rel=1e-12)
