"""The neural core's contracts: one parameter specification, one registry pattern, the
family options convention, and a skorch net configured by construction."""

import inspect
import re
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from torch import nn

from sklearn_mtml.balancing import WEIGHTINGS
from sklearn_mtml.neural import (
    MultiModalClassifier,
    MultiModalRegressor,
    MultiTaskNet,
    MultiTaskNetClassifier,
    MultiTaskNetRegressor,
)
from sklearn_mtml.neural._base import BaseMultiTaskNet
from sklearn_mtml.neural._multimodal import MULTIMODAL_PARAMS
from sklearn_mtml.neural._multitask import MULTITASK_NET_PARAMS
from sklearn_mtml.neural._optimizers import OPTIMIZERS
from sklearn_mtml.neural._params import NET_PARAMS
from sklearn_mtml.nn.heads import ACTIVATIONS
from sklearn_mtml.nn.sharing import ARCHITECTURES
from sklearn_mtml.utils._registry import Registry

FAST = dict(hidden_layer_sizes=(8,), max_epochs=2, batch_size=32, random_state=0,
            n_threads=1)

SPECS = [
    (MultiTaskNetRegressor, NET_PARAMS),
    (MultiTaskNetClassifier, NET_PARAMS),
    (MultiTaskNet, MULTITASK_NET_PARAMS),
    (MultiModalClassifier, MULTIMODAL_PARAMS),
    (MultiModalRegressor, MULTIMODAL_PARAMS),
]


def _documented(cls) -> list[str]:
    """Parameter names in the ``Parameters`` section of a docstring (``a, b : ...`` too)."""
    doc = inspect.getdoc(cls)
    section = doc.split("Parameters\n----------\n", 1)[1]
    section = re.split(r"\n\n?[A-Z][a-z]+\n-{3,}\n", section)[0]
    names = []
    for line in section.splitlines():
        match = re.match(r"^([a-z_][a-z_0-9, *]*?) :", line)
        if match:
            names.extend(n.strip() for n in match.group(1).split(","))
    return names


@pytest.mark.parametrize("cls, spec", SPECS, ids=lambda v: getattr(v, "__name__", ""))
def test_signatures_follow_the_specification(cls, spec):
    params = inspect.signature(cls).parameters
    assert list(params) == [p.name for p in spec]
    for p in spec:
        assert params[p.name].default is p.default or params[p.name].default == p.default
        kind = inspect.Parameter.KEYWORD_ONLY if p.keyword_only else (
            inspect.Parameter.POSITIONAL_OR_KEYWORD)
        assert params[p.name].kind == kind
    assert set(cls._parameter_constraints) == {p.name for p in spec}
    assert set(cls().get_params()) == {p.name for p in spec}


def test_base_docstring_documents_every_common_parameter_in_order():
    assert _documented(BaseMultiTaskNet) == [p.name for p in NET_PARAMS]


def test_multimodal_docstring_documents_its_own_parameters():
    own = [p.name for p in MULTIMODAL_PARAMS[:len(MULTIMODAL_PARAMS) - len(NET_PARAMS)]]
    documented = _documented(MultiModalClassifier)
    assert [name for name in documented if name in own] == own


@pytest.mark.parametrize("registry", [ARCHITECTURES, ACTIVATIONS, WEIGHTINGS, OPTIMIZERS],
                         ids=lambda r: r.param)
def test_every_family_uses_one_registry_and_one_message(registry):
    assert isinstance(registry, Registry)
    with pytest.raises(ValueError, match=f"Unknown {registry.param} 'nope'"):
        registry.lookup("nope")
    with pytest.raises(TypeError, match=f"{registry.param} must be a name in"):
        registry.lookup(3.5)
    for name in registry:
        assert registry.lookup(name) is registry[name]


def test_registry_copies_instances_and_refuses_other_families():
    relu = nn.ReLU()
    assert ACTIVATIONS.build(relu) is not relu
    assert isinstance(ACTIVATIONS.build(relu), nn.ReLU)
    assert ACTIVATIONS.fresh("relu") == "relu"
    with pytest.raises(TypeError, match="optimizer must be"):
        OPTIMIZERS.lookup(nn.ReLU())  # an instance where only names and classes go
    registry = Registry("thing", nn.Module, {"a": nn.ReLU})
    registry.register("b", nn.Tanh)
    assert isinstance(registry.build("b"), nn.Tanh)
    with pytest.raises(ValueError, match="already registered"):
        registry.register("b", nn.GELU)


