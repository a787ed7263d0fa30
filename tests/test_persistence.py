"""Safe persistence of the neural estimators (sklearn_mtml.persistence, issue 6)."""

import json
import pickle
import struct

import numpy as np
import pandas as pd
import pytest
import torch
from skorch.callbacks import Callback

from sklearn_mtml.neural import (
    MultiModalClassifier,
    MultiModalRegressor,
    MultiTaskNet,
    MultiTaskNetClassifier,
    MultiTaskNetRegressor,
)
from sklearn_mtml.persistence import load_safe, save_safe

torch.set_num_threads(1)

FAST = dict(hidden_layer_sizes=(8,), max_epochs=3, lr=0.05, random_state=0)


def _wide(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    Y = X @ rng.normal(size=(4, 2)) * [1.0, 50.0] + [0.0, 10.0]
    Y[::4, 1] = np.nan
    return X, Y


def _multimodal_frame(n=60, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    X = pd.DataFrame({
        "x1": y + rng.normal(0, 0.5, n), "x2": rng.normal(size=n),
        "colour": np.where(y, "red", "blue"),
        "review": np.where(y, "soft and lovely", "thin and cheap"),
    })
    X.loc[:9, "review"] = None
    X.loc[10:14, ["x1", "x2"]] = np.nan
    return X, y


def _round_trip(model, X, tmp_path):
    path = tmp_path / "model.safetensors"
    save_safe(model, path)
    loaded = load_safe(path)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    return loaded, path


def test_regressor_round_trip(tmp_path):
    X, Y = _wide()
    X_df = pd.DataFrame(X, columns=list("abcd"))
    Y_df = pd.DataFrame(Y, columns=["math", "art"])
    model = MultiTaskNetRegressor(architecture="mmoe", n_experts=2, **FAST).fit(X_df, Y_df)
    loaded, _ = _round_trip(model, X_df, tmp_path)
    assert list(loaded.task_names_) == ["math", "art"]
    assert list(loaded.feature_names_in_) == list("abcd")
    assert loaded.score(X_df, Y_df) == pytest.approx(model.score(X_df, Y_df))
    assert loaded.get_params() == model.get_params()
    assert len(loaded.history_) == len(model.history_)


def test_classifier_round_trip_with_labels_and_probabilities(tmp_path):
    X, Y = _wide()
    y = pd.DataFrame({"colour": np.where(Y[:, 0] > 0, "red", "blue"),
                      "size": np.where(X[:, 1] > 0, 3, 7)})
    model = MultiTaskNetClassifier(loss_weighting="uncertainty", **FAST).fit(X, y)
    loaded, _ = _round_trip(model, X, tmp_path)
    for a, b in zip(loaded.predict_proba(X), model.predict_proba(X)):
        np.testing.assert_array_equal(a, b)
    assert [list(c) for c in loaded.classes_] == [["blue", "red"], [3, 7]]
    assert loaded.classes_[1].dtype == model.classes_[1].dtype
    # the balancing method's learned parameters travel too
    learned = model.net_.criterion_.state_dict()["weighting.log_variances"]
    assert torch.any(learned != 0)
    torch.testing.assert_close(
        loaded.net_.criterion_.state_dict()["weighting.log_variances"], learned, rtol=0, atol=0
    )


def test_long_format_round_trip(tmp_path):
    X, Y = _wide()
    X_long = np.column_stack([np.arange(len(X)) % 3, X])
    model = MultiTaskNetRegressor(task_column=0, **FAST).fit(X_long, Y[:, 0])
    _round_trip(model, X_long, tmp_path)


def test_mixed_task_types_round_trip(tmp_path):
    X, Y = _wide()
    y = pd.DataFrame({"price": Y[:, 0], "label": np.where(X[:, 2] > 0, "up", "down")})
    model = MultiTaskNet(task_types=["regression", "classification"], **FAST).fit(X, y)
    loaded, _ = _round_trip(model, X, tmp_path)
    np.testing.assert_array_equal(loaded.predict_proba(X)[1], model.predict_proba(X)[1])


@pytest.mark.parametrize("vectorizer", ["tfidf", "hashing"])
def test_multimodal_classifier_round_trip(tmp_path, vectorizer):
    X, y = _multimodal_frame()
    model = MultiModalClassifier(
        {"num": ["x1", "x2"], "cat": "colour", "text": "review"},
        modality_types={"text": "text"}, text_vectorizer=vectorizer, text_max_features=64,
        encoder_sizes=(8,), fusion_size=8, hidden_layer_sizes=(8,), max_epochs=3,
        random_state=0,
    ).fit(X, y)
    loaded, _ = _round_trip(model, X, tmp_path)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    new = X.head(5).copy()
    new["colour"] = "green"  # unseen level and new words: same preprocessing after loading
    new["review"] = "lovely but thin"
    np.testing.assert_array_equal(loaded.predict_proba(new), model.predict_proba(new))
    assert [m.kind for m in loaded.modalities_] == ["numeric", "categorical", "text"]


def test_multimodal_regressor_round_trip(tmp_path):
    X, _ = _multimodal_frame()
    Y = np.column_stack([X["x2"].fillna(0) * 3, X["x1"].fillna(1)])
    model = MultiModalRegressor({"num": ["x1", "x2"], "cat": "colour"}, fusion="gated",
                                encoder_sizes=(8,), fusion_size=8, max_epochs=3,
                                random_state=0).fit(X, Y)
    _round_trip(model, X, tmp_path)


def test_file_holds_no_pickle(tmp_path):
    X, Y = _wide()
    model = MultiTaskNetRegressor(**FAST).fit(X, Y)
    path = tmp_path / "m.safetensors"
    save_safe(model, path)
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])  # plain JSON header, then raw tensor bytes
    assert header["__metadata__"]["format"] == "sklearn-mtml-safe"
    assert b"\x80\x04" not in raw[:8 + n] and b"cbuiltins" not in raw


