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


def mean_baseline_game(d, rows, seed, margin):
    """An MLP's game on the first of ``rows`` random rows at the mean baseline, and the box mean ± ``margin``."""
    model = mlp(d, seed=seed)
    X = np.random.default_rng(seed - 1).normal(size=(rows, d))
    game = Game.tabular(model, X[0], baseline="mean", background=X)
    return model, X, game, X.mean(0) - margin, X.mean(0) + margin


def test_learning_lowers_the_l1_within_bounds_and_the_game_matches_a_fresh_one():
    model, X, game, lower, upper = mean_baseline_game(6, 64, seed=1, margin=0.5)
    result = game.learn_baseline(lower, upper, steps=15, lr=0.1)
    assert result.l1_after < result.l1_before and result.l1_after == min(result.history)
    assert np.all(result.baseline >= lower - 1e-12) and np.all(result.baseline <= upper + 1e-12)
    fresh = Game.tabular(model, X[0], baseline=result.baseline).evaluate()
    np.testing.assert_allclose(result.table.values, fresh.values, atol=1e-12)
    assert np.abs(subset_moebius(fresh.values)).sum() == pytest.approx(result.l1_after)


def test_a_baseline_that_sends_the_log_odds_to_the_clamp_is_said_once_and_counted():
    """A torch model ending in a softmax, explained by its log-odds (model_output="probabilities"), so sure that
    most masked inputs reach the clamp of probabilities: the search lowers the L1 partly by moving more of them
    there. Its steps say nothing; the result counts the table's values at the clamp, and one warning says it."""
    import warnings

    net = torch.nn.Sequential(*mlp(6), torch.nn.Softmax(dim=-1))
    with torch.no_grad():
        net[2].weight *= 400  # logits of several hundred: probabilities at 0 or 1 to double precision
    game = Game.tabular(net, np.random.default_rng(0).normal(size=6), baseline="zero",
                        model_output="probabilities")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = game.learn_baseline(-1.0, 1.0, steps=4)
    said = [str(w.message) for w in caught if "clamped" in str(w.message)]
    assert len(said) == 1 and said[0].startswith("At the learned baseline, ")
    assert f"{result.at_clamp} of the 64 masked inputs" in said[0]
    assert result.at_clamp == np.count_nonzero(np.abs(result.table.values) > 16.1)
    assert "at the clamp" in repr(result)
    plain = Game.tabular(mlp(6), np.ones(6)).learn_baseline(-1.0, 1.0, steps=2)  # log-odds from logits: no clamp
    assert plain.at_clamp is None and "clamp" not in repr(plain)


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
    for lr in (0, -0.1, "0.05"):
        with pytest.raises(HarsanyiValueError, match=r"Expected lr > 0 \(a fraction of the box width per step\)"):
            game.learn_baseline(0.0, 1.0, lr=lr)
    embed = torch.nn.EmbeddingBag(10, 2, mode="mean")  # token ids → one vector per text: a model of ids
    ids = Game.text(embed, np.array([4, 5, 6]), players="tokens", mask_id=0, output="raw", target=0)
    with pytest.raises(HarsanyiValueError, match=r"masks with token ids.*embedding=\.\.\. \(masking at the embedding"):
        ids.learn_baseline(0.0, 1.0)


def test_a_search_resumed_from_its_checkpoint_takes_the_same_steps(tmp_path):
    """Stopped after 3 steps (by its step count, and once by an interrupt inside the model during step 5), the search
    goes on from its checkpoint to the same baseline and history as an unbroken run: Adam's moments and step count are
    restored exactly (float64 on the CPU: equal to the bit)."""
    model, X, game, lower, upper = mean_baseline_game(5, 32, seed=2, margin=1.0)
    unbroken = game.learn_baseline(lower, upper, steps=7, lr=0.2)

    path = tmp_path / "baseline.npz"
    first = game.learn_baseline(lower, upper, steps=3, lr=0.2, checkpoint=path)
    assert first.history == unbroken.history[:4]
    resumed = game.learn_baseline(lower, upper, steps=7, lr=0.2, checkpoint=path)
    assert resumed.history == unbroken.history
    np.testing.assert_array_equal(resumed.baseline, unbroken.baseline)
    np.testing.assert_array_equal(resumed.table.values, unbroken.table.values)

    calls = {"left": 2 * 5 * (1 << 5)}  # enough model rows for 2 steps and a bit (each step: two passes over 32)

    class Interrupting(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = model

        def forward(self, x):
            calls["left"] -= x.shape[0]
            if calls["left"] < 0:
                raise KeyboardInterrupt
            return self.inner(x)

    flaky = Game.tabular(Interrupting(), X[0], baseline="mean", background=X)
    other = tmp_path / "interrupted.npz"
    with pytest.raises(KeyboardInterrupt):
        flaky.learn_baseline(lower, upper, steps=7, lr=0.2, checkpoint=other, batch_size=8)
    assert other.exists() and not list(tmp_path.glob("*.part"))
    calls["left"] = 10**9
    again = flaky.learn_baseline(lower, upper, steps=7, lr=0.2, checkpoint=other, batch_size=8)
    assert again.history == unbroken.history
    np.testing.assert_array_equal(again.baseline, unbroken.baseline)


def test_a_checkpoint_of_another_search_is_refused(tmp_path):
    from harsanyi import CacheError

    model = mlp(4)
    game = Game.tabular(model, np.ones(4))
    path = tmp_path / "baseline.npz"
    game.learn_baseline(-1.0, 1.0, steps=2, checkpoint=path)
    with pytest.raises(CacheError, match="written for another search: its problem differs"):
        game.learn_baseline(-0.5, 1.0, steps=4, checkpoint=path)
    with pytest.raises(CacheError, match="its lr differs"):
        game.learn_baseline(-1.0, 1.0, steps=4, lr=0.5, checkpoint=path)
    grouped = Game.tabular(model, np.ones(4), players={"p0": [0, 3], "p1": [1], "p2": [2]})
    with pytest.raises(CacheError, match="another search: its n, players, problem differ"):
        grouped.learn_baseline(-1.0, 1.0, steps=4, checkpoint=path)
    image = Game.image(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2)).double(), np.ones((1, 2, 2)),
                       grid=(1, 2))
    image.learn_baseline(-1.0, 1.0, steps=1, checkpoint=tmp_path / "image.npz")
    other_grid = Game.image(image._learnable.model.raw, np.ones((1, 2, 2)), grid=(2, 1))  # 2 players, other cells
    with pytest.raises(CacheError, match="another search: its players, problem differ"):
        other_grid.learn_baseline(-1.0, 1.0, steps=2, checkpoint=tmp_path / "image.npz")
    path.write_text("not a checkpoint")
    with pytest.raises(CacheError, match="Cannot read the baseline checkpoint"):
        game.learn_baseline(-1.0, 1.0, steps=4, checkpoint=path)
    with pytest.raises(HarsanyiValueError, match=r"a file path in a writable directory.*baseline-checkpoint.npz"):
        game.learn_baseline(-1.0, 1.0, checkpoint=tmp_path / "missing" / "b.npz")
