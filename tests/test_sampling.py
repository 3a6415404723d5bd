"""Multi-order interactions by sampling (SPEC §5): against the exact values, with honest standard errors."""

import numpy as np
import pytest

from harsanyi import Game, HarsanyiValueError


def mlp_game(n=8, seed=0):
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(n, n))
    return Game.from_function(lambda m: np.tanh(m.astype(float) @ W).sum(1) + 2.0 * m[:, 0] * m[:, 3], n,
                              player_names=[f"x{i}" for i in range(n)])


def test_sampled_multi_order_agrees_with_the_exact_values_within_its_standard_errors(seed):
    """Every (m, pair) estimate lies within 4.5 standard errors of the exact I⁽ᵐ⁾ (7 × 28 = 196 comparisons; for
    a normal mean the chance that any one lies outside is ≈ 1e-3); m = 0 and m = n − 2 have one S and are exact."""
    game = mlp_game(seed=seed)
    exact = game.evaluate().multi_order()
    est = game.multi_order_sampled(samples=200, seed=seed, progress=False)
    assert est.model_calls == 4 * 7 * 28 * 200 and len(est.pairs) == 28
    expected = np.array([exact.interactions[est.orders, i, j] for i, j in est.pairs]).T
    assert np.all(np.abs(est.interactions - expected) <= 4.5 * est.stderr + 1e-12)
    assert np.all(est.stderr[[0, -1]] == 0) and np.all(est.stderr[1:-1] > 0)
    # the strength is formed from the estimates: E|mean| is biased up by about a standard error where I⁽ᵐ⁾ ≈ 0
    np.testing.assert_allclose(est.strength, exact.strength, atol=0.01)
    assert np.all(est.strength_stderr[1:-1] > 0) and est.strength.sum() == pytest.approx(1.0)


def test_sampled_multi_order_of_a_pairwise_game_is_exact():
    """With only pair dividends, Δ_ij v(S) does not depend on S: every sample is the pair's dividend."""
    n = 6
    weights = np.random.default_rng(3).normal(size=(n, n))
    game = Game.from_function(lambda m: np.einsum("bi,ij,bj->b", m.astype(float), np.triu(weights, 1),
                                                  m.astype(float)), n)
    est = game.multi_order_sampled(samples=5, progress=False)
    for p, (i, j) in enumerate(est.pairs):
        np.testing.assert_allclose(est.interactions[:, p], weights[i, j], atol=1e-12)
    assert est.stderr.max() <= 1e-12


def test_sampled_multi_order_is_reproducible_and_independent_of_the_batch():
    game = mlp_game()
    a = game.multi_order_sampled(orders=[1, 3], pairs=5, samples=20, seed=7, progress=False)
    b = game.multi_order_sampled(orders=[3, 1], pairs=5, samples=20, seed=7, batch_size=4, progress=False)
    # the same draws; only the game's own matrix products round differently in other batch shapes (1e-16)
    np.testing.assert_allclose(a.interactions, b.interactions, rtol=0, atol=1e-12)
    assert a.pairs == b.pairs and a.orders.tolist() == [1, 3]
    c = game.multi_order_sampled(orders=[1, 3], pairs=5, samples=20, seed=8, progress=False)
    assert not np.array_equal(a.interactions, c.interactions)


def test_sampled_multi_order_by_names_and_its_errors():
    game = mlp_game()
    est = game.multi_order_sampled(pairs=[("x3", "x0"), (1, 2)], orders=[2], samples=10, progress=False)
    assert est.pairs == ((0, 3), (1, 2))
    values, errors = est.pair("x0", "x3")
    assert values.shape == errors.shape == (1,) and values[0] == est.interactions[0, 0]
    with pytest.raises(KeyError, match=r"The pair \('x4', 'x5'\) was not sampled; the estimate holds 2 pairs"):
        est.pair("x4", "x5")
    with pytest.raises(KeyError, match=r"Expected one player: a position \(int\) or a name \(str\); received "
                                       r"\('x0', 'x1'\)"):
        est.pair(("x0", "x1"), "x3")  # a coalition is not a player (its highest bit was taken for it)
    assert "multi-order interactions of 2 pairs at 1 orders, 10 coalitions each (80 model calls" in str(est)
    for kwargs, message in [
        ({"samples": 1}, "samples ≥ 2 per order and pair"),
        ({"orders": [7]}, r"orders m between 0 and n − 2 = 6 .* received \[7\]"),
        ({"pairs": [(2, 2)]}, r"two different players in a pair; received \(2, 2\)"),
        ({"pairs": 0}, "pairs between 1 and the 28 pairs of 8 players"),
        ({"pairs": [3]}, r"pairs as \(i, j\) tuples of players; received 3"),
        ({"batch_size": 2}, "batch_size to be an integer ≥ 4"),
    ]:
        with pytest.raises(HarsanyiValueError, match=message):
            game.multi_order_sampled(**kwargs)
    two = Game.from_function(lambda m: m.all(axis=1).astype(float), 2).multi_order_sampled(samples=3, progress=False)
    assert two.interactions.tolist() == [[1.0]] and two.stderr.tolist() == [[0.0]]  # S = ∅ only
    with pytest.raises(HarsanyiValueError, match="at least 2 players; this game has 1"):
        Game.from_function(lambda m: m.sum(1), 1).multi_order_sampled()