def test_truncated_file_is_a_clear_error(tmp_path):
    X, Y = _wide()
    path = tmp_path / "m.safetensors"
    save_safe(MultiTaskNetRegressor(**FAST).fit(X, Y), path)
    raw = path.read_bytes()
    for cut in (len(raw) - 7, len(raw) // 2, 12, 3):
        path.write_bytes(raw[:cut])
        with pytest.raises(ValueError, match="truncated or corrupted|not written by|digest"):
            load_safe(path)


def test_tampered_weights_are_detected(tmp_path):
    X, Y = _wide()
    path = tmp_path / "m.safetensors"
    save_safe(MultiTaskNetRegressor(**FAST).fit(X, Y), path)
    raw = bytearray(path.read_bytes())
    raw[-5] ^= 0xFF  # flip bits in the last tensor's data
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="digest"):
        load_safe(path)


def test_tampered_header_is_detected(tmp_path):
    X, Y = _wide()
    path = tmp_path / "m.safetensors"
    save_safe(MultiTaskNetRegressor(**FAST).fit(X, Y), path)
    raw = path.read_bytes()
    tampered = raw.replace(b"task_1", b"task_X", 1)
    assert tampered != raw
    path.write_bytes(tampered)
    with pytest.raises(ValueError, match="digest"):
        load_safe(path)


def test_a_pickle_file_is_refused_without_being_run(tmp_path):
    path = tmp_path / "evil.safetensors"
    path.write_bytes(pickle.dumps({"boom": 1}))
    with pytest.raises(ValueError, match="truncated or corrupted|not written by"):
        load_safe(path)


