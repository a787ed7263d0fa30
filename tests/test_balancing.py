"""Tests of the task-balancing catalogue (``sklearn_mtml.balancing``)."""

import numpy as np
import pytest
import torch

from sklearn_mtml.balancing import (
    FAMO,
    IMTL,
    MGDA,
    WEIGHTINGS,
    AlignedMTL,
    CAGrad,
    DynamicWeightAverage,
    FixedWeighting,
    GradNorm,
    LossWeighting,
    NashMTL,
    PCGrad,
    UncertaintyWeighting,
    get_weighting,
)
from sklearn_mtml.balancing._nash_mtl import nash_bargaining_weights

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


def test_get_weighting_passes_params_and_task_types():
    w = get_weighting("uncertainty", 2, task_types=("regression", "classification"))
    assert torch.allclose(w.weights(), torch.tensor([0.5, 1.0]))
    assert get_weighting("dwa", 2, temperature=3.0).temperature == 3.0
    # task_types is ignored by methods that do not take it
    assert isinstance(get_weighting("pcgrad", 2, task_types=("regression",) * 2), PCGrad)
    with pytest.raises(ValueError, match="constructor"):
        get_weighting(FixedWeighting(2), 2, temperature=1.0)
    with pytest.raises(TypeError):
        get_weighting("dwa", 2, not_a_param=1.0)


# -- properties shared by every method ----------------------------------------------------


def _masked_losses(model, X, Y, present):
    """Per-task losses as an estimator computes them: masked means, 0 for an absent task."""
    h = torch.relu(model.shared(X))
    out = []
    for t, head in enumerate(model.heads):
        mask = torch.full((X.shape[0],), bool(present[t]))
        err = (head(h).squeeze(1) - Y[:, t]) ** 2
        out.append((err * mask).sum() / mask.sum().clamp_min(1))
    return torch.stack(out)


def _is_zero(grad):
    return grad is None or bool((grad == 0).all())


@pytest.mark.parametrize("name", sorted(WEIGHTINGS))
def test_absent_task_gets_no_gradient(name):
    model = TwoHeads()
    X, Y = _toy_data()
    present = torch.tensor([True, False])
    weighting = get_weighting(name, 2)
    for _ in range(3):  # a few steps, so stateful methods have state
        model.zero_grad()
        weighting.zero_grad()
        losses = _masked_losses(model, X, Y, present)
        total = weighting.backward(losses, list(model.shared.parameters()), present)
        weighting.epoch_end(np.array([losses[0].item(), np.nan]))
    assert not total.requires_grad
    assert all(_is_zero(p.grad) for p in model.heads[1].parameters())
    assert not any(_is_zero(p.grad) for p in model.heads[0].parameters())
    for p in weighting.parameters():
        assert _is_zero(p.grad[1])
    # the shared gradient is a multiple of task 0's own gradient: task 1 does not distort it
    got = torch.cat([p.grad.flatten() for p in model.shared.parameters()])
    model.zero_grad()
    _masked_losses(model, X, Y, present)[0].backward()
    ref = torch.cat([p.grad.flatten() for p in model.shared.parameters()])
    cos = torch.nn.functional.cosine_similarity(got, ref, dim=0)
    assert cos > 1 - 1e-5


@pytest.mark.parametrize("name", sorted(WEIGHTINGS))
def test_no_present_task_is_a_no_op(name):
    model = TwoHeads()
    X, Y = _toy_data()
    present = torch.tensor([False, False])
    losses = _masked_losses(model, X, Y, present)
    total = get_weighting(name, 2).backward(losses, list(model.shared.parameters()), present)
    assert total.item() == 0
    assert all(_is_zero(p.grad) for p in model.parameters())


