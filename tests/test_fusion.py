"""Encoders and the fusion family: shapes, mask-awareness, gradient flow."""

import pytest

torch = pytest.importorskip("torch")

from sklearn_mtml.nn.encoders import (  # noqa: E402
    ImageCNNEncoder,
    TabularEncoder,
    TextBagEncoder,
    make_encoder,
)
from sklearn_mtml.nn.fusion import FUSIONS, MultiModalNetwork, make_fusion  # noqa: E402

SIZES = [3, 5, 4]


def _inputs(n=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(n, d, generator=g) for d in SIZES]


def _mask():
    return torch.tensor(
        [[True, True, True], [True, False, True], [False, True, False],
         [False, False, False], [True, True, False], [False, False, True]]
    )


@pytest.mark.parametrize("name", sorted(FUSIONS))
def test_fusion_shapes(name):
    torch.manual_seed(0)
    fusion = make_fusion(name, SIZES, 8)
    out = fusion(_inputs(), _mask())
    assert out.shape == (6, 8) and torch.isfinite(out).all()


@pytest.mark.parametrize("name", sorted(FUSIONS))
def test_absent_modality_values_do_not_change_output(name):
    torch.manual_seed(0)
    fusion = make_fusion(name, SIZES, 8).eval()
    mask = _mask()
    a, b = _inputs(seed=1), _inputs(seed=2)
    # b differs from a only where a modality is absent
    mixed = [torch.where(mask[:, m : m + 1], a[m], b[m]) for m in range(len(SIZES))]
    torch.testing.assert_close(fusion(a, mask), fusion(mixed, mask))
    # ... and present values do matter
    assert not torch.allclose(fusion(a, torch.ones_like(mask)), fusion(b, torch.ones_like(mask)))


@pytest.mark.parametrize("name", sorted(FUSIONS))
def test_gradient_flows_to_every_parameter_and_present_input(name):
    torch.manual_seed(0)
    fusion = make_fusion(name, SIZES, 8)
    inputs = [x.requires_grad_() for x in _inputs()]
    mask = _mask()
    fusion(inputs, mask).pow(2).sum().backward()
    for pname, p in fusion.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), pname
        assert p.grad.abs().sum() > 0, pname
    for m, x in enumerate(inputs):
        absent = ~mask[:, m]
        assert (x.grad[absent] == 0).all()
        assert x.grad[~absent].abs().sum() > 0


def test_unknown_fusion_and_encoder():
    with pytest.raises(ValueError, match="Unknown fusion 'sum'"):
        make_fusion("sum", SIZES, 8)
    with pytest.raises(ValueError, match="Unknown encoder 'audio'"):
        make_encoder("audio")


def test_encoders_shapes_and_raw_variants():
    tab = TabularEncoder(2, [3, 4], out_features=6)
    assert tab(torch.randn(4, 2), torch.randint(0, 3, (4, 2))).shape == (4, 6)
    assert TabularEncoder(0, [3], hidden=(), out_features=None)(
        torch.zeros(4, 1, dtype=torch.long)).shape == (4, 3)
    text = TextBagEncoder(20, 8, out_features=5)
    ids = torch.tensor([[1, 4, 0], [0, 0, 0]])
    out = text(ids, torch.tensor([[0.5, 0.5, 0.0], [0.0, 0.0, 0.0]]))
    assert out.shape == (2, 5)
    assert make_encoder("text", vocabulary_size=20, raw=True, embedding_dim=7)(
        ids, torch.ones(2, 3)).shape == (2, 7)
    img = ImageCNNEncoder((3, 16, 16), out_features=4)
    assert img(torch.randn(2, 3, 16, 16)).shape == (2, 4)
    assert make_encoder("image", image_shape=(1, 5, 5), raw=True)(
        torch.randn(2, 1, 5, 5)).shape == (2, 25)


def test_network_modality_dropout_keeps_one_present_modality():
    torch.manual_seed(0)
    encoders = {"a": TabularEncoder(3, out_features=4), "b": TabularEncoder(5, out_features=4)}
    net = MultiModalNetwork(encoders, {"a": 1, "b": 1}, make_fusion("late", [4, 4], 6),
                            head_sizes=[2, 1], modality_dropout=0.9)
    mask = torch.tensor([[True, True], [True, False], [False, False]] * 50)
    dropped = net.drop_modalities(mask)
    assert not (dropped & ~mask).any()
    assert dropped[mask.any(dim=1)].any(dim=1).all()
    assert (dropped.sum() < mask.sum())
    net.eval()
    assert torch.equal(net.drop_modalities(mask), mask)
    out = net({"a__0": torch.randn(150, 3), "b__0": torch.randn(150, 5), "mask": mask})
    assert [o.shape for o in out] == [(150, 2), (150, 1)]