def test_other_safetensors_file_is_refused(tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "weights.safetensors"
    save_file({"w": torch.zeros(2)}, str(path))
    with pytest.raises(ValueError, match="not written by"):
        load_safe(path)


class _Recorder(Callback):
    pass


def test_non_plain_parameters_are_refused_not_pickled(tmp_path):
    X, Y = _wide()
    model = MultiTaskNetRegressor(callbacks=[("rec", _Recorder())], **FAST).fit(X, Y)
    path = tmp_path / "m.safetensors"
    with pytest.raises(TypeError, match="parameter 'callbacks'.*_Recorder"):
        save_safe(model, path)
    assert not path.exists()


def test_classic_estimators_and_unfitted_models_are_refused(tmp_path):
    from sklearn.exceptions import NotFittedError

    from sklearn_mtml import MultiTaskRidge

    with pytest.raises(TypeError, match="neural estimators"):
        save_safe(MultiTaskRidge(), tmp_path / "r.safetensors")
    with pytest.raises(NotFittedError):
        save_safe(MultiTaskNetRegressor(), tmp_path / "n.safetensors")


def test_model_saved_for_cuda_loads_on_cpu(tmp_path, monkeypatch):
    # The weights are always written from the CPU; a model whose device parameter names a
    # GPU loads on a machine without one (checked here without a GPU by faking the
    # parameter; on a GPU machine the same path moves the tensors with .cpu()).
    X, Y = _wide()
    model = MultiTaskNetRegressor(**FAST).fit(X, Y)
    model.device = "cuda"
    path = tmp_path / "m.safetensors"
    save_safe(model, path)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(UserWarning, match="CUDA is not available"):
        loaded = load_safe(path)
    assert loaded.device == "cpu" and loaded.device_.type == "cpu"
    assert all(p.device.type == "cpu" for p in loaded.net_.module_.parameters())
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_model_trained_on_gpu_loads_on_cpu(tmp_path):
    X, Y = _wide()
    model = MultiTaskNetRegressor(device="cuda", **FAST).fit(X, Y)
    path = tmp_path / "m.safetensors"
    save_safe(model, path)
    loaded = load_safe(path, device="cpu")
    np.testing.assert_allclose(loaded.predict(X), model.predict(X), rtol=1e-4, atol=1e-5)


def test_loaded_model_can_be_refit(tmp_path):
    X, Y = _wide()
    model = MultiTaskNetRegressor(**FAST).fit(X, Y)
    loaded, _ = _round_trip(model, X, tmp_path)
    again = loaded.fit(X, Y).predict(X)
    np.testing.assert_array_equal(again, MultiTaskNetRegressor(**FAST).fit(X, Y).predict(X))


@pytest.mark.parametrize("optimizer", ["adam", "adamw"])
def test_loaded_model_continues_training_as_the_saved_one(tmp_path, optimizer):
    # the optimizer state (Adam's moment estimates) travels with the weights
    X, Y = _wide()
    params = dict(FAST, optimizer=optimizer, early_stopping=True, validation_fraction=0.25)
    model = MultiTaskNetRegressor(**params).fit(X, Y)
    loaded, _ = _round_trip(model, X, tmp_path)
    twin = pickle.loads(pickle.dumps(model))
    for m in (loaded, twin):
        m.partial_fit(X, Y)  # one more epoch each (no validation, no early stopping)
        m.set_params(warm_start=True).fit(X, Y)  # and a warm-started fit with it
    np.testing.assert_array_equal(loaded.predict(X), twin.predict(X))
    assert len(loaded.history_) == len(twin.history_)


@pytest.mark.parametrize("forged", [
    {"estimator": "MultiTaskRidge"},  # not a neural estimator of the list
    {"estimator": "os.system"},
    {"state": {"x_": {"__object__": "Popen", "fields": {"args": "echo pwned"}}}},
])
def test_forged_file_with_a_valid_digest_names_only_allowed_classes(tmp_path, forged):
    # Someone can recompute the digest; what the file names is still looked up in a fixed
    # list of classes, so a forged header ends in a ValueError, never in an import.
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    from sklearn_mtml import persistence

    X, Y = _wide()
    path = tmp_path / "m.safetensors"
    save_safe(MultiTaskNetRegressor(**FAST).fit(X, Y), path)
    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata()
    tensors = load_file(str(path))
    content = json.loads(metadata["content"])
    for key, value in forged.items():
        content[key] = {**content[key], **value} if isinstance(value, dict) else value
    metadata["content"] = json.dumps(content)
    metadata["sha256"] = persistence._digest(tensors, metadata["content"])
    save_file(tensors, str(path), metadata=metadata)
    with pytest.raises(ValueError, match="invalid header"):
        load_safe(path)


# ------------------------------------------------- whole models: dump / load (skops format)
skops_io = pytest.importorskip("skops.io")


def _frame_task_data(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n),
                      "shop": rng.choice(["north", "south", "east"], n)})
    X.loc[::7, "x2"] = np.nan
    y = pd.DataFrame({"up": np.where(X["x1"] > 0, "yes", "no"),
                      "north": (X["shop"] == "north").astype(float)})
    y.loc[::5, "north"] = np.nan  # a missing label
    return X, y