@pytest.mark.parametrize("name", sorted(WEIGHTINGS))
def test_zero_task_weight_silences_a_task(name):
    model = TwoHeads()
    X, Y = _toy_data()
    weighting = get_weighting(name, 2, task_weights=[1.0, 0.0])
    weighting.backward(model.task_losses(X, Y), list(model.shared.parameters()), ALL_TRUE)
    assert all(_is_zero(p.grad) for p in model.heads[1].parameters())
    assert not any(_is_zero(p.grad) for p in model.heads[0].parameters())


@pytest.mark.parametrize("name", sorted(WEIGHTINGS))
def test_training_reduces_losses_and_state_round_trips(name):
    import pickle

    model = TwoHeads()
    X, Y = _toy_data()
    weighting = get_weighting(name, 2)
    params = list(model.parameters()) + list(weighting.parameters())
    optimizer = torch.optim.Adam(params, lr=0.05)
    start = model.task_losses(X, Y).detach()
    for _ in range(12):
        optimizer.zero_grad()
        losses = model.task_losses(X, Y)
        weighting.backward(losses, list(model.shared.parameters()), ALL_TRUE)
        optimizer.step()
        weighting.epoch_end(losses.detach().numpy())
    end = model.task_losses(X, Y).detach()
    assert (end < start).all()
    assert torch.isfinite(weighting.weights()).all()
    clone = pickle.loads(pickle.dumps(weighting))
    assert torch.allclose(clone.weights(), weighting.weights())
    fresh = get_weighting(name, 2)
    fresh.load_state_dict(weighting.state_dict())
    assert torch.allclose(fresh.weights(), weighting.weights())


@pytest.mark.parametrize("name", sorted(WEIGHTINGS))
def test_backward_accumulates_like_loss_backward(name):
    if name == "random":
        pytest.skip("draws new weights at every call")
    theta = torch.nn.Parameter(torch.zeros(2))
    weighting = get_weighting(name, 2)
    weighting.backward(_linear_losses(theta, [1.0, 0.0], [-1.0, 1.0]), [theta], ALL_TRUE)
    once = theta.grad.clone()
    weighting.backward(_linear_losses(theta, [1.0, 0.0], [-1.0, 1.0]), [theta], ALL_TRUE)
    assert torch.allclose(theta.grad, 2 * once)


# -- uncertainty ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "task_types, factor",
    [(("regression", "regression"), 1.0), (("classification", "classification"), 2.0)],
)
def test_uncertainty_optimum(task_types, factor):
    const = torch.tensor([2.0, 0.5])
    weighting = UncertaintyWeighting(2, task_types=task_types)
    optimizer = torch.optim.Adam(weighting.parameters(), lr=0.05)
    for _ in range(400):
        optimizer.zero_grad()
        weighting.backward(const.clone().requires_grad_(), [], ALL_TRUE)
        optimizer.step()
    sigma2 = torch.exp(weighting.log_variances.detach())
    assert torch.allclose(sigma2, factor * const, rtol=1e-2)


def test_uncertainty_rejects_bad_task_types():
    with pytest.raises(ValueError, match="length"):
        UncertaintyWeighting(2, task_types=("regression",))
    with pytest.raises(ValueError, match="Unknown task types"):
        UncertaintyWeighting(1, task_types=("ranking",))


# -- DWA -------------------------------------------------------------------------------------


def test_dwa_weights():
    w = DynamicWeightAverage(3, temperature=2.0)
    assert torch.allclose(w.weights(), torch.ones(3))
    w.epoch_end([1.0, 1.0, 1.0])
    assert torch.allclose(w.weights(), torch.ones(3))  # needs two epochs
    w.epoch_end([0.5, 0.9, 0.7])  # task 1 fell least, task 0 most
    weights = w.weights()
    assert weights.sum().item() == pytest.approx(3.0)
    assert weights[1] > weights[2] > weights[0]
    r = torch.tensor([0.5, 0.9, 0.7])
    assert torch.allclose(weights, 3 * torch.softmax(r / 2.0, dim=0))
    # a task unseen in an epoch counts as "not improved" (ratio 1), not as NaN
    w.epoch_end([0.4, np.nan, 0.7])
    assert torch.isfinite(w.weights()).all()
    with pytest.raises(ValueError, match="length 2"):
        w.epoch_end([1.0, 1.0])
    with pytest.raises(ValueError, match="temperature"):
        DynamicWeightAverage(2, temperature=0.0)