def test_alignment_auxiliary_loss():
    torch.manual_seed(0)
    encoders = {"a": TabularEncoder(3, out_features=4), "b": TabularEncoder(5, out_features=4)}
    net = MultiModalNetwork(encoders, {"a": 1, "b": 1}, make_fusion("concat", [4, 4], 6),
                            head_sizes=[2], alignment_weight=0.5)
    mask = torch.tensor([[True, True]] * 6 + [[True, False]] * 2)
    net({"a__0": torch.randn(8, 3), "b__0": torch.randn(8, 5), "mask": mask})
    loss = net.auxiliary_loss()
    assert loss.ndim == 0 and loss > 0
    loss.backward()
    assert net.align[0].weight.grad.abs().sum() > 0
    assert net.auxiliary_loss() is None  # consumed
    plain = MultiModalNetwork(encoders, {"a": 1, "b": 1}, make_fusion("concat", [4, 4], 6),
                              head_sizes=[2])
    plain({"a__0": torch.randn(8, 3), "b__0": torch.randn(8, 5), "mask": mask})
    assert plain.auxiliary_loss() is None


def _recon_net(weight=1.0):
    encoders = {"a": TabularEncoder(3, out_features=4), "b": TabularEncoder(2, out_features=4)}
    return MultiModalNetwork(
        encoders, {"a": 1, "b": 1}, make_fusion("concat", [4, 4], 8), head_sizes=[1],
        reconstruction_weight=weight, reconstruct_sizes={"a": 3, "b": 2},
    )


def test_reconstruction_loss_ignores_absent_rows_and_learns():
    torch.manual_seed(0)
    net = _recon_net()
    xa, xb = torch.randn(16, 3), torch.randn(16, 2)
    mask = torch.ones(16, 2, dtype=torch.bool)
    mask[:4, 0] = False  # modality "a" absent in the first rows
    net.train()

    def loss(a):
        net({"a__0": a, "b__0": xb, "mask": mask})
        return net.auxiliary_loss()

    first = loss(xa)
    assert first.ndim == 0 and first.item() > 0
    changed = xa.clone()
    changed[:4] = 1e3  # garbage in the absent rows must not count
    torch.testing.assert_close(loss(changed), first)
    assert net.auxiliary_loss() is None  # consumed: one term per training batch
    optimizer = torch.optim.Adam(net.parameters(), lr=0.05)
    for _ in range(200):
        optimizer.zero_grad()
        loss(xa).backward()
        optimizer.step()
    assert loss(xa).item() < 0.5 * first.item()


def test_reconstruction_is_off_by_default_and_in_eval():
    net = _recon_net(weight=0.0)
    net.train()
    net({"a__0": torch.randn(4, 3), "b__0": torch.randn(4, 2),
         "mask": torch.ones(4, 2, dtype=torch.bool)})
    assert net.auxiliary_loss() is None
    net = _recon_net()
    net.eval()
    net({"a__0": torch.randn(4, 3), "b__0": torch.randn(4, 2),
         "mask": torch.ones(4, 2, dtype=torch.bool)})
    assert net.auxiliary_loss() is None


def test_network_adds_the_head_networks_own_regulariser():
    # a "shared_private" head network's orthogonality/adversarial terms reach training
    from sklearn_mtml.nn.sharing import SharedPrivateNetwork

    torch.manual_seed(0)
    encoders = {"a": TabularEncoder(3, out_features=4), "b": TabularEncoder(5, out_features=4)}
    head = SharedPrivateNetwork(6, [1, 1], hidden_layer_sizes=(16,), orthogonality_weight=1.0)
    net = MultiModalNetwork(encoders, {"a": 1, "b": 1}, make_fusion("concat", [4, 4], 6),
                            head_sizes=[1, 1], head=head)
    mask = torch.ones(8, 2, dtype=torch.bool)
    net({"a__0": torch.randn(8, 3), "b__0": torch.randn(8, 5), "mask": mask})
    expected = head.auxiliary_loss()
    assert expected is not None
    torch.testing.assert_close(net.auxiliary_loss(), expected)  # was None before


# --------------------------------------------------------------- hierarchical / sequential
NEW = ["hierarchical", "sequential"]


@pytest.mark.parametrize("name", NEW)
def test_absent_modality_changes_nothing_and_gets_no_gradient(name):
    torch.manual_seed(0)
    fusion = make_fusion(name, SIZES, 8)
    mask = _mask()[[0, 1, 2, 4, 5]]  # no empty row: those read the absent embeddings
    inputs = _inputs(n=5)
    before = fusion(inputs, mask)
    with torch.no_grad():
        for p in fusion.absent:
            p.normal_()
    torch.testing.assert_close(fusion(inputs, mask), before)
    fusion(inputs, mask).pow(2).sum().backward()
    assert all(p.grad is None or (p.grad == 0).all() for p in fusion.absent)


def test_hierarchical_pair_with_one_absent_member_is_that_member():
    torch.manual_seed(0)
    fusion = make_fusion("hierarchical", [3, 5], 8).eval()
    h = [torch.randn(4, 3), torch.randn(4, 5)]
    only_first = torch.tensor([[True, False]] * 4)
    torch.testing.assert_close(fusion(h, only_first), fusion.leaves[0](h[0]))
    only_second = torch.tensor([[False, True]] * 4)
    torch.testing.assert_close(fusion(h, only_second), fusion.leaves[1](h[1]))