def test_games_beyond_the_exact_limit_are_sampled_and_refuse_exact_evaluation():
    """A game of 45 players (2⁴⁵ coalitions) is built and sampled; evaluate() says what to do instead."""
    n = 45
    game = Game.from_function(lambda m: m[:, :3].all(axis=1).astype(float) + m.sum(axis=1), n)
    est = game.multi_order_sampled(pairs=[(0, 1), (0, 10)], orders=[0, 1, 43], samples=4, progress=False)
    # Δ_01 v(S) = [2 ∈ S] for the unanimity game on {0, 1, 2}; Δ_0,10 = 0: no interaction with player 10
    np.testing.assert_allclose(est.interactions[[0, 2], 0], [0.0, 1.0])
    np.testing.assert_allclose(est.interactions[:, 1], 0.0)
    with pytest.raises(HarsanyiValueError, match=r"at most 40 players for an exact evaluation of all 2\^n coalitions; "
                                                 r"this game has 45.*game.multi_order_sampled\(\)"):
        game.evaluate()


def counting_game(n=8, seed=0, interrupt_after=None):
    """mlp_game that counts its calls and, after ``interrupt_after`` of them, raises KeyboardInterrupt (as Ctrl-C)."""
    inner = mlp_game(n, seed)
    calls = {"n": 0}

    def f(m):
        calls["n"] += 1
        if interrupt_after is not None and calls["n"] > interrupt_after:
            raise KeyboardInterrupt
        return inner(m)

    return Game.from_function(f, n, player_names=list(inner.player_names)), calls


def test_an_interrupted_sampling_resumes_from_its_checkpoint_and_ends_as_an_unbroken_run(tmp_path):
    from harsanyi import _sampling

    args = {"orders": [0, 2, 5], "pairs": 6, "samples": 30, "seed": 4, "batch_size": 40, "progress": False}
    unbroken = mlp_game().multi_order_sampled(**args)
    path = tmp_path / "orders.npz"
    assert _sampling.SAVE_SECONDS >= 10  # no periodic save in this short run: the one at the interrupt is tested
    # a call holds 40 masks = 10 (m, S) rows, a pair 3 · 30 = 90 rows = 9 calls: after 20 calls, pairs 0 and 1
    # are done and pair 2 begun
    game, calls = counting_game(interrupt_after=1 + 20)  # the probe (∅, N, each player) is one call
    with pytest.raises(KeyboardInterrupt):
        game.multi_order_sampled(**args, checkpoint=path)
    assert path.exists() and not list(tmp_path.glob("*.part"))
    resumed_game, resumed_calls = counting_game()
    resumed = resumed_game.multi_order_sampled(**args, checkpoint=path)
    assert resumed_calls["n"] == 1 + 4 * 9  # the probe, then pairs 2 … 5 only
    np.testing.assert_array_equal(resumed.interactions, unbroken.interactions)
    np.testing.assert_array_equal(resumed.stderr, unbroken.stderr)
    np.testing.assert_array_equal(resumed.strength_stderr, unbroken.strength_stderr)
    assert resumed.pairs == unbroken.pairs
    # done: the same call again reads everything from the file
    again_game, again_calls = counting_game()
    np.testing.assert_array_equal(again_game.multi_order_sampled(**args, checkpoint=path).interactions,
                                  unbroken.interactions)
    assert again_calls["n"] == 1


def test_a_sampling_checkpoint_of_another_estimate_or_game_is_refused(tmp_path):
    from harsanyi import CacheError

    path = tmp_path / "orders.npz"
    args = {"orders": [1, 2], "pairs": 3, "samples": 5, "progress": False}
    mlp_game().multi_order_sampled(**args, checkpoint=path)
    with pytest.raises(CacheError, match=r"The sampling checkpoint .* was written for another estimate: its samples "
                                         r"differs from this run's \(samples=6\)\. A checkpoint resumes the same game"):
        mlp_game().multi_order_sampled(**{**args, "samples": 6}, checkpoint=path)
    with pytest.raises(CacheError, match=r"its orders, pairs, seed differ"):
        mlp_game().multi_order_sampled(**{**args, "orders": [1, 3], "seed": 1}, checkpoint=path)
    with pytest.raises(CacheError, match=r"another estimate: another game \(it records v\(\{x\d\}\) = .*, this game "
                                         r"gives"):
        mlp_game(seed=1).multi_order_sampled(**args, checkpoint=path)
    path.write_text("not a checkpoint")
    with pytest.raises(CacheError, match=r"Cannot read the sampling checkpoint .*Delete it to start afresh"):
        mlp_game().multi_order_sampled(**args, checkpoint=path)
    with pytest.raises(HarsanyiValueError, match=r"a file path in a writable directory.*'orders-checkpoint.npz'"):
        mlp_game().multi_order_sampled(**args, checkpoint=tmp_path / "missing" / "o.npz")