def test_dwa_applies_task_weights():
    w = DynamicWeightAverage(2, task_weights=[2.0, 1.0])
    w.epoch_end([1.0, 1.0])
    w.epoch_end([0.5, 1.0])
    plain = DynamicWeightAverage(2)
    plain.epoch_end([1.0, 1.0])
    plain.epoch_end([0.5, 1.0])
    assert torch.allclose(w.weights(), plain.weights() * torch.tensor([2.0, 1.0]))


# -- GradNorm --------------------------------------------------------------------------------


def _shared_grad_norms(model, X, Y, scales):
    losses = model.task_losses(X, Y, scales)
    shared = list(model.shared.parameters())
    return torch.stack(
        [
            torch.cat(
                [g.flatten() for g in torch.autograd.grad(losses[t], shared, retain_graph=True)]
            ).norm()
            for t in range(2)
        ]
    )


def test_gradnorm_equalises_gradient_norms():
    model = TwoHeads()
    X, Y = _toy_data()
    scales = (1.0, 20.0)  # task 1's gradients are ~20 times larger
    weighting = GradNorm(2, alpha=0.0)
    norms = _shared_grad_norms(model, X, Y, scales)
    start_ratio = (norms[1] / norms[0]).item()
    optimizer = torch.optim.SGD(
        [{"params": model.parameters(), "lr": 1e-3}, {"params": weighting.parameters(), "lr": 0.01}]
    )
    for _ in range(60):
        optimizer.zero_grad()
        losses = model.task_losses(X, Y, scales)
        weighting.backward(losses, list(model.shared.parameters()), ALL_TRUE)
        optimizer.step()
    w = weighting.weights()
    assert w.sum().item() == pytest.approx(2.0, rel=1e-4)
    assert w[1] < w[0]
    norms = _shared_grad_norms(model, X, Y, scales) * w
    end_ratio = (norms[1] / norms[0]).item()
    assert abs(np.log(end_ratio)) < 0.5 * abs(np.log(start_ratio))


def test_gradnorm_alpha_favours_slow_task():
    theta = torch.nn.Parameter(torch.ones(2))
    w = GradNorm(2, alpha=1.0)
    w.backward(torch.stack([theta[0], theta[1]]), [theta], ALL_TRUE)  # records L(0) = 1, 1
    w.task_loss_weights.grad = None
    # task 0's loss has halved, task 1's has not: equal gradient norms, but task 1 is slower
    w.backward(torch.stack([theta[0] - 0.5, theta[1]]), [theta], ALL_TRUE)
    grad = w.task_loss_weights.grad
    assert grad[0] > 0 > grad[1]  # gradient descent raises w_1, lowers w_0


# -- PCGrad ----------------------------------------------------------------------------------


def test_pcgrad_projects_conflicting_gradients():
    g1, g2 = torch.tensor([1.0, 0.0]), torch.tensor([-1.0, 1.0])
    p1 = g1 - (g1 @ g2) / (g2 @ g2) * g2
    p2 = g2 - (g2 @ g1) / (g1 @ g1) * g1
    theta = torch.nn.Parameter(torch.zeros(2))
    PCGrad(2).backward(_linear_losses(theta, g1, g2), [theta], ALL_TRUE)
    assert torch.allclose(theta.grad, p1 + p2)
    assert torch.allclose(theta.grad, torch.tensor([0.5, 1.5]))


def test_pcgrad_leaves_non_conflicting_gradients():
    grads = torch.tensor([[1.0, 0.5], [0.2, 1.0], [0.3, 0.3]])
    assert torch.allclose(PCGrad(3).combine_gradients(grads), grads.sum(0))