def _prep():
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    return ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(), StandardScaler()), ["x1", "x2"]),
        ("cat", OneHotEncoder(handle_unknown="ignore"), ["shop"]),
    ])


def _net_pipeline(**params):
    from sklearn.pipeline import Pipeline

    X, y = _frame_task_data()
    net = MultiTaskNetClassifier(**{**FAST, **params})
    return Pipeline([("prep", _prep()), ("net", net)]).fit(X, y), X, y


def _dumped(obj, tmp_path, name="model.skops"):
    from sklearn_mtml.persistence import dump

    path = tmp_path / name
    dump(obj, path)
    return path


def test_column_transformer_net_pipeline_round_trip(tmp_path):
    from sklearn.pipeline import Pipeline

    from sklearn_mtml.persistence import load

    model, X, y = _net_pipeline()
    loaded = load(_dumped(model, tmp_path), expected=Pipeline)
    assert isinstance(loaded, Pipeline)
    assert isinstance(loaded[-1], MultiTaskNetClassifier)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    for a, b in zip(loaded.predict_proba(X), model.predict_proba(X)):
        np.testing.assert_array_equal(a, b)
    assert loaded.get_params()["net__hidden_layer_sizes"] == (8,)
    # the loaded pipeline pickles and clones as any other
    twin = pickle.loads(pickle.dumps(loaded))
    np.testing.assert_array_equal(twin.predict(X), model.predict(X))


def test_skops_file_holds_no_pickle(tmp_path):
    import zipfile

    model, _, _ = _net_pipeline()
    path = _dumped(model, tmp_path)
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        assert "schema.json" in names
        for name in names:
            if name.endswith(".npy"):  # every array loads without pickle
                np.load(archive.open(name), allow_pickle=False)
            else:
                assert name == "schema.json"
        schema = archive.read("schema.json")
    assert b"SklearnMtmlNetNode" in schema


def test_linear_pipeline_round_trip(tmp_path):
    from sklearn.pipeline import Pipeline

    from sklearn_mtml import MultiTaskRidge
    from sklearn_mtml.persistence import load

    X, y = _frame_task_data()
    Y = np.column_stack([X["x1"].to_numpy() * 2, (X["shop"] == "east") * 1.0])
    model = Pipeline([("prep", _prep()), ("ridge", MultiTaskRidge(alpha=0.5))]).fit(X, Y)
    loaded = load(_dumped(model, tmp_path), expected=Pipeline)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert isinstance(loaded[-1], MultiTaskRidge)


def test_multimodal_estimator_round_trip_in_skops_format(tmp_path):
    from sklearn_mtml.persistence import load

    X, y = _multimodal_frame()
    model = MultiModalClassifier(
        {"num": ["x1", "x2"], "cat": "colour", "text": "review"},
        modality_types={"text": "text"}, text_max_features=64, encoder_sizes=(8,),
        fusion_size=8, hidden_layer_sizes=(8,), max_epochs=3, random_state=0,
    ).fit(X, y)
    loaded = load(_dumped(model, tmp_path), expected=MultiModalClassifier)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    new = X.head(5).copy()
    new["review"] = "lovely but thin"
    np.testing.assert_array_equal(loaded.predict_proba(new), model.predict_proba(new))