def test_hierarchical_default_tree_is_adjacent_pairs():
    assert make_fusion("hierarchical", [2] * 6, 4).groups == [[[0, 1], [2, 3]], [4, 5]]
    assert make_fusion("hierarchical", [2] * 3, 4).groups == [[0, 1], 2]
    fusion = make_fusion("hierarchical", [2], 4)  # one modality: its projection
    x = torch.randn(3, 2)
    torch.testing.assert_close(fusion([x], torch.ones(3, 1, dtype=torch.bool)),
                               fusion.leaves[0](x))


def test_sequential_skips_absent_steps():
    torch.manual_seed(0)
    fusion = make_fusion("sequential", SIZES, 8, order=[2, 0, 1]).eval()
    h = _inputs(n=4)
    mask = torch.tensor([[True, False, True]] * 4)
    state = fusion.initial.expand(4, -1)
    for m in (2, 0):  # modality 1 is absent: no step
        state = fusion.cell(fusion.inputs[m](h[m]), state)
    torch.testing.assert_close(fusion(h, mask), state)


@pytest.mark.parametrize("name, param, a, b", [
    ("hierarchical", "groups", [[0, 1], 2], [[0, 2], 1]),
    ("sequential", "order", [0, 1, 2], [2, 1, 0]),
])
def test_structure_changes_the_output(name, param, a, b):
    h, mask = _inputs(), torch.ones(6, 3, dtype=torch.bool)
    torch.manual_seed(0)
    first = make_fusion(name, SIZES, 8, **{param: a})
    torch.manual_seed(0)  # same parameters, other structure
    second = make_fusion(name, SIZES, 8, **{param: b})
    assert not torch.allclose(first(h, mask), second(h, mask))


@pytest.mark.parametrize("name, param, value", [
    ("hierarchical", "groups", [["a", "c"], "b"]),
    ("sequential", "order", ["c", "a", "b"]),
])
def test_modality_names_with_names_given(name, param, value):
    positions = [[0, 2], 1] if name == "hierarchical" else [2, 0, 1]
    h, mask = _inputs(), _mask()
    torch.manual_seed(0)
    by_name = make_fusion(name, SIZES, 8, names=["a", "b", "c"], **{param: value})
    torch.manual_seed(0)
    by_position = make_fusion(name, SIZES, 8, **{param: positions})
    torch.testing.assert_close(by_name(h, mask), by_position(h, mask))


@pytest.mark.parametrize("name, param", [("hierarchical", "groups"), ("sequential", "order")])
@pytest.mark.parametrize("value, bad", [
    ([[0, 1], [1, 2]], "modality 1 appears twice"),
    ([[0, 7], 1, 2], "7 is not a modality position"),
    ([[0, 1]], r"leaves out modalities at positions \[2\]"),
    ([[0, "text"], 2], "'text' is a modality name"),
    ([[0, True], 2], "True is not a modality position"),
])
def test_invalid_structure_names_fusion_params_and_the_entry(name, param, value, bad):
    if name == "sequential":  # a flat order
        value = [leaf for v in value for leaf in (v if isinstance(v, list) else [v])]
    with pytest.raises(ValueError, match=f"fusion_params {param}.*{bad}"):
        make_fusion(name, SIZES, 8, **{param: value})


def test_invalid_structure_other_cases():
    with pytest.raises(ValueError, match=r"fusion_params groups: an empty group"):
        make_fusion("hierarchical", SIZES, 8, groups=[[0, 1], [], 2])
    with pytest.raises(ValueError, match="fusion_params order must be a list"):
        make_fusion("sequential", SIZES, 8, order="abc")
    with pytest.raises(ValueError, match=r"fusion_params order: 'd' is not a modality"):
        make_fusion("sequential", SIZES, 8, order=["a", "b", "d"], names=["a", "b", "c"])


@pytest.mark.parametrize("name, params", [
    ("hierarchical", None), ("hierarchical", {"groups": [[1, 2], 0]}),
    ("sequential", None), ("sequential", {"order": [2, 1, 0]}),
])
def test_estimator_end_to_end_with_missing_modalities(name, params):
    import numpy as np

    from sklearn_mtml.neural import MultiModalClassifier

    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 150)
    X = rng.normal(size=(150, 6)) + y[:, None]
    X[:20, 0:2] = np.nan  # first modality absent in some rows
    X[15:40, 4:6] = np.nan  # third modality absent (rows 15-19: two absent)
    spec = {"m0": [0, 1], "m1": [2, 3], "m2": [4, 5]}
    clf = MultiModalClassifier(spec, fusion=name, fusion_params=params, encoder_sizes=(8,),
                               fusion_size=8, max_epochs=30, lr=0.02, random_state=0)
    clf.fit(X, y)
    proba = clf.predict_proba(X)
    assert np.isfinite(proba).all() and proba.shape == (150, 3)
    assert (clf.predict(X) == y).mean() > 0.8
    with pytest.raises(ValueError, match="fusion_params"):
        clf.set_params(fusion_params={("groups" if name == "hierarchical" else "order"):
                                      [0, 0, 1]}).fit(X, y)