def test_pcgrad_is_reproducible():
    grads = torch.randn(4, 6, generator=torch.Generator().manual_seed(1))
    a = [PCGrad(4, seed=3).combine_gradients(grads) for _ in range(2)]
    seq1, seq2 = PCGrad(4, seed=3), PCGrad(4, seed=3)
    for _ in range(3):
        assert torch.equal(seq1.combine_gradients(grads), seq2.combine_gradients(grads))
    assert torch.equal(a[0], a[1])


# -- MGDA ------------------------------------------------------------------------------------


def test_mgda_two_task_closed_form():
    gen = torch.Generator().manual_seed(0)
    for _ in range(5):
        g1, g2 = torch.randn(5, generator=gen), torch.randn(5, generator=gen)
        alpha = torch.clip(((g2 - g1) @ g2) / (g1 - g2).norm() ** 2, 0, 1)
        theta = torch.nn.Parameter(torch.zeros(5))
        mgda = MGDA(2)
        mgda.backward(_linear_losses(theta, g1, g2), [theta], ALL_TRUE)
        assert torch.allclose(theta.grad, alpha * g1 + (1 - alpha) * g2, atol=1e-6)
        assert torch.allclose(mgda.weights(), torch.stack([alpha, 1 - alpha]), atol=1e-6)
        # the min-norm point lies in the hull: no point of a fine grid is shorter
        grid = torch.linspace(0, 1, 1001)[:, None]
        assert theta.grad.norm() <= (grid * g1 + (1 - grid) * g2).norm(dim=1).min() + 1e-6


def test_mgda_many_tasks_min_norm():
    gen = torch.Generator().manual_seed(0)
    grads = torch.randn(4, 3, generator=gen) + torch.tensor([1.0, 0.0, 0.0])
    mgda = MGDA(4)
    d = mgda.combine_gradients(grads)
    alpha = mgda.weights()
    assert alpha.min() >= 0 and alpha.sum().item() == pytest.approx(1.0)
    assert torch.allclose(d, alpha @ grads, atol=1e-6)
    samples = torch.distributions.Dirichlet(torch.ones(4)).sample((5000,))
    assert d.norm() <= (samples @ grads).norm(dim=1).min() + 1e-4
    # optimality: the min-norm point decreases every task at least by ||d||^2
    assert ((grads @ d) >= d @ d - 1e-4).all()


def test_mgda_normalization():
    grads = torch.tensor([[1.0, 0.0], [0.0, 10.0]])
    d = MGDA(2, normalization="l2").combine_gradients(grads)
    assert torch.allclose(d, torch.tensor([0.5, 5.0]))  # equal weights on unit gradients
    with pytest.raises(ValueError, match="normalization"):
        MGDA(2, normalization="max")


# -- CAGrad ----------------------------------------------------------------------------------


