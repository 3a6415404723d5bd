"""Learned baselines (SPEC §3b): the gradient of Σ|I_and| through the model, bounds, and the L1 going down."""

import numpy as np
import pytest

from harsanyi import Game, HarsanyiValueError
from harsanyi._transforms import subset_moebius

torch = pytest.importorskip("torch")


def mlp(d, seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(d, 16), torch.nn.Tanh(), torch.nn.Linear(16, 2)).double()


def test_gradient_matches_autograd_through_a_brute_force_table():
    """Our gradient (c = μᵀ sign(I), one batch at a time) against autograd through Σ|μ v(b)| built coalition by
    coalition; both are exact in float64, so 1e-10."""
    from harsanyi._baselines import learn_baseline  # noqa: F401  (the module under test)

    model = mlp(4)
    x = np.array([0.5, -1.0, 2.0, 0.3])
    game = Game.tabular(model, x, baseline=np.array([0.1, 0.2, -0.3, 0.0]))
    hook = game._learnable
    b = hook.baseline.clone().requires_grad_(True)
    xt = torch.tensor(x)
    rows = [torch.where(torch.tensor([bool(s >> i & 1) for i in range(4)]), xt, b) for s in range(16)]
    v = hook.rule(model(torch.stack(rows)), "logits", game.info["target"])
    moebius = torch.tensor(subset_moebius(np.eye(16)).T)  # rows: the Möbius transform as a matrix
    (moebius @ v).abs().sum().backward()
    expected = b.grad.clone()

    u = hook.baseline.clone().requires_grad_(True)
    dividends = subset_moebius(v.detach().numpy())
    from harsanyi._transforms import superset_moebius

    weights = torch.tensor(superset_moebius(np.sign(dividends)))
    for first in range(0, 16, 3):  # batches of 3: the weights make batches independent
        masks = game._masks(first, min(first + 3, 16))
        (weights[first:first + masks.shape[0]] * hook.values_with_grad(masks, u)).sum().backward()
    np.testing.assert_allclose(u.grad.numpy(), expected.numpy(), atol=1e-10)


def test_learning_lowers_the_l1_within_bounds_and_the_game_matches_a_fresh_one():
    model = mlp(6, seed=1)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 6))
    game = Game.tabular(model, X[0], baseline="mean", background=X)
    lower, upper = X.mean(0) - 0.5, X.mean(0) + 0.5
    result = game.learn_baseline(lower, upper, steps=15, lr=0.1)
    assert result.l1_after < result.l1_before and result.l1_after == min(result.history)
    assert np.all(result.baseline >= lower - 1e-12) and np.all(result.baseline <= upper + 1e-12)
    fresh = Game.tabular(model, X[0], baseline=result.baseline).evaluate()
    np.testing.assert_allclose(result.table.values, fresh.values, atol=1e-12)
    assert np.abs(subset_moebius(fresh.values)).sum() == pytest.approx(result.l1_after)


def test_fixed_elements_stay_fixed():
    model = mlp(3)
    game = Game.tabular(model, np.ones(3))
    result = game.learn_baseline([0.0, -1.0, 0.0], [0.0, 1.0, 0.0], steps=3)
    assert result.baseline[0] == 0.0 and result.baseline[2] == 0.0


def test_bad_arguments():
    model = mlp(3)
    game = Game.tabular(model, np.ones(3))
    with pytest.raises(HarsanyiValueError, match="lower ≤ upper"):
        game.learn_baseline(1.0, -1.0)
    with pytest.raises(HarsanyiValueError, match="broadcastable"):
        game.learn_baseline(np.zeros(5), np.ones(5))
    with pytest.raises(HarsanyiValueError, match="steps"):
        game.learn_baseline(0.0, 1.0, steps=0)
    with pytest.raises(HarsanyiValueError, match="torch model"):
        Game.from_function(lambda m: m.sum(1), 3).learn_baseline(0.0, 1.0)
    with pytest.raises(HarsanyiValueError, match="torch model"):
        Game.tabular(lambda X: np.asarray(X).sum(1), np.ones(3)).learn_baseline(0.0, 1.0)