def test_pipeline_loaded_from_skops_continues_training_as_the_saved_one(tmp_path):
    from sklearn.base import BaseEstimator
    from sklearn.pipeline import Pipeline

    from sklearn_mtml.persistence import load

    model, X, y = _net_pipeline(optimizer="adamw")
    loaded = load(_dumped(model, tmp_path), expected=BaseEstimator)
    twin = pickle.loads(pickle.dumps(model))
    for m in (loaded, twin):
        assert isinstance(m, Pipeline)
        m.set_params(net__warm_start=True).fit(X, y)
    np.testing.assert_array_equal(loaded.predict_proba(X)[0], twin.predict_proba(X)[0])
    assert len(loaded[-1].history_) == len(twin[-1].history_)


def test_load_checks_the_expected_type_before_building_anything(tmp_path, monkeypatch):
    from sklearn.pipeline import Pipeline

    from sklearn_mtml import MultiTaskRidge
    from sklearn_mtml.persistence import _skops, load

    model, X, _ = _net_pipeline()
    path = _dumped(model, tmp_path)
    monkeypatch.setattr(skops_io, "loads", lambda *a, **k: pytest.fail("built"))
    monkeypatch.setattr(_skops, "_decode_estimator", lambda *a, **k: pytest.fail("built"))
    for wrong in (MultiTaskRidge, MultiTaskNetClassifier, (MultiTaskRidge, MultiTaskNet)):
        with pytest.raises(TypeError, match="holds a Pipeline, not the expected"):
            load(path, expected=wrong)
    with pytest.raises(TypeError, match="expected="):
        load(path, expected=None)
    net_path = _dumped(model[-1], tmp_path, "net.skops")
    with pytest.raises(TypeError, match="not the expected Pipeline"):
        load(net_path, expected=Pipeline)


def test_load_refuses_files_that_are_not_skops_files(tmp_path):
    from sklearn.pipeline import Pipeline

    from sklearn_mtml.persistence import load

    path = tmp_path / "evil.skops"
    path.write_bytes(pickle.dumps({"boom": 1}))
    with pytest.raises(ValueError, match="not a file written by"):
        load(path, expected=Pipeline)


def _rewrite_schema(path, edit):
    import zipfile

    with zipfile.ZipFile(path) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    schema = json.loads(entries["schema.json"])
    edit(schema)
    entries["schema.json"] = json.dumps(schema).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)


def _net_nodes(tree):
    if isinstance(tree, dict):
        if tree.get("__loader__") == "SklearnMtmlNetNode":
            yield tree
        for value in tree.values():
            yield from _net_nodes(value)
    elif isinstance(tree, list):
        for value in tree:
            yield from _net_nodes(value)


@pytest.mark.parametrize("module, name", [
    ("subprocess", "Popen"),                     # a dangerous class
    ("sklearn_mtml_evil_plugin", "Net"),          # a module the file would make us import
])
def test_a_file_naming_an_unknown_type_is_refused_without_importing_it(
        tmp_path, module, name):
    import sys

    from sklearn.pipeline import Pipeline
    from skops.io.exceptions import UntrustedTypesFoundException

    from sklearn_mtml.persistence import load

    model, _, _ = _net_pipeline()
    path = _dumped(model, tmp_path)

    def edit(schema):
        (node,) = _net_nodes(schema)
        node["__module__"], node["__class__"] = module, name

    _rewrite_schema(path, edit)
    with pytest.raises(UntrustedTypesFoundException, match=f"{module}.{name}"):
        load(path, expected=Pipeline)
    assert "sklearn_mtml_evil_plugin" not in sys.modules
    # even trusted by the caller, the network node builds only the package's estimators
    with pytest.raises(TypeError, match="not one, so it is not loaded"):
        load(path, expected=Pipeline, trusted=[f"{module}.{name}"])
    assert "sklearn_mtml_evil_plugin" not in sys.modules