def test_cagrad_zero_c_is_mean_gradient():
    grads = torch.randn(3, 7, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(CAGrad(3, c=0.0).combine_gradients(grads), grads.mean(0))
    theta = torch.nn.Parameter(torch.zeros(2))
    CAGrad(2, c=0.0).backward(_linear_losses(theta, [1.0, 0.0], [-1.0, 1.0]), [theta], ALL_TRUE)
    assert torch.allclose(theta.grad, torch.tensor([0.0, 0.5]))


def test_cagrad_improves_worst_task_within_ball():
    grads = torch.tensor([[1.0, 0.0], [-0.8, 0.3]])
    c = 0.5
    g0 = grads.mean(0)
    d = CAGrad(2, c=c, rescale=False).combine_gradients(grads)
    assert (grads @ d).min() > (grads @ g0).min()
    assert (d - g0).norm() <= c * g0.norm() + 1e-5
    scaled = CAGrad(2, c=c).combine_gradients(grads)
    assert torch.allclose(scaled, d / (1 + c**2), atol=1e-6)
    with pytest.raises(ValueError, match="c must"):
        CAGrad(2, c=-1.0)


# -- Nash-MTL ----------------------------------------------------------------------------------


def test_nash_mtl_solves_bargaining_equation():
    grads = torch.randn(4, 9, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    grads = grads * torch.tensor([[1.0], [10.0], [0.1], [3.0]], dtype=torch.float64)
    gram = grads @ grads.T
    alpha = nash_bargaining_weights(gram)
    assert (alpha > 0).all()
    assert torch.allclose(gram @ alpha, 1 / alpha, rtol=1e-6)


def test_nash_mtl_is_invariant_to_loss_scales():
    grads = torch.randn(3, 5, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    d = NashMTL(3, max_norm=None).combine_gradients(grads)
    scaled = grads * torch.tensor([[100.0], [1.0], [0.01]], dtype=torch.float64)
    assert torch.allclose(NashMTL(3, max_norm=None).combine_gradients(scaled), d, rtol=1e-5)
    # every task decreases: g_t . d = 1 / alpha_t > 0
    assert ((grads @ d) > 0).all()


def test_nash_mtl_clips_and_reuses_weights():
    grads = torch.tensor([[10.0, 0.0], [0.0, 10.0]])
    d = NashMTL(2, max_norm=1.0).combine_gradients(grads)
    assert d.norm().item() == pytest.approx(1.0)
    nash = NashMTL(2, max_norm=None, update_every=2)
    nash.combine_gradients(grads)
    first = nash.weights().clone()
    nash.combine_gradients(2 * grads)  # reuses the weights: update is simply doubled
    assert torch.allclose(nash.weights(), first)
    with pytest.raises(ValueError, match="max_norm"):
        NashMTL(2, max_norm=0.0)


# -- Aligned-MTL ------------------------------------------------------------------------------


def test_aligned_mtl_equalises_singular_values():
    g1, g2 = torch.tensor([3.0, 0.0]), torch.tensor([0.0, 1.0])
    theta = torch.nn.Parameter(torch.zeros(2))
    AlignedMTL(2).backward(_linear_losses(theta, g1, g2), [theta], ALL_TRUE)
    assert torch.allclose(theta.grad, torch.tensor([1.0, 1.0]))
    grads = torch.randn(3, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    aligned = AlignedMTL(3).align(grads)
    eig = torch.linalg.eigvalsh(aligned @ aligned.T)
    assert torch.allclose(eig, torch.linalg.eigvalsh(grads @ grads.T).min().expand(3))
    # rank-deficient system: aligned within its span, no blow-up
    dependent = torch.stack([grads[0], 2 * grads[0]])
    assert torch.isfinite(AlignedMTL(2).align(dependent)).all()


# -- FAMO -------------------------------------------------------------------------------------


def test_famo_shifts_weight_to_slower_task():
    famo = FAMO(2, gamma=0.0)
    optimizer = torch.optim.SGD(famo.parameters(), lr=0.5)
    losses = [torch.tensor([1.0, 1.0]), torch.tensor([0.5, 1.0]), torch.tensor([0.25, 1.0])]
    for loss in losses:  # task 0 keeps halving, task 1 is stuck
        optimizer.zero_grad()
        famo.backward(loss.clone().requires_grad_())
        optimizer.step()
    w = famo.weights()
    assert w.sum().item() == pytest.approx(1.0)
    assert w[1] > w[0]


def test_famo_gradient_is_normalised_log_loss_gradient():
    theta = torch.nn.Parameter(torch.tensor([1.0, 1.0]))
    losses = torch.stack([2 * theta[0], 8 * theta[1]])  # L = (2, 8), dL/dtheta = (2, 8)
    FAMO(2).backward(losses, [theta], ALL_TRUE)
    # equal z: weights z_t / (c L_t) = (0.8, 0.2), gradient (0.8 * 2, 0.2 * 8)
    assert torch.allclose(theta.grad, torch.tensor([1.6, 1.6]))


# -- dtypes, devices, task counts ------------------------------------------------------------


def _devices():
    out = ["cpu"]
    if torch.cuda.is_available():
        out.append("cuda")
    return out


@pytest.mark.parametrize("device", _devices())
@pytest.mark.parametrize("name", sorted(WEIGHTINGS))
def test_float64_model_and_device(name, device):
    """The weighting follows the losses' dtype and device, even if left on the CPU."""
    model = TwoHeads().to(device=device, dtype=torch.float64)
    X, Y = (t.to(device=device, dtype=torch.float64) for t in _toy_data())
    weighting = get_weighting(name, 2)  # float32, on the CPU
    for _ in range(2):
        model.zero_grad()
        losses = model.task_losses(X, Y)
        total = weighting.backward(losses, list(model.shared.parameters()), ALL_TRUE)
    assert total.dtype == torch.float64 and total.device.type == device
    for p in model.parameters():
        assert p.grad.dtype == torch.float64 and torch.isfinite(p.grad).all()


@pytest.mark.parametrize("n_tasks", [1, 12])
@pytest.mark.parametrize("name", sorted(WEIGHTINGS))
def test_one_and_many_tasks(name, n_tasks):
    gen = torch.Generator().manual_seed(n_tasks)
    theta = torch.nn.Parameter(torch.randn(6, generator=gen))
    heads = torch.nn.Parameter(torch.randn(n_tasks, generator=gen))
    targets = torch.randn(n_tasks, 6, generator=gen)
    losses = ((theta - targets) ** 2).mean(dim=1) * heads.exp()
    present = torch.arange(n_tasks) % 3 != 1 if n_tasks > 1 else torch.tensor([True])
    weighting = get_weighting(name, n_tasks)
    weighting.backward(losses, [theta], present)
    assert torch.isfinite(theta.grad).all() and theta.grad.norm() > 0
    assert (heads.grad[~present] == 0).all() and (heads.grad[present] != 0).all()


@pytest.mark.parametrize("name", sorted(WEIGHTINGS))
def test_nan_placeholder_of_absent_task_is_harmless(name):
    model = TwoHeads()
    X, Y = _toy_data()
    present = torch.tensor([True, False])
    weighting = get_weighting(name, 2)
    for _ in range(2):
        model.zero_grad()
        losses = torch.stack([model.task_losses(X, Y)[0], torch.tensor(float("nan"))])
        total = weighting.backward(losses, list(model.shared.parameters()), present)
        weighting.epoch_end([losses[0].item(), float("nan")])
    assert torch.isfinite(total)
    assert torch.isfinite(weighting.weights()).all()
    for p in list(model.parameters()) + list(weighting.parameters()):
        assert p.grad is None or torch.isfinite(p.grad).all()


def test_losses_shape_checked():
    with pytest.raises(ValueError, match="shape"):
        FixedWeighting(2).backward(torch.ones(2, 1), [], torch.ones(2, 1, dtype=torch.bool))
    with pytest.raises(ValueError, match="shape"):
        FixedWeighting(2).backward(torch.ones(2), [], torch.ones(3, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        PCGrad(2).backward(torch.ones(3), [], None)


# -- IMTL -------------------------------------------------------------------------------------


def test_imtl_equal_projections():
    grads = torch.randn(4, 9, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    grads = grads * torch.tensor([[1.0], [20.0], [0.05], [3.0]], dtype=torch.float64)
    imtl = IMTL(4)
    d = imtl.combine_gradients(grads)
    projections = (grads / grads.norm(dim=1, keepdim=True)) @ d
    assert torch.allclose(projections, projections[0].expand(4), rtol=1e-8)
    assert imtl.weights().sum().item() == pytest.approx(1.0)
    assert torch.allclose(d, imtl.weights().to(d) @ grads)
    # a task with a zero gradient is left out
    with_zero = torch.cat([grads[:2], torch.zeros(1, 9, dtype=torch.float64)])
    IMTL(3).combine_gradients(with_zero)
