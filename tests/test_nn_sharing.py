"""Sharing architectures and batched heads (pure torch, no estimator)."""

import pytest
import torch
from torch import nn

from sklearn_mtml.nn.heads import TaskHeads, TaskLinear, TaskMLP, make_activation
from sklearn_mtml.nn.sharing import (
    ARCHITECTURES,
    CrossStitchNetwork,
    IndependentNetwork,
    MMoENetwork,
    PLENetwork,
    SharedBottomNetwork,
    SharedPrivateNetwork,
    build_architecture,
)

OUT_SIZES = [1, 3, 2]


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_every_architecture_outputs_tasks_side_by_side(name):
    torch.manual_seed(0)
    net = build_architecture(name, 5, OUT_SIZES, hidden_layer_sizes=(8,), tower_sizes=(4,),
                             n_experts=2)
    out = net(torch.randn(7, 5))
    assert out.shape == (7, sum(OUT_SIZES))
    out.sum().backward()
    assert all(p.grad is not None for n, p in net.named_parameters()
               if not n.startswith("discriminator"))


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_shared_parameters_are_parameters_of_the_shared_modules(name):
    net = build_architecture(name, 5, OUT_SIZES, hidden_layer_sizes=(8,))
    shared = {id(p) for p in net.shared_parameters()}
    from_modules = {id(p) for m in net.shared_modules().values() for p in m.parameters()}
    assert shared == from_modules
    assert shared <= {id(p) for p in net.parameters()}
    if name == "independent":
        assert shared == set()
    else:
        assert shared


def test_independent_tasks_do_not_interact():
    torch.manual_seed(0)
    net = IndependentNetwork(4, [1, 1], hidden_layer_sizes=(6,))
    out = net(torch.randn(5, 4))
    out[:, 0].sum().backward()
    # task 1's column gets no gradient from task 0's loss
    assert torch.all(net.towers.layers[0].weight.grad[1] == 0)
    assert torch.any(net.towers.layers[0].weight.grad[0] != 0)


def test_task_linear_matches_separate_linear_layers():
    torch.manual_seed(0)
    layer = TaskLinear(3, 4, 2)
    x = torch.randn(6, 4)
    out = layer(x)
    for g in range(3):
        expected = x @ layer.weight[g] + layer.bias[g]
        torch.testing.assert_close(out[g], expected)
    per_group = torch.randn(3, 6, 4)
    out = layer(per_group)
    torch.testing.assert_close(out[1], per_group[1] @ layer.weight[1] + layer.bias[1])


def test_task_heads_put_each_task_in_its_columns():
    torch.manual_seed(0)
    heads = TaskHeads(3, 4, [1, 3, 2])
    h = torch.randn(3, 5, 4)
    out = heads(h)
    w = [heads.task_weight(t) for t in range(3)]
    b = heads.bias.view(3, -1)
    torch.testing.assert_close(out[:, 0], (h[0] @ w[0] + b[0])[:, 0])
    torch.testing.assert_close(out[:, 1:4], (h[1] @ w[1] + b[1])[:, :3])
    torch.testing.assert_close(out[:, 4:6], (h[2] @ w[2] + b[2])[:, :2])
    shared = torch.randn(5, 4)  # a shared representation: one matrix product
    expected = heads(shared.unsqueeze(0).expand(3, -1, -1))
    torch.testing.assert_close(heads(shared), expected)


def test_task_mlp_without_layers_broadcasts_input():
    mlp = TaskMLP(2, 3, ())
    assert mlp(torch.ones(4, 3)).shape == (2, 4, 3)


def test_cross_stitch_starts_near_identity_and_learns_mixing():
    net = CrossStitchNetwork(3, [1, 1, 1], hidden_layer_sizes=(4, 4), self_weight=0.8)
    assert len(net.stitch) == 2
    alpha = net.stitch[0].detach()
    torch.testing.assert_close(alpha.sum(1), torch.ones(3))
    assert alpha[0, 0] == pytest.approx(0.8)
    net(torch.randn(5, 3)).sum().backward()
    assert net.stitch[0].grad is not None


