"""Every registered index against its definition, closed-form games, shapiq's ExactComputer and the axioms."""

import warnings
from math import comb

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harsanyi import INDICES, HarsanyiValueError, ValueTable

from conftest import (
    ATOL,
    brute_bii,
    brute_ksii,
    brute_shapley,
    brute_sii,
    brute_stii,
    faith_least_squares,
    mask_of,
    random_table,
    subsets,
    unanimity_table,
)


def held(n, order):
    return [T for T in subsets(range(n)) if 1 <= len(T) <= order]


@pytest.mark.parametrize("n", [3, 5, 6])
@pytest.mark.parametrize("order", [1, 2, 3])
def test_indices_match_their_definitions(n, order, seed):
    v = random_table(n, seed)
    table = ValueTable(v)
    brute = {
        "SII": lambda T: brute_sii(v, n, T),
        "BII": lambda T: brute_bii(v, n, T),
        "STII": lambda T: brute_stii(v, n, T, order),
        "k-SII": lambda T: brute_ksii(v, n, T, order),
    }
    for name, ref in brute.items():
        res = table.index(name, order)
        for T in held(n, order):
            assert res[T] == pytest.approx(ref(T), abs=ATOL), (name, T)
    for name, kernel in (("FSII", "shapley"), ("FBII", "banzhaf")):
        expected = faith_least_squares(v, n, order, kernel)
        res = table.index(name, order)
        for T in held(n, order):
            assert res[T] == pytest.approx(expected[mask_of(T)], abs=1e-8), (name, T)  # lstsq: cond ~1e3


def test_shapley_and_banzhaf_match_definitions(seed):
    n = 6
    v = random_table(n, seed)
    table = ValueTable(v)
    np.testing.assert_allclose(table.shapley(), brute_shapley(v, n), atol=ATOL)
    np.testing.assert_allclose(table.banzhaf(), [brute_bii(v, n, (i,)) for i in range(n)], atol=ATOL)


def test_unanimity_games_have_known_answers():
    """v = 2·u_{0,1} − 3·u_{1,2,3} + 0.5·u_{4}: dividends are the weights; SV splits each evenly."""
    n = 5
    weights = {(0, 1): 2.0, (1, 2, 3): -3.0, (4,): 0.5}
    table = ValueTable(unanimity_table(n, weights))
    div = table.harsanyi()
    for T in subsets(range(n)):
        assert div[T] == pytest.approx(weights.get(T, 0.0), abs=ATOL)
    np.testing.assert_allclose(table.shapley(), [1.0, 1.0 - 1.0, -1.0, -1.0, 0.5], atol=ATOL)
    sii = table.index("SII", 2)
    assert sii[(0, 1)] == pytest.approx(2.0)
    assert sii[(1, 2)] == pytest.approx(-3.0 / 2)  # one player of the triple outside the pair: weight 1/2
    stii = table.index("STII", 2)
    assert stii[(1, 2)] == pytest.approx(-3.0 / comb(3, 2))
    assert stii[(3,)] == pytest.approx(0.0)  # below the top order STII is the dividend


def test_against_shapiq_exact_computer(seed):
    pytest.importorskip("shapiq")
    from shapiq.game_theory.exact import ExactComputer

    n = 7
    v = random_table(n, seed)

    def game(coalitions):
        return v[(np.asarray(coalitions, dtype=np.int64) << np.arange(n)).sum(axis=1)]

    computer = ExactComputer(game, n_players=n)
    table = ValueTable(v)
    for name, spec in INDICES.items():
        orders = [spec.fixed_order] if spec.fixed_order else ([n] if name == "Moebius" else [1, 2, 3, n])
        for order in orders:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ref = computer(name, order)
            ours = table.index(name, order)
            # shapiq solves FSII by least squares with the constraints as a penalty of weight 1e7, so it is exact
            # only to about 1e-8; every other index it computes in closed form.
            atol = 1e-7 if name == "FSII" else 1e-10
            for coalition, pos in ref.interaction_lookup.items():
                assert ours[coalition] == pytest.approx(ref.values[pos], abs=atol), (name, order, coalition)
            assert len(ref.interaction_lookup) == len(ours)