def _wide(n=80, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    Y = np.column_stack([X[:, 0] + 0.1 * rng.normal(size=n), X[:, 1] - X[:, 2]])
    return X, Y


def test_architecture_params_reach_the_network():
    X, Y = _wide()
    model = MultiTaskNetRegressor(architecture="mmoe", architecture_params={"n_experts": 3},
                                  **FAST).fit(X, Y)
    assert model.net_.module_.gates.weight.shape[-1] == 3
    ple = MultiTaskNetRegressor(architecture="ple", **FAST).fit(X, Y)
    assert ple.net_.module_.levels[0].n_shared == 4  # the documented default


def test_architecture_params_unknown_key_is_named_before_anything_is_built():
    X, Y = _wide()
    model = MultiTaskNetRegressor(architecture="shared_bottom",
                                  architecture_params={"n_experts": 3}, **FAST)
    with pytest.raises(ValueError, match=r"architecture_params has \['n_experts'\]"):
        model.fit(X, Y)
    assert not hasattr(model, "net_") and not hasattr(model, "task_names_")


def test_deprecated_flat_options_warn_and_match_architecture_params():
    X, Y = _wide()
    with pytest.warns(FutureWarning, match=r"n_experts= is deprecated.*architecture_params"):
        old = MultiTaskNetRegressor(architecture="mmoe", n_experts=2, **FAST).fit(X, Y)
    new = MultiTaskNetRegressor(architecture="mmoe", architecture_params={"n_experts": 2},
                                **FAST).fit(X, Y)
    np.testing.assert_array_equal(old.predict(X), new.predict(X))
    # as before, a flat option reaches only the architectures that take it
    with pytest.warns(FutureWarning):
        MultiTaskNetRegressor(architecture="shared_bottom", n_levels=3, **FAST).fit(X, Y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        MultiTaskNetRegressor(architecture="mmoe", **FAST).fit(X, Y)


def test_architecture_params_are_searchable_with_their_architecture():
    X, Y = _wide(n=90)
    grid = [{"architecture": ["mmoe"], "architecture_params": [{"n_experts": 2},
                                                               {"n_experts": 3}]},
            {"architecture": ["shared_bottom"]}]
    search = GridSearchCV(MultiTaskNetRegressor(**FAST), grid, cv=2).fit(X, Y)
    assert len(search.cv_results_["params"]) == 3


def test_the_skorch_net_is_configured_by_construction():
    X, Y = _wide()
    model = MultiTaskNetRegressor(task_weights=[1.0, 3.0], **FAST).fit(X, Y)
    net = model.net_
    assert net.config.task_names == tuple(model.task_names_)
    assert net.config.summary_weights == (1.0, 3.0)
    assert "config" in net.get_params()
    # nothing of ours private in the net's parameters (skorch lists every attribute not
    # ending in "_"; _params_to_validate is skorch's own)
    private = [k for k in net.get_params(deep=False) if k.startswith("_")]
    assert private == ["_params_to_validate"]
    twin = clone(net)
    assert twin.config == net.config
    # training-call state is dropped after training
    assert net.valid_data_ is None and net.generator_ is None


def test_inspection_surface_leaves_the_estimator_untouched():
    X, Y = _wide()
    model = MultiTaskNetRegressor(**FAST).fit(X, Y)
    before = {k: v for k, v in vars(model).items()}
    batches = list(model._batch_task_losses(X[:10], Y[:10, ::-1]))
    assert len(batches) == 1 and batches[0][0].shape == (2,)
    assert vars(model).keys() == before.keys()
    assert all(vars(model)[k] is v for k, v in before.items())


def test_validation_returns_data_and_fit_records_tasks_once():
    from sklearn_mtml._targets import validate_fit_data

    X, Y = _wide()
    model = MultiTaskNetRegressor(**FAST)
    data = validate_fit_data(model, X, Y, task_types="regression")
    assert list(data.layout.names) == ["task_0", "task_1"]
    assert not hasattr(model, "task_names_") and not hasattr(model, "_task_layout")


@pytest.mark.parametrize("params, match", [
    (dict(loss_weighting="dwa", loss_weighting_params={"temp": 2.0}),
     r"loss_weighting_params has \['temp'\].*'dwa'.*valid keys are \[.*'temperature'"),
    (dict(architecture="mmoe", architecture_params={"n_expert": 2}),
     r"architecture_params has \['n_expert'\].*valid keys are \[.*'n_experts'"),
])
def test_a_typo_in_family_params_lists_the_valid_keys(params, match):
    X, Y = _wide()
    model = MultiTaskNetRegressor(**params, **FAST)
    with pytest.raises(ValueError, match=match):
        model.fit(X, Y)
    assert not hasattr(model, "net_")


def test_a_typo_in_fusion_params_lists_the_valid_keys():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 4))
    y = (X[:, 0] > 0).astype(int)
    model = MultiModalClassifier(modalities={"a": [0, 1], "b": [2, 3]}, fusion="low_rank",
                                 fusion_params={"rnk": 4}, **FAST)
    with pytest.raises(ValueError, match=r"fusion_params has \['rnk'\].*'rank'"):
        model.fit(X, y)


def test_auto_threads_is_one_for_small_networks_and_restores_torch():
    import torch
    from skorch.callbacks import Callback

    seen = []

    class Threads(Callback):
        def on_epoch_begin(self, net, **kwargs):
            seen.append(torch.get_num_threads())

    X, Y = _wide()
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        params = {**FAST, "n_threads": "auto", "callbacks": [("threads", Threads())]}
        model = MultiTaskNetRegressor(**params).fit(X, Y)
        assert set(seen) == {1} and torch.get_num_threads() == 2
        assert model._threads_for(model.net_.module_, "cpu", 128) == 1
        big = MultiTaskNetRegressor(hidden_layer_sizes=(2048, 2048)).set_params(n_threads="auto")
        big_module = torch.nn.Linear(2048, 2048 * 4)
        assert big._threads_for(big_module, "cpu", 128) is None  # torch's own setting
        assert big.set_params(n_threads=3)._threads_for(big_module, "cpu", 128) == 3
    finally:
        torch.set_num_threads(before)
