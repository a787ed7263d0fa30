"""Tests of the task-balancing catalogue (``sklearn_mtml.balancing``)."""

import pytest
import torch

from sklearn_mtml.balancing import (
    WEIGHTINGS,
    FixedWeighting,
    LossWeighting,
    get_weighting,
)

ALL_TRUE = torch.tensor([True, True])


class TwoHeads(torch.nn.Module):
    """Shared linear layer + one linear head per task."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.shared = torch.nn.Linear(3, 4)
        self.heads = torch.nn.ModuleList([torch.nn.Linear(4, 1) for _ in range(2)])

    def task_losses(self, X, Y, scales=(1.0, 1.0)):
        h = torch.relu(self.shared(X))
        return torch.stack(
            [
                s * ((head(h).squeeze(1) - Y[:, t]) ** 2).mean()
                for t, (head, s) in enumerate(zip(self.heads, scales))
            ]
        )


def _toy_data(n=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 3, generator=g)
    Y = torch.stack([X.sum(1), X[:, 0] - X[:, 2]], dim=1)
    return X, Y


def _linear_losses(theta, g1, g2):
    """Losses whose gradients w.r.t. ``theta`` are exactly ``g1`` and ``g2``."""
    return torch.stack([theta @ torch.as_tensor(g1), theta @ torch.as_tensor(g2)])


# -- registry ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(WEIGHTINGS))
def test_every_name_builds(name):
    w = get_weighting(name, n_tasks=3)
    assert isinstance(w, LossWeighting)
    assert w.weights().shape == (3,)


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="'nope'") as info:
        get_weighting("nope", n_tasks=2)
    for name in WEIGHTINGS:
        assert name in str(info.value)


def test_class_and_instance_accepted():
    assert isinstance(get_weighting(FixedWeighting, 2), FixedWeighting)
    inst = FixedWeighting(2)
    assert get_weighting(inst, 2) is inst
    with pytest.raises(ValueError, match="3 tasks"):
        get_weighting(inst, 3)
    with pytest.raises(TypeError):
        get_weighting(3.0, 2)


def test_task_weights_wrong_length():
    with pytest.raises(ValueError, match="length 3.*2 tasks"):
        get_weighting("fixed", 2, task_weights=[1, 2, 3])


def test_task_types_checked():
    with pytest.raises(ValueError, match="length 1"):
        get_weighting("fixed", 2, task_types=("regression",))
    with pytest.raises(ValueError, match="Unknown task types"):
        get_weighting("fixed", 2, task_types=("regression", "ranking"))


# -- fixed -------------------------------------------------------------------------------


def test_fixed_is_weighted_sum():
    model = TwoHeads()
    X, Y = _toy_data()
    w = FixedWeighting(2, task_weights=[1.0, 3.0])
    total = w.backward(model.task_losses(X, Y), list(model.shared.parameters()), ALL_TRUE)
    got = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    losses = model.task_losses(X, Y)
    ref = losses[0] + 3 * losses[1]
    ref.backward()
    assert torch.allclose(total, ref.detach())
    for g, p in zip(got, model.parameters()):
        assert torch.allclose(g, p.grad)