def test_a_network_node_whose_header_names_another_class_is_refused(tmp_path):
    from sklearn.pipeline import Pipeline

    from sklearn_mtml.persistence import load

    model, _, _ = _net_pipeline()
    path = _dumped(model, tmp_path)

    def edit(schema):
        (node,) = _net_nodes(schema)
        text = json.dumps(node["content"])
        assert "MultiTaskNetClassifier" in text
        node["content"] = json.loads(text.replace(
            '\\\\\\"estimator\\\\\\": \\\\\\"MultiTaskNetClassifier',
            '\\\\\\"estimator\\\\\\": \\\\\\"MultiTaskNetRegressor'))
        assert node["content"] != json.loads(text)

    _rewrite_schema(path, edit)
    with pytest.raises(TypeError, match="state of another class"):
        load(path, expected=Pipeline)


def test_save_safe_points_pipelines_to_dump(tmp_path):
    model, _, _ = _net_pipeline()
    with pytest.raises(TypeError, match=r"persistence.dump"):
        save_safe(model, tmp_path / "p.safetensors")


def test_load_safe_checks_the_expected_class(tmp_path):
    from sklearn.base import BaseEstimator, RegressorMixin

    X, Y = _wide()
    path = tmp_path / "m.safetensors"
    model = MultiTaskNetRegressor(**FAST).fit(X, Y)
    save_safe(model, path)
    for ok in (MultiTaskNetRegressor, BaseEstimator, RegressorMixin, None):
        np.testing.assert_array_equal(load_safe(path, expected=ok).predict(X), model.predict(X))
    with pytest.raises(TypeError, match="holds a MultiTaskNetRegressor, not the expected "
                                        "MultiTaskNetClassifier"):
        load_safe(path, expected=MultiTaskNetClassifier)


def test_a_header_naming_another_class_is_a_clear_error(tmp_path):
    # a classifier's fitted state under a regressor's name (digest recomputed): a
    # ValueError naming the problem, never an AttributeError or a wrong-typed model
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    from sklearn_mtml import persistence

    X, Y = _wide()
    y = np.where(Y[:, 0] > 0, "a", "b")
    path = tmp_path / "m.safetensors"
    save_safe(MultiTaskNetClassifier(**FAST).fit(X, y), path)
    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata()
    tensors = load_file(str(path))
    content = json.loads(metadata["content"])
    content["estimator"] = "MultiTaskNetRegressor"
    metadata["content"] = json.dumps(content)
    metadata["sha256"] = persistence._digest(tensors, metadata["content"])
    save_file(tensors, str(path), metadata=metadata)
    with pytest.raises(TypeError, match="not the expected MultiTaskNetClassifier"):
        load_safe(path, expected=MultiTaskNetClassifier)
    with pytest.raises(ValueError, match="names the class MultiTaskNetRegressor but holds "
                                         r"the fitted state of a model with \['classification'\]"):
        load_safe(path)


def test_a_fitted_grid_search_over_a_net_pipeline_round_trips(tmp_path):
    # GridSearchCV(n_jobs=2) pickles the pipelines between processes as before; the
    # search itself, its unfitted template included, goes to a skops file. skops trusts
    # neither the splitter nor the scorer by default: the caller names them.
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV, KFold
    from sklearn.pipeline import Pipeline

    from sklearn_mtml.persistence import load

    X, y = _frame_task_data()
    search = GridSearchCV(Pipeline([("prep", _prep()), ("net", MultiTaskNetClassifier(**FAST))]),
                          {"net__lr": [0.01, 0.05]}, cv=KFold(2), n_jobs=2).fit(X, y)
    path = _dumped(search, tmp_path)
    with pytest.raises(skops_io.exceptions.UntrustedTypesFoundException, match="KFold"):
        load(path, expected=GridSearchCV)
    loaded = load(path, expected=GridSearchCV,
                  trusted=[KFold, "sklearn.metrics._scorer._PassthroughScorer"])
    np.testing.assert_array_equal(loaded.predict(X), search.predict(X))
    assert loaded.best_params_ == search.best_params_
    template = loaded.estimator
    assert not hasattr(template[-1], "net_")
    assert template.get_params()["net__lr"] == FAST["lr"]
    np.testing.assert_array_equal(clone(template).fit(X, y).predict(X),
                                  clone(search.estimator).fit(X, y).predict(X))