def test_mmoe_gates_mix_experts_convexly():
    torch.manual_seed(0)
    net = MMoENetwork(3, [1, 1], n_experts=3, expert_sizes=(4,))
    x = torch.randn(5, 3)
    gates = torch.softmax(net.gates(x), dim=-1)
    torch.testing.assert_close(gates.sum(-1), torch.ones(2, 5))
    assert net.experts.n_groups == 3


def test_ple_levels_and_shared_parts():
    net = PLENetwork(3, [1, 2], n_experts=2, n_task_experts=2, n_levels=3, expert_sizes=(4,))
    assert len(net.levels) == 3
    assert net.levels[-1].shared_gate is None
    names = set(net.shared_modules())
    assert "levels.0.shared_experts" in names and "levels.1.shared_gate" in names
    assert net(torch.randn(5, 3)).shape == (5, 3)


def test_shared_bottom_without_towers_uses_linear_heads():
    net = SharedBottomNetwork(4, [1, 1], hidden_layer_sizes=(8, 6))
    assert net.heads.in_features == 6


def test_build_architecture_errors_and_custom_classes():
    with pytest.raises(ValueError, match="Unknown architecture 'nope'.*shared_bottom"):
        build_architecture("nope", 3, [1])
    with pytest.raises(TypeError, match="architecture must be"):
        build_architecture(42, 3, [1])

    class Linear(nn.Module):  # a user's own module: only accepted params are passed
        def __init__(self, in_features, out_sizes, bias=True):
            super().__init__()
            self.layer = nn.Linear(in_features, sum(out_sizes), bias=bias)

        def forward(self, x):
            return self.layer(x)

    net = build_architecture(Linear, 3, [1, 2], hidden_layer_sizes=(5,), bias=False)
    assert net.layer.bias is None
    instance = Linear(3, [1])
    assert build_architecture(instance, 3, [1]) is instance


def test_activation_registry():
    assert isinstance(make_activation("gelu"), nn.GELU)
    assert isinstance(make_activation(nn.Tanh), nn.Tanh)
    with pytest.raises(ValueError, match="Unknown activation 'bad'"):
        make_activation("bad")


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
@pytest.mark.parametrize("n_levels", [1, 2])
def test_routing_gives_each_row_its_own_task_outputs(name, n_levels):
    torch.manual_seed(0)
    out_sizes = [1, 3, 2, 3]
    net = build_architecture(name, 5, out_sizes, hidden_layer_sizes=(8,), tower_sizes=(4,),
                             n_experts=2, n_task_experts=2, n_levels=n_levels)
    x = torch.randn(9, 5)
    task = torch.tensor([0, 1, 2, 3, 3, 2, 1, 0, 1])
    full = net(x)
    routed = net(x, task=task)
    assert routed.shape == (9, 3)
    offsets = [0, 1, 4, 6]
    for i, t in enumerate(task.tolist()):
        size = out_sizes[t]
        torch.testing.assert_close(routed[i, :size], full[i, offsets[t]:offsets[t] + size])


def test_shared_private_adversary_reverses_the_gradient_of_the_shared_encoder():
    torch.manual_seed(0)
    net = SharedPrivateNetwork(4, [1, 1], hidden_layer_sizes=(6,), orthogonality_weight=0.0,
                               adversarial_weight=1.0)
    x, task = torch.randn(16, 4), torch.randint(0, 2, (16,))
    net(x, task=task)
    net.auxiliary_loss().backward()
    disc_grad = net.discriminator.weight.grad.clone()
    shared_grad = net.shared[0].weight.grad.clone()
    # the same discriminator loss without reversal: the shared gradient flips sign
    net.zero_grad()
    logits = net.discriminator(net.shared(x))
    torch.nn.functional.cross_entropy(logits, task).backward()
    torch.testing.assert_close(net.discriminator.weight.grad, disc_grad)
    torch.testing.assert_close(net.shared[0].weight.grad, -shared_grad)
    net.eval()
    net(x, task=task)
    assert net.auxiliary_loss() is None