@pytest.mark.parametrize("name", ["SV", "STII", "FSII", "k-SII", "Moebius"])
def test_efficient_indices_are_efficient(name, seed):
    table = ValueTable(random_table(8, seed))
    res = table.index(name, None if name in ("SV", "Moebius") else 3)
    total = sum(value for coalition, value in res.items() if coalition)
    assert total == pytest.approx(table.v_full - table.v_empty, abs=1e-9)
    assert res.certificate.check(f"efficiency ({name})").passed


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from(sorted(set(INDICES) - {"SV", "BV", "Moebius"})))
def test_symmetry_dummy_linearity(seed, name):
    rng = np.random.default_rng(seed)
    n = 6
    # symmetry: a game symmetric in players 0 and 1 gives them equal values
    base = rng.normal(size=1 << n)
    masks = np.arange(1 << n)
    swapped = (masks & ~3) | ((masks & 1) << 1) | ((masks & 2) >> 1)
    sym = (base + base[swapped]) / 2
    res = ValueTable(sym).index(name, 2)
    for other in range(2, n):
        assert res[(0, other)] == pytest.approx(res[(1, other)], abs=1e-9)
    assert res[(0,)] == pytest.approx(res[(1,)], abs=1e-9)
    # dummy: player 5 adds a constant → every coalition containing it (size ≥ 2) is 0
    dummy = base.copy()
    without = masks[(masks >> 5 & 1) == 0]
    dummy[without | 32] = dummy[without] + 0.7
    res = ValueTable(dummy).index(name, 2)
    for other in range(5):
        assert res[(other, 5)] == pytest.approx(0.0, abs=1e-9)
    # linearity
    a, b = rng.normal(size=(2, 1 << n))
    lhs = ValueTable(2.0 * a - 3.0 * b).index(name, 3).values
    rhs = 2.0 * ValueTable(a).index(name, 3).values - 3.0 * ValueTable(b).index(name, 3).values
    np.testing.assert_allclose(lhs, rhs, atol=1e-9)


def test_player_order_invariance(seed):
    """Relabelling the players permutes every index accordingly."""
    n = 6
    v = random_table(n, seed)
    perm = np.random.default_rng(seed).permutation(n)  # new player perm[i] is old player i
    masks = np.arange(1 << n)
    new_masks = sum(((masks >> i) & 1) << int(perm[i]) for i in range(n))
    v_new = np.empty_like(v)
    v_new[new_masks] = v
    for name in ("SII", "k-SII", "FSII", "STII", "BII"):
        old = ValueTable(v).index(name, 3)
        new = ValueTable(v_new).index(name, 3)
        for T in held(n, 3):
            assert new[tuple(int(perm[i]) for i in T)] == pytest.approx(old[T], abs=1e-10)


def test_unknown_index_and_bad_order():
    table = ValueTable(random_table(4, 0))
    with pytest.raises(HarsanyiValueError, match="Unknown interaction index 'Shapley'. Valid names: 'Moebius'"):
        table.index("Shapley", 2)
    with pytest.raises(HarsanyiValueError, match=r"order between 1 and the number of players \(4\).*order=5"):
        table.index("SII", 5)
    with pytest.raises(HarsanyiValueError, match="defined for order 1 only"):
        table.index("SV", 2)
    with pytest.raises(HarsanyiValueError, match="integer order"):
        table.index("SII", 1.5)


def test_torch_table_gives_same_indices():
    torch = pytest.importorskip("torch")
    v = random_table(9, 4)
    for name in ("SII", "k-SII", "FSII", "SV"):
        order = 1 if name == "SV" else 3
        ours = ValueTable(torch.tensor(v)).index(name, order).values
        np.testing.assert_allclose(ours, ValueTable(v).index(name, order).values, atol=1e-10)


@pytest.mark.parametrize("n", [1, 2, 8, 9, 11])
@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_size_sums_match_direct_weighted_sums(n, backend):
    """SizeSums (one pass, then small products) against Σ_{S⊇T} w(|S|) f(S) summed directly over the masks, for
    T = ∅, singletons and pairs, on a batch of two tables. n = 9, 11 have high bits (the grid has 2, 8 rows), so the
    high-high and mixed pair blocks are exercised; n ≤ 8 is one row. 1e-10: sums of 2ⁿ terms of size ~1."""
    from harsanyi._indices import SizeSums
    from harsanyi._transforms import masks_of_size, popcounts

    rng = np.random.default_rng(n)
    f = rng.normal(size=(2, 1 << n))
    w = rng.normal(size=n + 1)
    weighted = f * w[popcounts(n)]
    masks = np.arange(1 << n)
    singles = np.stack([weighted[:, (masks >> i) & 1 == 1].sum(1) for i in range(n)], axis=1)
    pairs = np.array([weighted[:, masks & p == p].sum(1) for p in masks_of_size(n, 2)]).T.reshape(2, -1)
    table = f
    if backend == "torch":
        torch = pytest.importorskip("torch")
        table = torch.tensor(f)
    sums = SizeSums(table)
    as_np = (lambda a: a.numpy()) if backend == "torch" else np.asarray
    np.testing.assert_allclose(as_np(sums.total(w)), weighted.sum(1), atol=1e-10)
    np.testing.assert_allclose(as_np(sums.singles(w)), singles, atol=1e-10)
    np.testing.assert_allclose(as_np(sums.pairs(w)), pairs, atol=1e-10)
    np.testing.assert_allclose(as_np(sums.pairs(2 * w)), 2 * pairs, atol=1e-10)  # E is made once, then reused
