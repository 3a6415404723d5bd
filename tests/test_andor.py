"""AND-OR concepts (SPEC §3): the operators, the certificate, and the optimiser against an LP solver's optimum."""

import dataclasses
import math
import types

import numpy as np
import pytest

from harsanyi import CertificateError, HarsanyiError, HarsanyiValueError, ValueTable
from harsanyi._andor import matching_certificate
from harsanyi._transforms import (
    or_reconstruct,
    or_reconstruct_adjoint,
    or_transform,
    subset_moebius,
    subset_zeta,
    superset_moebius,
    superset_zeta,
)

scipy_optimize = pytest.importorskip("scipy.optimize")


def dense_operators(n):
    """ζ and R as dense 0/1 matrices (reference only, n ≤ 8): Z[S, T] = [T ⊆ S], R[S, T] = [T = ∅ or T ∩ S ≠ ∅]."""
    s = np.arange(1 << n)[:, None]
    t = np.arange(1 << n)[None, :]
    return ((s & t) == t).astype(float), (((s & t) != 0) | (t == 0)).astype(float)


def lp_optimum(v, tau):
    """min ‖x‖₁ + ‖y‖₁ s.t. |Zx + Ry − v| ≤ τ, y = 0 on ≤ 1 player, solved by HiGHS (x = x⁺ − x⁻ form)."""
    n = v.size.bit_length() - 1
    zeta, r = dense_operators(n)
    free = np.bitwise_count(np.arange(1 << n)) >= 2
    a = np.hstack([zeta, r[:, free]])
    a_ub = np.vstack([np.hstack([a, -a]), np.hstack([-a, a])])
    b_ub = np.concatenate([v + tau, tau - v])
    res = scipy_optimize.linprog(np.ones(2 * a.shape[1]), A_ub=a_ub, b_ub=b_ub, bounds=(0, None), method="highs")
    assert res.status == 0, res.message
    return res.fun


def planted_game(n, seed):
    """A few AND and OR concepts (unanimity and 'any of' games) plus small noise: a sparse decomposition exists."""
    rng = np.random.default_rng(seed)
    zeta, r = dense_operators(n)
    x = np.zeros(1 << n)
    y = np.zeros(1 << n)
    x[rng.choice(1 << n, 4, replace=False)] = rng.normal(size=4) * 2
    pairs = np.flatnonzero(np.bitwise_count(np.arange(1 << n)) >= 2)
    y[rng.choice(pairs, 3, replace=False)] = rng.normal(size=3) * 2
    return zeta @ x + r @ y + 0.01 * rng.normal(size=1 << n)


@pytest.mark.parametrize("op, adjoint", [(subset_zeta, superset_zeta), (subset_moebius, superset_moebius),
                                         (or_reconstruct, or_reconstruct_adjoint)])
def test_adjoints(op, adjoint):
    """⟨Ax, y⟩ = ⟨x, Aᵀy⟩ for every operator used in a gradient; exact up to float64 rounding (1e-12 relative)."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(2, 1 << 7))
    lhs, rhs = op(x) @ y, x @ adjoint(y)
    assert lhs == pytest.approx(rhs, rel=1e-12)


def test_or_operators_match_their_dense_definition():
    rng = np.random.default_rng(1)
    _, r = dense_operators(5)
    y, w = rng.normal(size=(2, 32))
    np.testing.assert_allclose(or_reconstruct(y), r @ y, atol=1e-12)
    np.testing.assert_allclose(or_reconstruct_adjoint(w), r.T @ w, atol=1e-12)


def brute_reconstruction(and_, or_, n):
    """v(S) = Σ_{T⊆S} and(T) + or(∅) + Σ_{T∩S≠∅} or(T), one coalition at a time (reference only)."""
    return np.array([sum(and_[t] for t in range(1 << n) if t & s == t)
                     + sum(or_[t] for t in range(1 << n) if t == 0 or t & s) for s in range(1 << n)])


def test_universal_matching_is_exact_when_tau_is_zero():
    rng = np.random.default_rng(2)
    v = rng.normal(size=1 << 6)
    concepts = ValueTable(v).and_or(qthres=0.0, max_iter=300)
    assert concepts.tau == 0.0 and np.abs(concepts.noise).max() < 1e-12  # ε = reconstruction − v: rounding only
    np.testing.assert_allclose(brute_reconstruction(concepts.and_.values, concepts.or_.values, 6), v, atol=1e-11)
    assert concepts.certificate.passed and concepts.certificate.residual < 1e-11
    small = np.bitwise_count(np.arange(1 << 6)) <= 1  # OR concepts of ≤ 1 player are AND concepts
    assert not concepts.or_.values[small].any()


def test_tau_given_in_the_units_of_v_is_the_qthres_of_the_same_size():
    """and_or(tau=t) bounds |ε| by t itself: the same LP (so the same optimum, to HiGHS's 1e-9) as
    qthres = t / |v(N) − v(∅)|."""
    v = np.random.default_rng(3).normal(size=1 << 5)
    scale = abs(v[-1] - v[0])
    by_tau = ValueTable(v).and_or(tau=0.1, method="highs")
    by_qthres = ValueTable(v).and_or(qthres=0.1 / scale, method="highs")
    assert by_tau.tau == 0.1 and by_qthres.tau == pytest.approx(0.1, rel=1e-15)
    assert np.abs(by_tau.noise).max() <= 0.1 * (1 + 1e-12) and by_tau.certificate.passed
    assert by_tau.l1_after == pytest.approx(lp_optimum(v, 0.1), rel=1e-9)
    assert by_tau.l1_after == pytest.approx(by_qthres.l1_after, rel=1e-9)


@pytest.mark.parametrize("method", ["splitting", "pdhg", "highs", "working-set"])
@pytest.mark.parametrize("n, seed", [(4, 0), (5, 1), (6, 2)])
def test_optimum_matches_highs_on_random_games(n, seed, method):
    """The returned L1 is feasible (never below the LP optimum) and, converged to relative gap tol, at most
    optimum / (1 − tol) above it; the reported lower bound never exceeds the optimum. 1e-9: HiGHS's own accuracy.
    The reference is the LP in the value-space form (dense ζ and R); both methods solve the dividend form."""
    rng = np.random.default_rng(seed)
    v = rng.normal(size=1 << n)
    table = ValueTable(v)
    concepts = table.and_or(tol=1e-3, method=method)
    optimum = lp_optimum(v, concepts.tau)
    assert concepts.solver.converged
    assert optimum * (1 - 1e-9) <= concepts.l1_after <= optimum / (1 - 1e-3) + 1e-9
    assert concepts.solver.lower_bound <= optimum + 1e-9
    assert np.abs(concepts.noise).max() <= concepts.tau * (1 + 1e-12)


@pytest.mark.parametrize("method", ["splitting", "pdhg", "highs", "working-set"])
def test_relabelling_the_players_leaves_the_optimum_and_relabels_the_bounds(method):
    """The LP does not see the players' order: on a relabelled game each run's certified lower bound still bounds
    the other's L1 (so neither bound leans on an order), and the relabelled concepts reproduce the relabelled table
    within τ. Converged to gap 1e-3, both L1s lie in [max(lower bounds), max(lower bounds) / (1 − 1e-3)]; 1e-9:
    HiGHS's accuracy."""
    n, order = 7, [4, 0, 6, 2, 5, 1, 3]  # new player k is old player order[k]
    v = planted_game(n, seed=8)
    masks = np.arange(1 << n)
    relabelled = v[sum(((masks >> k) & 1) << order[k] for k in range(n))]
    a = ValueTable(v).and_or(tol=1e-3, method=method)
    b = ValueTable(relabelled).and_or(tol=1e-3, method=method)
    assert a.solver.converged and b.solver.converged and b.certificate.passed
    best_lower = max(a.solver.lower_bound, b.solver.lower_bound)
    for concepts in (a, b):
        assert best_lower * (1 - 1e-9) <= concepts.l1_after <= best_lower / (1 - 1e-3) + 1e-9
    optimum = lp_optimum(v, a.tau)
    assert b.tau == pytest.approx(a.tau, rel=1e-12) and best_lower <= optimum * (1 + 1e-9)


@pytest.mark.parametrize("method", ["splitting", "pdhg", "highs", "working-set"])
def test_planted_sparse_game_is_recovered_within_the_gap(method):
    v = planted_game(8, seed=3)
    concepts = ValueTable(v).and_or(tol=1e-3, method=method)
    optimum = lp_optimum(v, concepts.tau)
    assert concepts.solver.converged
    assert optimum * (1 - 1e-9) <= concepts.l1_after <= optimum / (1 - 1e-3) + 1e-9
    assert concepts.l1_after < 0.5 * concepts.l1_before  # AND-OR is far sparser than the dividends alone here


@pytest.mark.parametrize("method", ["splitting", "pdhg", "highs", "working-set"])
@pytest.mark.parametrize("scale", [3e-13, 7e15])
def test_the_optimum_scales_with_the_values(method, scale):
    """Values in any unit (a probability's tiny changes, a price in cents): the L1 of v·s is s times the LP optimum
    of v, found to the same certified gap. HiGHS's absolute tolerances once gave a gap of 84 % at s = 1e-12 and an
    error at 1e20; the solvers now see v in a unit of its own spread."""
    v = planted_game(6, seed=21)
    optimum = lp_optimum(v, 0.02 * abs(v[-1] - v[0]))
    concepts = ValueTable(v * scale).and_or(tol=1e-3, method=method)
    assert concepts.solver.converged and concepts.certificate.passed
    assert optimum * (1 - 1e-9) <= concepts.l1_after / scale <= optimum / (1 - 1e-3) + 1e-9
    assert concepts.solver.l1 == pytest.approx(concepts.l1_after, rel=1e-12)
    assert concepts.solver.lower_bound / scale <= optimum * (1 + 1e-9)
    assert all(lower <= optimum * scale * (1 + 1e-9) for _, _, lower in concepts.solver.history)


def test_certificate_fails_for_concepts_that_do_not_reproduce_the_table():
    rng = np.random.default_rng(4)
    v = rng.normal(size=1 << 5)
    concepts = ValueTable(v).and_or(qthres=0.0, max_iter=100)
    broken = concepts.and_.values.copy()
    broken[7] += 1e-3
    with pytest.raises(CertificateError, match="universal matching"):
        matching_certificate(v, broken, concepts.or_.values, concepts.tau)


def test_result_reports_l1_gap_and_names():
    v = planted_game(5, seed=5)
    concepts = ValueTable(v, player_names=list("abcde")).and_or(max_iter=2000)
    assert concepts.and_.player_names == ("a", "b", "c", "d", "e")
    assert concepts.l1_after == pytest.approx(np.abs(concepts.and_.values).sum() + np.abs(concepts.or_.values).sum())
    assert concepts.l1_before == pytest.approx(np.abs(ValueTable(v).harsanyi().values).sum())
    assert 0 <= concepts.solver.gap < 1 and "the smallest L1 possible (certified gap" in str(concepts.solver)
    assert "Concepts(n_players=5" in repr(concepts)


@pytest.mark.parametrize("gap, words", [
    (0.0, "the smallest L1 possible (certified gap 0 %)"),
    (0.001, "at most 0.1 % above the smallest L1 possible (certified gap 0.1 %)"),
    (0.2, "at most 25 % above the smallest L1 possible (certified gap 20 %)"),  # L1 ≤ bound / 0.8 = 1.25 · bound
    (0.75, "at most 4× the smallest L1 possible (certified gap 75 %)"),
    (1.0, "no useful lower bound on the smallest L1 yet"),  # a lower bound of 0
])
def test_the_certified_gap_in_words(gap, words):
    """gap = (L1 − lower) / L1 puts the L1 at most gap / (1 − gap) above the optimum (≥ lower): 25 % for a gap of
    20 %, not 20 %."""
    from harsanyi._andor import bound_in_words

    assert bound_in_words(gap) == words


@pytest.mark.parametrize("method", ["splitting", "pdhg"])
def test_torch_table_gives_the_same_concepts(method):
    torch = pytest.importorskip("torch")
    v = planted_game(6, seed=6)
    a = ValueTable(v).and_or(max_iter=500, tol=1e-6, method=method)
    b = ValueTable(torch.tensor(v)).and_or(max_iter=500, tol=1e-6, method=method)
    np.testing.assert_allclose(a.and_.values, b.and_.values, atol=1e-9)  # same iterations; rounding order differs
    assert a.solver.iterations == b.solver.iterations


def test_bad_arguments():
    table = ValueTable(np.arange(8.0))
    with pytest.raises(HarsanyiValueError, match="tau ≥ 0"):
        table.and_or(tau=-1.0)
    with pytest.raises(HarsanyiValueError, match="qthres ≥ 0"):
        table.and_or(qthres=-0.1)
    with pytest.raises(HarsanyiValueError, match="tol in"):
        table.and_or(tol=0)
    with pytest.raises(HarsanyiValueError, match="max_iter to be a positive integer, or None.*received 0"):
        table.and_or(max_iter=0)
    for limit in (0, -1.0, float("nan"), "60", True):
        with pytest.raises(HarsanyiValueError, match=r"time_limit to be a number of seconds > 0, or None"):
            table.and_or(time_limit=limit)
    with pytest.raises(HarsanyiValueError,
                       match=r"method in \('auto', 'splitting', 'pdhg', 'highs', 'working-set'\); received 'simplex'"):
        table.and_or(method="simplex")
    with pytest.raises(HarsanyiValueError, match="practical up to n = 12.*Use method=.working-set. or .splitting."):
        ValueTable(np.zeros(1 << 13)).and_or(method="highs")


# --- sparsity analytics --------------------------------------------------------------------------------------------
def test_salient_concepts_and_fidelity_curve_on_a_known_decomposition():
    """Three AND concepts and one OR concept with known values: ranking, κ-threshold and the curve are exact."""
    from harsanyi import fidelity_curve, salient_concepts
    from harsanyi._sparsity import count_concepts, ranked_concepts

    n = 4
    zeta, r = dense_operators(n)
    and_ = np.zeros(16)
    or_ = np.zeros(16)
    and_[0] = 1.0  # the offset: never a concept
    and_[0b0011], and_[0b0100], and_[0b1111] = 4.0, -2.0, 0.1
    or_[0b1100] = 3.0
    v = zeta @ and_ + r @ or_
    ranked = salient_concepts(and_, or_, kappa=0.0, player_names=list("abcd"))
    assert [(c.kind, c.players, c.value) for c in ranked] == [
        ("AND", ("a", "b"), 4.0), ("OR", ("c", "d"), 3.0), ("AND", ("c",), -2.0), ("AND", ("a", "b", "c", "d"), 0.1)]
    assert len(salient_concepts(and_, or_)) == 3  # 0.1 < 0.05 · 4
    assert ranked_concepts(and_, or_, limit=2) == ranked_concepts(and_, or_)[:2] and count_concepts(and_, or_) == 4
    curve = fidelity_curve(v, and_, or_)
    assert curve.n_concepts == 4 and curve.k.tolist() == [0, 1, 2, 3, 4]
    assert curve.rms_error[-1] == pytest.approx(0.0, abs=1e-12)
    # keeping the top 1 (AND ab = 4): the error is what the other three add, coalition by coalition
    rest = zeta @ np.where(np.isin(np.arange(16), [0b0100, 0b1111]), and_, 0) + r @ or_ - or_[0]
    assert curve.rms_error[1] == pytest.approx(np.sqrt(np.mean(rest ** 2)) / abs(v[-1] - v[0]))
    assert curve.concepts_for(1.0) == 4 and curve.summary()[0.9] <= 4
    with pytest.raises(HarsanyiValueError, match="fidelity level"):
        curve.concepts_for(1.5)
    with pytest.raises(HarsanyiValueError, match="kappa"):
        salient_concepts(and_, or_, kappa=2)


def test_concepts_expose_the_analytics_and_beat_dividends_on_a_planted_game():
    from harsanyi import fidelity_curve

    v = planted_game(7, seed=7)
    table = ValueTable(v)
    concepts = table.and_or()
    curve = concepts.fidelity_curve()
    plain = fidelity_curve(v, table.harsanyi().values)
    assert curve.max_error[-1] <= concepts.tau / abs(v[-1] - v[0]) + 1e-9  # all concepts: within τ everywhere
    assert plain.rms_error[-1] == pytest.approx(0.0, abs=1e-9)  # dividends reproduce v exactly
    assert curve.concepts_for(0.95) < plain.concepts_for(0.95)  # AND-OR needs fewer concepts
    assert concepts.salient()[0] == concepts.ranked()[0]
    # the result objects themselves, as the call reads: fidelity_curve(table, concepts.and_, concepts.or_)
    from_objects = fidelity_curve(table, concepts.and_, concepts.or_)
    np.testing.assert_array_equal(from_objects.rms_error, curve.rms_error)
    assert fidelity_curve(table, table.harsanyi()).n_concepts == plain.n_concepts
    with pytest.raises(HarsanyiValueError, match=r"received Concepts, which holds AND and OR concepts: use its "
                                                 r"\.fidelity_curve\(\)"):
        fidelity_curve(table, concepts)
    with pytest.raises(HarsanyiValueError, match=r"Expected max_k, the most concepts to keep, as an integer ≥ 0"):
        fidelity_curve(table, concepts.and_, concepts.or_, max_k=-1)
    with pytest.raises(HarsanyiValueError, match=r"Expected the AND concepts as an array of 2ⁿ values \(bitmask-indexed\), "
                                                 r"a ValueTable or an Interactions; received dict"):
        fidelity_curve(table, {"a": 1.0})
    with pytest.raises(HarsanyiValueError, match=r"AND and OR concepts over the same 2\^\d+ coalitions; received shapes"):
        fidelity_curve(table, concepts.and_, concepts.or_.values[:4])
    with pytest.raises(HarsanyiValueError, match=r"Expected a value table of length 2\^\d+; received shape \(4,\)"):
        fidelity_curve(table.values[:4], concepts.and_, concepts.or_)


def brute_elimination(v, and_, or_, n_greedy):
    """The lab's greedy backward elimination written out with dense matrices (REFERENCE §2.3): weakest first, each
    step the removal among the n_greedy weakest left that gives the smallest squared error over all coalitions."""
    from harsanyi._sparsity import ranked_concepts

    n = v.size.bit_length() - 1
    zeta, r = dense_operators(n)
    concepts = ranked_concepts(and_, or_)
    left = list(range(len(concepts)))[::-1]  # weakest first
    removed = []
    while left:
        def error_without(j):
            a, o = and_.copy(), or_.copy()
            for gone in removed + [j]:
                (o if concepts[gone].kind == "OR" else a)[concepts[gone].mask] = 0.0
            return np.sum((v - zeta @ a - r @ o) ** 2)
        window = left[:n_greedy]
        best = min(window, key=lambda j: (error_without(j), window.index(j)))
        left.remove(best)
        removed.append(best)
    return [concepts[j] for j in removed[::-1]]


@pytest.mark.parametrize("kinds", ["AND-OR", "AND"])
@pytest.mark.parametrize("refresh", [3, None])
def test_greedy_elimination_matches_its_dense_definition(seed, refresh, kinds, monkeypatch):
    """AND and OR concepts at once (or AND alone, which skips the OR cases), with a noisy table (the residual is
    not zero from the start); a refresh every 3 removals runs the closed-form updates and the transforms against
    each other."""
    from harsanyi import _sparsity, fidelity_curve

    monkeypatch.setattr(_sparsity, "_REFRESH", refresh)
    rng = np.random.default_rng(seed)
    n = 5
    zeta, r = dense_operators(n)
    and_, or_ = rng.normal(size=32) * (rng.random(32) < 0.6), rng.normal(size=32) * (rng.random(32) < 0.4)
    or_[[0, 1, 2, 4, 8, 16]] = 0.0  # OR concepts of one player are AND concepts (SPEC §3 tidy-up)
    if kinds == "AND":
        or_[:] = 0.0
    v = zeta @ and_ + r @ or_ + 0.05 * rng.normal(size=32)
    expected = brute_elimination(v, and_, or_, n_greedy=4)
    curve = fidelity_curve(v, and_, or_, order="greedy", n_greedy=4, max_k=1000)
    assert [(c.kind, c.mask) for c in curve.concepts] == [(c.kind, c.mask) for c in expected]
    scale = abs(v[-1] - v[0])
    for k in (1, 5, len(expected)):  # the curve is the error of the k last survivors
        a, o = np.zeros(32), np.zeros(32)
        a[0], o[0] = and_[0], or_[0]
        for c in expected[:k]:
            (o if c.kind == "OR" else a)[c.mask] = c.value
        assert curve.rms_error[k] == pytest.approx(np.sqrt(np.mean((v - zeta @ a - r @ o) ** 2)) / scale)


def test_greedy_elimination_drops_cancelling_concepts_together_and_reports_the_explanation_ratio():
    """v = 3·[a] + 2.9·[b] + 5·[c∧d] − 5·[c∧d∧e]: the two largest concepts cancel except on the 4 coalitions with c
    and d but not e. Top-2 keeps them (error from a and b on 16 coalitions each); the elimination drops c∧d∧e first
    (cost 4·25 = 100 < 2.9²·16), then c∧d at no cost, and keeps a and b (error 100 instead of 417.8)."""
    from harsanyi import fidelity_curve

    n = 5
    zeta, _ = dense_operators(n)
    and_ = np.zeros(32)
    and_[0b00001], and_[0b00010], and_[0b01100], and_[0b11100] = 3.0, 2.9, 5.0, -5.0
    v = zeta @ and_
    top, greedy = fidelity_curve(v, and_), fidelity_curve(v, and_, order="greedy", n_greedy=4)
    assert top.order == "top-k" and greedy.order == "greedy"
    assert [c.mask for c in greedy.concepts] == [0b00001, 0b00010, 0b01100, 0b11100]
    scale = abs(v[-1] - v[0])
    assert greedy.rms_error[2] == pytest.approx(np.sqrt(100 / 32) / scale)
    assert top.rms_error[2] == pytest.approx(np.sqrt(8 * (3 ** 2 + 2.9 ** 2 + 5.9 ** 2) / 32) / scale)
    # explanation ratio Σ_kept |I| / (Σ_kept |I| + |Σ_dropped I|): top-2 keeps ±5 and drops 5.9; greedy-2 drops ±5
    assert top.explanation_ratio[2] == pytest.approx(10 / (10 + 5.9))
    assert greedy.explanation_ratio[2] == pytest.approx(1.0)
    assert top.explanation_ratio[0] == 0.0 and top.explanation_ratio[-1] == 1.0
    with pytest.raises(HarsanyiValueError, match=r"Expected order .top-k. \(by \|I\|\) or .greedy. \(backward "
                                                 r"elimination\); received .best."):
        fidelity_curve(v, and_, order="best")
    with pytest.raises(HarsanyiValueError, match="n_greedy.*integer ≥ 1; received 0"):
        fidelity_curve(v, and_, order="greedy", n_greedy=0)


# --- concepts shared by several models (SPEC §3c) ----------------------------------------------------------------
def shared_lp_optimum(vs, taus, p, alpha):
    """The shared objective as an LP for HiGHS (reference, n ≤ 4): variables x, y (K·N each, on every coalition, as
    the papers' split γ is), g (N), their absolute values a, b (K·N), and the per-coalition maxima s, t (N)."""
    from scipy.sparse import bmat, csr_matrix

    k, size = vs.shape
    n = size.bit_length() - 1
    zeta, r = dense_operators(n)
    zx, ry = np.kron(np.eye(k), zeta), np.kron(np.eye(k), r)
    stack = np.kron(np.ones((k, 1)), np.eye(size))  # (K·N, N): every model's copy of a per-coalition variable
    # variable order: x, y, g, a, b, s, t
    blocks = [
        ([zx, ry, None, None, None, None, None], vs.ravel() + np.repeat(taus, size), "≤"),
        ([-zx, -ry, None, None, None, None, None], np.repeat(taus, size) - vs.ravel(), "≤"),
        ([0.5 * zx, -0.5 * ry, -stack, None, None, None, None], np.full(k * size, p), "≤"),
        ([-0.5 * zx, 0.5 * ry, stack, None, None, None, None], np.full(k * size, p), "≤"),
    ]
    for sign in (1, -1):
        blocks.append(([sign * np.eye(k * size), None, None, -np.eye(k * size), None, None, None], np.zeros(k * size), ""))
        blocks.append(([None, sign * np.eye(k * size), None, None, -np.eye(k * size), None, None], np.zeros(k * size), ""))
    blocks.append(([None, None, None, np.eye(k * size), None, -stack, None], np.zeros(k * size), ""))
    blocks.append(([None, None, None, None, np.eye(k * size), None, -stack], np.zeros(k * size), ""))
    widths = [k * size, k * size, size, k * size, k * size, size, size]
    rows = []
    for parts, _, _ in blocks:
        height = next(np.shape(b)[0] for b in parts if b is not None)
        rows.append([csr_matrix(b) if b is not None else csr_matrix((height, w)) for b, w in zip(parts, widths)])
    a_ub = bmat(rows).tocsr()
    b_ub = np.concatenate([b for _, b, _ in blocks])
    cost = np.concatenate([np.zeros(2 * k * size + size), np.full(2 * k * size, alpha),
                           np.full(2 * size, 1 - alpha)])
    bounds = [(None, None)] * (2 * k * size + size) + [(0, None)] * (2 * k * size + 2 * size)
    res = scipy_optimize.linprog(cost, A_ub=a_ub, b_ub=b_ub, bounds=bounds, method="highs")
    assert res.status == 0, res.message
    return res.fun


def test_shared_objective_reduces_to_the_single_model_one_for_k_1():
    """For K = 1 the shared objective is ‖x‖₁ + ‖y‖₁ whatever α (checked on random points), and the shared solver
    reaches the optimum of and_or (HiGHS, exact) within its own certified gap."""
    from harsanyi import shared_concepts
    from harsanyi._andor import _Problem

    rng = np.random.default_rng(8)
    v = planted_game(6, seed=8)
    for alpha in (0.0, 0.1, 1.0):
        problem = _Problem(v[None], [0.1], alpha=alpha)
        z = rng.normal(size=(2, 64))
        assert problem.objective(z) == pytest.approx(np.abs(z).sum(), rel=1e-12)
    alone = ValueTable(v).and_or(method="highs")
    for method in ("highs", "pdhg", "splitting"):
        joint = shared_concepts([ValueTable(v)], tol=1e-4, method=method)
        assert joint.solver.converged and joint.concepts[0].certificate.passed
        assert alone.l1_after * (1 - 1e-9) <= joint.solver.l1 <= alone.l1_after / (1 - 1e-4) + 1e-9


@pytest.mark.parametrize("method", ["highs", "pdhg", "splitting"])
def test_shared_concepts_match_the_dense_lp(method):
    """Every solver against the shared objective written out densely for HiGHS (``shared_lp_optimum``): the sparse
    LP to HiGHS's accuracy (1e-9 relative), PDHG and the splitting within their certified gap."""
    from harsanyi import shared_concepts

    rng = np.random.default_rng(9)
    v = planted_game(4, seed=9)
    w = v + 0.3 * rng.normal(size=16)
    tables = [ValueTable(v), ValueTable(w)]
    joint = shared_concepts(tables, tol=1e-3, method=method)
    taus = np.array([c.tau for c in joint.concepts])
    optimum = shared_lp_optimum(np.stack([v, w]), taus, joint.p, joint.alpha)
    assert joint.solver.converged and joint.split_violation <= 1e-9
    assert optimum * (1 - 1e-9) <= joint.solver.l1 <= optimum / (1 - 1e-3) + 1e-9
    assert joint.solver.lower_bound <= optimum * (1 + 1e-9)
    if method == "highs":
        assert joint.solver.l1 == pytest.approx(optimum, rel=1e-9) and joint.solver.gap <= 1e-9
    assert all(c.certificate.passed for c in joint.concepts)
    assert 0 <= joint.overlap <= 1 and 0 <= joint.overlap_independent <= 1  # not ordered in general: κ decides
    assert "concepts salient in all" in repr(joint)


def test_shared_concepts_scale_with_the_values():
    """Two models whose outputs are scaled by 1e-12 (HiGHS, exact): the same concepts, L1 and split violation,
    times the scale (1e-9 relative: HiGHS's accuracy)."""
    from harsanyi import shared_concepts

    rng = np.random.default_rng(13)
    v = planted_game(5, seed=13)
    tables = np.stack([v, v + 0.3 * rng.normal(size=v.size)])
    plain = shared_concepts([ValueTable(t) for t in tables], compare=False)
    small = shared_concepts([ValueTable(t * 1e-12) for t in tables], compare=False)
    assert small.solver.gap <= 1e-9 and all(c.certificate.passed for c in small.concepts)
    assert small.solver.l1 == pytest.approx(plain.solver.l1 * 1e-12, rel=1e-9)
    assert small.p == pytest.approx(plain.p * 1e-12, rel=1e-12)
    assert small.split_violation <= 1e-9 * small.p


@pytest.mark.parametrize("method, stop, end", [("pdhg", 96, 224), ("splitting", 128, 256)])
def test_shared_first_order_run_resumed_from_its_checkpoint_takes_the_same_iterates(tmp_path, method, stop, end):
    """Shared concepts by PDHG or the splitting stopped after ``stop`` iterations (a multiple of check_every; for
    the splitting of the 64 between its bounds, so that the stop adds no check of them) and resumed to ``end`` end
    where an unbroken run of ``end`` ends, to the bit: the state saved at a check (PDHG: iterates, running averages,
    restart anchor, primal weight, best point; the splitting: z, its anchor, the best point and its dual estimate)
    is the whole state. A checkpoint of other tables or α, and one with HiGHS, are refused."""
    from harsanyi import CacheError, shared_concepts

    rng = np.random.default_rng(14)
    v = planted_game(6, seed=14)
    tables = [ValueTable(v + 0.2 * rng.normal(size=v.size)) for _ in range(2)]
    args = dict(method=method, compare=False, tol=1e-9, progress=False)
    unbroken = shared_concepts(tables, max_iter=end, **args)
    path = tmp_path / "shared.npz"
    first = shared_concepts(tables, max_iter=stop, checkpoint=path, **args)
    assert first.solver.iterations == stop
    resumed = shared_concepts(tables, max_iter=end, checkpoint=path, **args)
    assert resumed.solver.iterations == end and f"resumed from iteration {stop}" in resumed.solver.method
    assert resumed.solver.l1 == unbroken.solver.l1 and resumed.solver.lower_bound == unbroken.solver.lower_bound
    assert resumed.solver.history == unbroken.solver.history
    for a, b in zip(resumed.concepts, unbroken.concepts):
        np.testing.assert_array_equal(a.and_.values, b.and_.values)
        np.testing.assert_array_equal(a.or_.values, b.or_.values)
    with pytest.raises(CacheError, match="another problem: its taus, p, tables"):  # (and ρ, for the splitting)
        shared_concepts([tables[0], ValueTable(v)], max_iter=300, checkpoint=path, **args)
    with pytest.raises(CacheError, match="its alpha differs"):
        shared_concepts(tables, max_iter=300, checkpoint=path, alpha=0.3, **args)
    with pytest.raises(HarsanyiValueError, match="checkpoint= saves and resumes the splitting or PDHG; "
                                                 "method='auto' runs HiGHS for n = 6"):
        shared_concepts(tables, checkpoint=path, compare=False)


def test_shared_concepts_auto_is_exact_for_small_n_and_pdhg_stays_above_it():
    """Three noisy copies of a planted game at n = 7: "auto" takes HiGHS, whose certified lower bound (recomputed
    from its row multipliers) meets its L1; PDHG, stopped early, ends above that optimum and its lower bound below."""
    from harsanyi import shared_concepts

    rng = np.random.default_rng(12)
    v = planted_game(7, seed=12)
    tables = [ValueTable(v + 0.2 * rng.normal(size=v.size)) for _ in range(3)]
    exact = shared_concepts(tables, compare=False)
    assert exact.solver.method.startswith("HiGHS") and exact.solver.gap <= 1e-9
    assert all(c.certificate.passed for c in exact.concepts) and exact.split_violation == 0.0
    early = shared_concepts(tables, compare=False, method="pdhg", max_iter=400)
    assert early.solver.l1 >= exact.solver.l1 * (1 - 1e-9)
    assert early.solver.lower_bound <= exact.solver.l1 * (1 + 1e-9)


@pytest.fixture(scope="module")
def three_noisy_copies():
    """Three noisy copies of a planted game at n = 7, with HiGHS's and the splitting's shared concepts at p = 0.1
    (the split bound binds)."""
    from harsanyi import shared_concepts

    rng = np.random.default_rng(12)
    v = planted_game(7, seed=12)
    tables = [ValueTable(v + 0.2 * rng.normal(size=v.size)) for _ in range(3)]
    exact = shared_concepts(tables, compare=False, method="highs", p=0.1)
    joint = shared_concepts(tables, compare=False, method="splitting", p=0.1, tol=1e-3)
    return tables, exact, joint


def test_shared_splitting_reaches_the_exact_optimum(three_noisy_copies):
    """Three noisy copies of a planted game at n = 7 (the split bound p = 0.1 binds): the splitting
    converges to its certified 1e-3 gap, its L1 within that gap of HiGHS's optimum and its lower bound below it
    (1e-9: HiGHS's accuracy); every model's concepts match its table within τ, and the splits keep within p of
    the shared one (up to rounding: the repair moves them inside)."""
    from harsanyi import shared_concepts

    tables, exact, joint = three_noisy_copies
    assert joint.solver.method.startswith("restarted Halpern Peaceman–Rachford splitting")
    assert joint.solver.converged and all(c.certificate.passed for c in joint.concepts)
    optimum = exact.solver.l1
    assert optimum * (1 - 1e-9) <= joint.solver.l1 <= optimum / (1 - 1e-3) + 1e-9
    assert joint.solver.lower_bound <= optimum * (1 + 1e-9)
    assert joint.split_violation <= 1e-12
    loose = shared_concepts(tables, compare=False, method="highs", p=1e3)
    assert loose.solver.l1 < optimum * (1 - 1e-3)  # the bound p = 0.1 binds: without it the optimum is lower


def test_shared_concepts_of_models_far_apart_at_the_baseline():
    """Two models whose outputs differ by 5 everywhere, with the split bound p = 0.1. A model's split γ_k(∅) is
    ½(v_k(∅) + ε) − I_or,k(∅), so with the OR concept of ∅ a variable (as in the papers) the splits can agree
    wherever the outputs differ; held at 0 on ≤ 1 player, the OR concepts left this LP infeasible (HiGHS raised a
    RuntimeError). Both solvers: converged, certified, the splitting within its 1e-3 gap of HiGHS's optimum."""
    from harsanyi import shared_concepts

    v = planted_game(5, seed=15)
    tables = [ValueTable(v), ValueTable(v + 5.0)]
    exact = shared_concepts(tables, p=0.1, method="highs", compare=False)
    joint = shared_concepts(tables, p=0.1, method="splitting", compare=False, tol=1e-3)
    for result in (exact, joint):
        assert result.solver.converged and result.split_violation <= 1e-12
        assert all(c.certificate.passed for c in result.concepts)
    assert exact.solver.l1 * (1 - 1e-9) <= joint.solver.l1 <= exact.solver.l1 / (1 - 1e-3) + 1e-9


@pytest.mark.parametrize("relative", [0.0, 0.99])
@pytest.mark.parametrize("k, p", [(1, None), (2, 1e3), (3, 0.1)])
def test_shared_polish_ends_at_the_optimum_of_the_whole_lp(k, p, relative):
    """``polish_shared`` from a point far from the optimum (the dividends less a small OR part, which match every
    table exactly, so no value row starts near its bound), given every concept (relative = 0) or only the largest
    and those on ≤ 1 player (0.99): the rows it generates from the violations on the whole table, the concepts
    its duals price in and those the elastic slacks call for must end at the LP's optimum, HiGHS's on the whole
    shared LP (K = 1: and_or's), said to be optimal, with a certified lower bound at it (1e-7 relative: two HiGHS
    codes' feasibility tolerances); the point, repaired, is feasible to rounding."""
    pytest.importorskip("highspy")
    from harsanyi._activeset import polish_shared
    from harsanyi._andor import _Problem, _shared_highs

    rng = np.random.default_rng(21)
    v = planted_game(5, seed=21)
    vs = np.stack([v + 0.2 * rng.normal(size=v.size) for _ in range(k)])
    taus = [0.05] * k
    problem = _Problem(vs, taus, alpha=0.1 if k > 1 else 1.0, p=math.inf if p is None else p)
    optimum = problem.objective(problem.repair(_shared_highs(problem, taus)[0])[0])
    small = np.full((k, 32), 1e-3)
    start = subset_moebius(vs - or_reconstruct(small))
    out = polish_shared(problem, start, small, time_limit=None, relative=relative)
    assert out is not None and out.optimal
    assert out.rounds >= 2  # the first LP had no value rows
    z, violation = problem.repair(np.concatenate([out.x, out.y] + ([np.zeros((1, 32))] if k > 1 else [])))
    assert violation <= 1e-12
    assert np.abs(subset_zeta(z[:k]) + or_reconstruct(z[k:2 * k]) - vs).max() <= 0.05 + 1e-12
    assert problem.objective(z) == pytest.approx(optimum, rel=1e-7)
    assert out.lower == pytest.approx(optimum, rel=1e-7) and out.lower <= optimum * (1 + 1e-9)


def test_shared_polish_with_equality_rows():
    """τ = 0 and p = 0 (K = 2): every value row and split row is an equality, so every coalition starts at its
    bound; from the largest concept alone the polish still ends at HiGHS's optimum of the whole LP (1e-7, as
    above), its lower bound at it."""
    pytest.importorskip("highspy")
    from harsanyi._activeset import polish_shared
    from harsanyi._andor import _Problem, _shared_highs

    rng = np.random.default_rng(23)
    v = planted_game(5, seed=23)
    vs = np.stack([v, v + 0.2 * rng.normal(size=v.size)])
    problem = _Problem(vs, [0.0, 0.0], alpha=0.1, p=0.0)
    optimum = problem.objective(problem.repair(_shared_highs(problem, [0.0, 0.0])[0])[0])
    x = subset_moebius(vs)
    out = polish_shared(problem, x, 0 * x, time_limit=None, relative=0.99)
    assert out is not None and out.optimal
    z, _ = problem.repair(np.concatenate([out.x, out.y, np.zeros((1, 32))]))
    assert problem.objective(z) == pytest.approx(optimum, rel=1e-7)
    assert out.lower == pytest.approx(optimum, rel=1e-7)


def test_shared_polish_gives_up_without_time_or_over_too_many_concepts():
    """A time limit of 0, or first concepts above ``max_concepts``: None, and the caller keeps its point."""
    pytest.importorskip("highspy")
    from harsanyi._activeset import polish_shared
    from harsanyi._andor import _Problem

    vs = planted_game(5, seed=22)[None]
    x = subset_moebius(vs)
    problem = _Problem(vs, [0.01])
    assert polish_shared(problem, x, 0 * x, time_limit=0.0) is None
    assert polish_shared(problem, x, 0 * x, time_limit=None, max_concepts=int((x != 0).sum()) - 1) is None


def test_shared_concepts_auto_polishes_the_splitting_into_the_optimum(monkeypatch, three_noisy_copies):
    """Beyond the n where "auto" takes HiGHS (lowered to 4 here, so n = 7 is beyond), it runs the splitting to a
    1e-2 gap and then column-and-row generation from the splitting's concepts: HiGHS's optimum of the whole LP
    (1e-9: its accuracy) with a lower bound at it, certified, within the split bound, and on fewer concepts than
    the splitting to 1e-3 (which stops inside a face of a degenerate optimum; the simplex ends at a vertex)."""
    pytest.importorskip("highspy")
    from harsanyi import _andor, shared_concepts

    tables, exact, alone = three_noisy_copies
    monkeypatch.setattr(_andor, "SHARED_HIGHS_MAX_PLAYERS", 4)
    monkeypatch.setattr(_andor, "SHARED_BOUND_SHARE", 1.0)  # (a planted game has many coalitions at the bound)
    auto = shared_concepts(tables, compare=False, p=0.1)
    assert auto.solver.method == ("restarted Halpern Peaceman–Rachford splitting to a 0.01 gap, then HiGHS's "
                                  "simplex from its concepts, with concepts and rows generated (an optimal vertex)")
    assert auto.solver.l1 == pytest.approx(exact.solver.l1, rel=1e-9) and auto.solver.l1 < alone.solver.l1
    assert alone.solver.lower_bound < auto.solver.lower_bound <= exact.solver.l1 * (1 + 1e-9)
    assert auto.solver.gap <= 1e-9 and auto.solver.converged
    assert auto.solver.gap == pytest.approx((auto.solver.l1 - auto.solver.lower_bound) / auto.solver.l1, abs=1e-15)
    assert all(c.certificate.passed for c in auto.concepts) and auto.split_violation <= 1e-12

    def used(result):
        top = max(max(abs(c.and_.values).max(), abs(c.or_.values).max()) for c in result.concepts)
        return sum(int((abs(c.and_.values) > 1e-9 * top).sum() + (abs(c.or_.values) > 1e-9 * top).sum())
                   for c in result.concepts)

    assert used(auto) < used(alone)


def test_shared_auto_reports_what_the_polish_gave(monkeypatch, three_noisy_copies):
    """How "auto" books the polish (``polish_shared`` replaced here): a point with a higher L1 than the
    splitting's (the plain dividends) leaves the splitting's point and says "no lower L1", while a lower bound it
    brings still counts; a lower point not proven optimal is taken and said to be "stopped before the optimum".
    The first leaves the gap of the looser splitting (1e-2) open, so the splitting goes on to 1e-3 on the iterates
    of a run straight there (its L1 to 1e-12, and its iterations with the two polishes' rounds); the second, with
    a lower bound between the splitting's and the optimum, closes it at once."""
    pytest.importorskip("highspy")
    from harsanyi import _activeset, _andor, shared_concepts

    tables, exact, alone = three_noisy_copies
    monkeypatch.setattr(_andor, "SHARED_HIGHS_MAX_PLAYERS", 4)
    monkeypatch.setattr(_andor, "SHARED_BOUND_SHARE", 1.0)
    vs = np.stack([t.values for t in tables])
    unit = _andor._unit(vs)
    bound = 0.5 * (alone.solver.lower_bound + exact.solver.l1) / unit  # between the splitting's and the optimum

    def worse(problem, x, y, **kwargs):
        return _activeset.Polished(subset_moebius(problem.vs), 0 * y, bound, 1, False)

    monkeypatch.setattr(_activeset, "polish_shared", worse)
    kept = shared_concepts(tables, compare=False, p=0.1)
    assert "with concepts and rows generated (no lower L1 in its " in kept.solver.method
    assert ", then the splitting on to a 0.001 gap, then HiGHS's simplex" in kept.solver.method
    assert kept.solver.l1 == pytest.approx(alone.solver.l1, rel=1e-12)
    assert kept.solver.iterations == alone.solver.iterations + 2
    assert kept.solver.lower_bound == pytest.approx(bound * unit, rel=1e-12)
    assert kept.solver.lower_bound > alone.solver.lower_bound
    assert kept.solver.gap == pytest.approx((kept.solver.l1 - kept.solver.lower_bound) / kept.solver.l1)

    def better(problem, x, y, **kwargs):  # HiGHS's optimum of the whole LP
        z = _andor._shared_highs(problem, list(problem.upper[:3, 0] - problem.vs[:, 0]))[0]
        return _activeset.Polished(z[:3], z[3:6], bound, 2, False)

    monkeypatch.setattr(_activeset, "polish_shared", better)
    taken = shared_concepts(tables, compare=False, p=0.1)
    assert taken.solver.method == ("restarted Halpern Peaceman–Rachford splitting to a 0.01 gap, then HiGHS's "
                                   "simplex from its concepts, with concepts and rows generated (stopped before "
                                   "the optimum)")
    assert taken.solver.l1 == pytest.approx(exact.solver.l1, rel=1e-9)
    assert taken.solver.lower_bound == pytest.approx(bound * unit, rel=1e-12)
    assert taken.solver.converged and taken.solver.gap < 1e-3
    assert all(c.certificate.passed for c in taken.concepts) and taken.split_violation <= 1e-12


@pytest.mark.parametrize(("kwargs", "budget", "share", "first"), [
    ({}, 4.0, 1.0, "splitting to a 0.01 gap, then"),
    ({"time_limit": 600.0}, 4.0, 1.0, "splitting to a 0.01 gap, then"),
    ({"time_limit": 600.0}, 1e9, 1.0, "splitting, then"),
    ({}, 4.0, 0.0, "splitting, then"),
    ({"tol": 1e-2}, 4.0, 1.0, "splitting, then"),
])
def test_shared_auto_splits_loosely_first_where_the_polish_has_time(monkeypatch, kwargs, budget, share, first):
    """The looser splitting first (1e-2) for a tolerance below it, polished at once where the time limit leaves
    the polish its budget (``SHARED_LOOSE_POLISH`` × the splitting's seconds; 1e9 here: none does) and at most
    ``SHARED_BOUND_SHARE`` of the coalitions have their noise at the bound (0 here: none pass; 1: all do);
    otherwise the splitting goes on to ``tol`` first, and says it ran as one. Every way ends at HiGHS's optimum
    (1e-9) on two noisy copies of a planted game at n = 5."""
    pytest.importorskip("highspy")
    from harsanyi import _andor, shared_concepts

    rng = np.random.default_rng(5)
    v = planted_game(5, seed=5)
    tables = [ValueTable(v + 0.2 * rng.normal(size=v.size)) for _ in range(2)]
    exact = shared_concepts(tables, compare=False, method="highs")
    monkeypatch.setattr(_andor, "SHARED_HIGHS_MAX_PLAYERS", 4)
    monkeypatch.setattr(_andor, "SHARED_LOOSE_POLISH", budget)
    monkeypatch.setattr(_andor, "SHARED_BOUND_SHARE", share)
    auto = shared_concepts(tables, compare=False, **kwargs)
    assert auto.solver.method.startswith(f"restarted Halpern Peaceman–Rachford {first} HiGHS's simplex")
    assert auto.solver.method.endswith("(an optimal vertex)")
    assert auto.solver.l1 == pytest.approx(exact.solver.l1, rel=1e-9)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_share_at_bound_counts_the_coalitions_whose_noise_is_at_tau(backend):
    """``_share_at_bound`` against its definition: the plain dividends match v exactly (share 0 for τ > 0, 1 for
    τ = 0: every coalition is at a zero bound); moving the AND concept of ∅ by τ puts every coalition at it, and
    moving that of player 0 by τ the half of them that hold player 0 (one model of two: a quarter)."""
    from harsanyi._andor import _Problem, _share_at_bound

    rng = np.random.default_rng(0)
    vs = rng.normal(size=(2, 64))
    x = subset_moebius(vs)
    z = np.concatenate([x, np.zeros_like(x), np.zeros((1, 64))])
    if backend == "torch":
        torch = pytest.importorskip("torch")
        vs, z = torch.tensor(vs), torch.tensor(z)
    tau = 0.05
    assert _share_at_bound(_Problem(vs, [tau, tau]), z) == 0.0
    assert _share_at_bound(_Problem(vs, [0.0, 0.0]), z) == 1.0
    moved = z.clone() if backend == "torch" else z.copy()
    moved[0, 0] += tau
    moved[1, 0] -= tau
    assert _share_at_bound(_Problem(vs, [tau, tau]), moved) == 1.0
    moved = z.clone() if backend == "torch" else z.copy()
    moved[0, 1] += tau
    assert _share_at_bound(_Problem(vs, [tau, tau]), moved) == 0.25


def test_shared_auto_resumed_from_a_checkpoint_polishes_within_this_calls_time(monkeypatch, tmp_path,
                                                                              three_noisy_copies):
    """A converged splitting saved to a checkpoint, called again with a time limit shorter than the first call
    took: the run resumes at once, and the simplex gets the time this call has left (the saved run's seconds
    count towards nothing here), ending at the same vertex as the first call's."""
    pytest.importorskip("highspy")
    from harsanyi import _andor, shared_concepts

    tables, _, _ = three_noisy_copies
    monkeypatch.setattr(_andor, "SHARED_HIGHS_MAX_PLAYERS", 4)
    path = tmp_path / "shared.npz"
    first = shared_concepts(tables, compare=False, p=0.1, checkpoint=path)
    assert first.solver.method.endswith("with concepts and rows generated (an optimal vertex)")
    again = shared_concepts(tables, compare=False, p=0.1, checkpoint=path, time_limit=first.solver.seconds / 2)
    assert again.solver.method.startswith("restarted Halpern Peaceman–Rachford splitting, resumed from iteration ")
    assert again.solver.method.endswith("with concepts and rows generated (an optimal vertex)")
    assert again.solver.l1 == pytest.approx(first.solver.l1, rel=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_shared_repair_meets_both_constraints_from_any_point(seed):
    """``_Problem.repair`` of a random point (K = 3, n = 6): every model matches its table within τ_k and the splits
    ½(ζx_k − Ry_k) of every coalition lie within p of the returned shared split g (1e-9: the rounding of the
    transforms on entries of size ~10), so its objective bounds the optimum from above."""
    from harsanyi._andor import _Problem

    rng = np.random.default_rng(seed)
    vs = rng.normal(size=(3, 64)).cumsum(1)
    taus, p = [0.05, 0.1, 0.2], 0.3
    problem = _Problem(vs, taus, alpha=0.1, p=p)
    z, violation = problem.repair(rng.normal(size=(7, 64)))
    x, y, g = z[:3], z[3:6], z[6]
    recon = subset_zeta(x) + or_reconstruct(y)
    assert np.all(np.abs(recon - vs).max(1) <= np.array(taus) + 1e-9)
    assert np.abs(0.5 * (subset_zeta(x) - or_reconstruct(y)) - g).max() <= p + 1e-9
    assert violation <= 1e-9
    optimum = shared_lp_optimum(vs, np.array(taus), p, 0.1)
    assert problem.objective(z) >= optimum * (1 - 1e-9)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_range_projection_is_the_nearest_point_within_the_spread(seed, k):
    """``_project_range`` against its definition: its columns spread by at most 2·width, and no point of that set
    is nearer (the brute-force one: clip(h, c ± width) at the c that minimises the distance, found by a bounded
    scalar search to 1e-12). Columns already within the bound are returned as they are, on NumPy and torch alike.
    1e-9: the scalar search's accuracy in the squared distance."""
    from scipy.optimize import minimize_scalar

    from harsanyi._iterate import _project_range

    rng = np.random.default_rng(seed)
    width = [0.0, 0.3, 1.0][seed]
    h = rng.normal(size=(k, 40)) * rng.choice([0.1, 1.0, 3.0], size=40)
    h[:, :3] = h[:1, :3]  # equal entries, spread 0
    got = _project_range(h, width)
    assert np.all(got.max(0) - got.min(0) <= 2 * width + 1e-12)
    for column, projected in zip(h.T, got.T):
        def distance(c):
            return float(((column - np.clip(column, c - width, c + width)) ** 2).sum())

        best = minimize_scalar(distance, bounds=(column.min() - width, column.max() + width), method="bounded",
                               options={"xatol": 1e-12})
        assert float(((projected - column) ** 2).sum()) <= best.fun + 1e-9
        if column.max() - column.min() <= 2 * width:
            np.testing.assert_array_equal(projected, column)
    torch = pytest.importorskip("torch")
    np.testing.assert_allclose(_project_range(torch.tensor(h), width).numpy(), got, rtol=0, atol=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("k", [1, 2, 3, 6])
def test_l1_ball_projection_without_a_sort_is_duchis(seed, k):
    """``_project_l1_ball`` (no sort: θ = the largest (sum of the m largest |a| − r) / m) against Duchi et al.'s
    sorted algorithm written out here, on columns with ties (repeated and zero entries), inside and outside the
    ball, with one radius per column and one for all; NumPy and torch alike. 1e-12: float64 sums in another order."""
    from harsanyi._iterate import _project_l1_ball

    rng = np.random.default_rng(seed)
    a = rng.normal(size=(k, 60)) * rng.choice([0.1, 1.0, 5.0], size=60)
    a[:, :4] = np.round(a[:, :4])  # ties and zeros
    a[:, 4] = a[0, 4]
    radius = rng.uniform(0.0, 3.0, size=(1, 60))

    def duchi(column, r):
        s = np.sort(np.abs(column))[::-1]
        cs = np.cumsum(s)
        rho = np.nonzero(s - (cs - r) / np.arange(1, column.size + 1) > 0)[0]
        theta = max((cs[rho[-1]] - r) / (rho[-1] + 1), 0.0) if rho.size else 0.0
        return column - np.clip(column, -theta, theta)  # soft thresholding by θ

    expected = np.stack([duchi(col, r) for col, r in zip(a.T, radius[0])], axis=1)
    np.testing.assert_allclose(_project_l1_ball(a, radius), expected, rtol=0, atol=1e-12)
    one = np.full((1, 1), 0.7)
    np.testing.assert_allclose(_project_l1_ball(a, one), np.stack([duchi(col, 0.7) for col in a.T], axis=1),
                               rtol=0, atol=1e-12)
    torch = pytest.importorskip("torch")
    np.testing.assert_allclose(_project_l1_ball(torch.tensor(a), torch.tensor(radius)).numpy(), expected, rtol=0,
                               atol=1e-12)


def test_shared_concepts_bad_input():
    from harsanyi import shared_concepts

    with pytest.raises(HarsanyiValueError, match="same players"):
        shared_concepts([ValueTable(np.zeros(8)), ValueTable(np.zeros(16))])
    with pytest.raises(HarsanyiValueError, match="non-empty list"):
        shared_concepts([])
    with pytest.raises(HarsanyiValueError, match=r"received one ValueTable\. For one model use table\.and_or\(\)"):
        shared_concepts(ValueTable(np.zeros(8)))
    with pytest.raises(HarsanyiValueError, match=r"item 1 is ndarray\. Wrap a table of values as ValueTable\(values\)"):
        shared_concepts([ValueTable(np.zeros(8)), np.zeros(8)])
    with pytest.raises(HarsanyiValueError, match="alpha"):
        shared_concepts([ValueTable(np.zeros(8))] * 2, alpha=2)
    with pytest.raises(HarsanyiValueError, match="p ≥ 0"):
        shared_concepts([ValueTable(np.zeros(8))] * 2, p=-1.0)
    with pytest.raises(HarsanyiValueError, match=r"Expected a finite p ≥ 0 .*received inf\. For splits bounded only "
                                                 r"loosely, pass a large p"):
        shared_concepts([ValueTable(np.zeros(8))] * 2, p=float("inf"))
    with pytest.raises(HarsanyiValueError, match="Expected a finite pthres ≥ 0; received nan"):
        shared_concepts([ValueTable(np.zeros(8))] * 2, pthres=float("nan"))
    with pytest.raises(HarsanyiValueError, match=r"Expected method in \('auto', 'splitting', 'pdhg', 'highs'\); "
                                                 r"received 'simplex'"):
        shared_concepts([ValueTable(np.zeros(8))] * 2, method="simplex")
    with pytest.raises(HarsanyiValueError, match=r"practical up to n = 10.*method=\"splitting\""):
        shared_concepts([ValueTable(np.zeros(1 << 11))] * 2, method="highs")


def test_auto_method_takes_highs_then_the_working_set_then_the_splitting(monkeypatch):
    import sys

    from harsanyi._andor import _resolve_method

    hybrid = "working-set, then splitting"
    assert [_resolve_method("auto", n) for n in (4, 10, 11, 15, 16)] == ["highs", "highs", hybrid, hybrid, "splitting"]
    small = ValueTable(planted_game(5, seed=5)).and_or()
    assert small.solver.method.startswith("HiGHS") and small.solver.converged
    big = ValueTable(np.random.default_rng(0).normal(size=1 << 16)).and_or(max_iter=32)
    assert big.solver.method.startswith("restarted Halpern Peaceman–Rachford") and big.certificate.passed
    # "auto" never holds HiGHS to a limit it might just miss: a tiny limit still gives the exact optimum
    concepts = ValueTable(planted_game(8, seed=3)).and_or(time_limit=1e-6)
    assert concepts.solver.method.startswith("HiGHS") and concepts.solver.converged
    monkeypatch.setitem(sys.modules, "highspy", None)  # as if highspy were not installed
    assert _resolve_method("auto", 12) == "splitting"
    with pytest.raises(HarsanyiValueError, match='method="working-set" needs highspy'):
        ValueTable(planted_game(5, seed=5)).and_or(method="working-set")
    monkeypatch.setitem(sys.modules, "scipy.optimize", None)  # … nor scipy
    assert ValueTable(planted_game(5, seed=5)).and_or(max_iter=32).solver.method.startswith("restarted Halpern")
    with pytest.raises(HarsanyiValueError, match='method="highs" needs scipy'):
        ValueTable(planted_game(5, seed=5)).and_or(method="highs")


def test_working_set_finds_the_optimum_of_a_sparse_game_beyond_the_dense_lp():
    """n = 11: the working-set LP (a few hundred rows and concepts) against HiGHS on the whole sparse LP; both are
    converged to the default tol 1e-3, so their L1 agree within it. Also: the run stops at its time limit with a
    certified, feasible decomposition."""
    pytest.importorskip("highspy")
    v = planted_game(11, seed=7)
    fast = ValueTable(v).and_or(method="working-set")
    exact = ValueTable(v).and_or(method="highs")
    assert fast.solver.converged and fast.certificate.passed
    assert exact.l1_after * (1 - 1e-9) <= fast.l1_after <= exact.l1_after / (1 - 1e-3)
    assert fast.solver.lower_bound <= exact.l1_after * (1 + 1e-9)
    assert "working set" in str(fast.solver) and "restarts" not in str(fast.solver)
    cut = ValueTable(v).and_or(method="working-set", time_limit=1e-6)
    assert cut.solver.iterations == 1 and cut.certificate.passed and cut.l1_after >= exact.l1_after * (1 - 1e-9)


def test_working_set_prints_nothing(capfd):
    """highspy 1.16 prints a banner from C++ while a HiGHS instance is made, before its output can be switched off;
    the working set makes its instance with the process's stdout on the null device, and prints nothing itself.
    capfd reads file descriptors 1 and 2, so C-level output is seen too."""
    pytest.importorskip("highspy")
    print("before", flush=True)
    ValueTable(planted_game(8, seed=3)).and_or(method="working-set")
    print("after", flush=True)
    out, err = capfd.readouterr()
    assert out == "before\nafter\n" and err == ""


def test_auto_hands_a_stalled_working_set_over_to_the_splitting_and_keeps_the_better_bounds(monkeypatch):
    """n = 11 with a budget that leaves the first working set one round: "auto" runs the splitting for the rest and
    reports the smaller L1 and the larger lower bound of the two runs, with a certified decomposition (the third run,
    from the splitting's concepts, is switched off here: see the next test)."""
    pytest.importorskip("highspy")
    import harsanyi._andor as andor

    v = planted_game(11, seed=7)
    monkeypatch.setattr(andor, "WORKING_SET_FIRST", 1e-6)  # as if the working set had stalled
    monkeypatch.setattr(andor, "SEED_MAX", -1)  # no support is small enough
    alone = {m: ValueTable(v).and_or(method=m, max_iter=64, time_limit=1e-6 if m == "working-set" else None)
             for m in ("working-set", "splitting")}
    both = ValueTable(v).and_or(max_iter=64)
    assert both.solver.method == f"{alone['working-set'].solver.method}, then {alone['splitting'].solver.method}"
    assert both.solver.iterations == 1 + alone["splitting"].solver.iterations
    assert both.l1_after == pytest.approx(min(alone["working-set"].l1_after, alone["splitting"].l1_after), rel=1e-9)
    assert both.solver.lower_bound == pytest.approx(max(a.solver.lower_bound for a in alone.values()), rel=1e-9)
    assert both.certificate.passed and not both.solver.converged


def test_auto_finishes_a_sparse_optimum_exactly_from_the_splittings_largest_concepts(monkeypatch):
    """Where the working set from scratch takes long, "auto" lets the splitting find the support and then starts the
    working set from its concepts above 1e-4 of the largest (and the coalitions at the noise bound): it ends at the
    working set's own exact optimum, a vertex whose other concepts are zero up to rounding, and says so. With more
    concepts than SEED_MAX, that third run is skipped."""
    pytest.importorskip("highspy")
    import harsanyi._andor as andor

    v = planted_game(11, seed=7)
    exact = ValueTable(v).and_or(method="working-set", tol=1e-9)
    splitting = ValueTable(v).and_or(method="splitting")
    monkeypatch.setattr(andor, "WORKING_SET_FIRST", 1e-6)  # the first working set gets one round
    auto = ValueTable(v).and_or()
    assert auto.solver.method.endswith("then the working set from its largest concepts")
    assert auto.solver.gap <= 1e-9 and auto.certificate.passed
    assert auto.l1_after == pytest.approx(exact.l1_after, rel=1e-9) and auto.l1_after <= splitting.l1_after

    def support(concepts, rel):
        both = np.concatenate([concepts.and_.values, concepts.or_.values])
        return int((np.abs(both) > rel * np.abs(both).max()).sum())

    assert support(auto, 1e-12) < support(splitting, 1e-12) / 4  # the splitting's tail of tiny concepts is gone
    seeded = support(splitting, 1e-4)
    monkeypatch.setattr(andor, "SEED_MAX", seeded - 1)
    assert ValueTable(v).and_or().solver.method.endswith("then restarted Halpern Peaceman–Rachford splitting")


def test_auto_beyond_the_working_sets_n_ends_at_the_exact_optimum_from_the_splittings_concepts(monkeypatch,
                                                                                                tmp_path):
    """Beyond the n where "auto" starts with the working set (lowered to 8 here, so n = 11 is beyond), it runs the
    splitting and then the working set from the splitting's largest concepts: the exact optimum (the working set's
    own, 1e-9: its tolerance), certified, on a vertex without the splitting's tail of tiny concepts. A run resumed
    from the splitting's checkpoint with less time than the first call took still gets there (the time left is this
    call's), and with more concepts than SEED_MAX the splitting's point stays, as alone."""
    pytest.importorskip("highspy")
    import harsanyi._andor as andor

    v = planted_game(11, seed=7)
    exact = ValueTable(v).and_or(method="working-set", tol=1e-9)
    splitting = ValueTable(v).and_or(method="splitting")
    monkeypatch.setattr(andor, "HIGHS_MAX_PLAYERS", 4)
    monkeypatch.setattr(andor, "WORKING_SET_MAX_PLAYERS", 8)
    path = tmp_path / "split.npz"
    auto = ValueTable(v).and_or(checkpoint=path)
    assert auto.solver.method == ("restarted Halpern Peaceman–Rachford splitting, then the working set from its "
                                  "largest concepts")
    assert auto.solver.gap <= 1e-9 and auto.solver.converged and auto.certificate.passed
    assert auto.l1_after == pytest.approx(exact.l1_after, rel=1e-9)

    def support(concepts, rel):
        both = np.concatenate([concepts.and_.values, concepts.or_.values])
        return int((np.abs(both) > rel * np.abs(both).max()).sum())

    assert support(auto, 1e-12) < support(splitting, 1e-12) / 4
    again = ValueTable(v).and_or(checkpoint=path, time_limit=auto.solver.seconds / 2)
    assert again.solver.method.startswith("restarted Halpern Peaceman–Rachford splitting, resumed from iteration ")
    assert again.solver.method.endswith("then the working set from its largest concepts")
    assert again.l1_after == pytest.approx(exact.l1_after, rel=1e-9)
    monkeypatch.setattr(andor, "SEED_MAX", support(splitting, 1e-4) - 1)
    alone = ValueTable(v).and_or()
    assert alone.solver.method == "restarted Halpern Peaceman–Rachford splitting"
    assert alone.l1_after == pytest.approx(splitting.l1_after, rel=1e-12)


def test_auto_keeps_the_splittings_point_where_the_working_set_after_it_is_no_better(monkeypatch):
    """Where the working set from the splitting's concepts ends above the splitting's L1 (forced here: as if time
    ran out in its first LP, leaving the plain dividends), "auto" keeps the splitting's point and its gap, the
    working set's lower bound (0) does not replace the splitting's, and the method says what happened."""
    pytest.importorskip("highspy")
    import harsanyi._andor as andor

    v = planted_game(9, seed=2)
    splitting = ValueTable(v).and_or(method="splitting")
    monkeypatch.setattr(andor, "HIGHS_MAX_PLAYERS", 4)
    monkeypatch.setattr(andor, "WORKING_SET_MAX_PLAYERS", 8)
    working_set = andor._working_set

    def cut(*args, **kwargs):
        y, e, report = working_set(*args, **{**kwargs, "max_iter": 1})
        dividends = subset_moebius(args[0])
        l1 = float(np.abs(dividends).sum())
        return 0 * y, 0 * e, dataclasses.replace(report, l1=l1, lower_bound=0.0, gap=1.0, seconds=0.25)

    monkeypatch.setattr(andor, "_working_set", cut)
    auto = ValueTable(v).and_or()
    assert auto.solver.method == ("restarted Halpern Peaceman–Rachford splitting, then the working set from its "
                                  "largest concepts (no lower L1 in its 0.25 s)")
    assert auto.l1_after == pytest.approx(splitting.l1_after, rel=1e-12)
    assert auto.solver.lower_bound == pytest.approx(splitting.solver.lower_bound, rel=1e-12)
    assert auto.solver.gap == pytest.approx(splitting.solver.gap, rel=1e-9) and auto.certificate.passed


def test_the_exact_solver_after_the_splitting_gets_its_time_and_what_the_limit_leaves():
    """``_after_splitting``: factor × the splitting's seconds (for a resumed run, every call's: a converged
    checkpoint resumed at once still gets what the whole run would), 1 s at least, capped by the time left; none
    where no time is left."""
    from harsanyi._andor import _after_splitting

    assert _after_splitting(30.0, None) == 30.0 and _after_splitting(30.0, None, 2.0) == 60.0
    assert _after_splitting(0.01, None) == 1.0 and _after_splitting(0.01, 0.5) == 0.5
    assert _after_splitting(30.0, 12.0, 2.0) == 12.0 and _after_splitting(30.0, -1.0) <= 0


def test_working_set_out_of_time_inside_its_first_lp_returns_the_dividends(monkeypatch):
    """Where HiGHS stops at the time limit inside the first LP (forced here), there is no LP solution: the result
    is the plain dividends (exact, so an upper bound), with lower bound 0 and no rounds."""
    pytest.importorskip("highspy")
    import harsanyi._activeset as activeset

    v = planted_game(6, seed=1)
    quiet = types.SimpleNamespace(update=lambda k: None, set_postfix_str=lambda *a, **kw: None)
    monkeypatch.setattr(activeset._WorkingLP, "solve", lambda self, size, time_limit=None: None)
    (x, y), objective, lower, stats = activeset.solve_working_set(v, 0.01, tol=1e-9, max_rounds=100, time_limit=1.0,
                                                                  bar=quiet)
    np.testing.assert_allclose(x, subset_moebius(v), rtol=0, atol=1e-12)
    assert not y.any() and objective == pytest.approx(np.abs(subset_moebius(v)).sum(), rel=1e-12)
    assert lower == 0.0 and stats["iterations"] == 0 and stats["gap"] == 1.0


def test_highs_time_limit_counts_from_now_not_from_the_instances_first_run():
    """HiGHS (before 2.0) compares its time limit with the run time of every run of the instance so far. After
    eight runs, a limit of half their total would stop a ninth run at once if it were passed as is; set by
    ``_time_limit`` it counts from now, and the ninth run (about an eighth of the total) finishes."""
    highspy = pytest.importorskip("highspy")
    from harsanyi._activeset import _csr, _silent_highs, _time_limit

    rng = np.random.default_rng(0)
    m, k = 300, 600
    a = np.where(rng.random((m, k)) < 0.3, rng.random((m, k)), 0.0)
    highs = _silent_highs(highspy)
    highs.addCols(k, -rng.random(k), np.zeros(k), np.ones(k), 0, np.zeros(k, np.int32), np.zeros(0, np.int32),
                  np.zeros(0))
    starts, index, values = _csr(a)
    highs.addRows(m, np.full(m, -highspy.kHighsInf), np.full(m, 5.0), len(index), starts, index, values)
    for _ in range(8):
        highs.clearSolver()
        highs.run()
    _time_limit(highs, highs.getRunTime() / 2)
    highs.clearSolver()
    highs.run()
    assert highs.getModelStatus() == highspy.HighsModelStatus.kOptimal
    _time_limit(highs, None)
    assert highs.getOptionValue("time_limit")[1] == highspy.kHighsInf


def test_match_inside_corrects_only_the_coalitions_outside_the_box():
    """One coalition outside [−τ, τ] and every other well inside: only its own AND concept moves (μ of the excess,
    the working set's former repair, moves all 2^(n−|S|) supersets); a random residual ends inside the box on every
    coalition (1e-12: rounding of the transforms), per model for a stack of two with their own τ."""
    from harsanyi._andor import match_inside

    n, tau = 6, 0.5
    residual = np.zeros(1 << n)
    residual[0b000101] = 0.8
    delta = match_inside(residual, tau)
    assert np.flatnonzero(delta).tolist() == [0b000101] and delta[0b000101] == pytest.approx(-0.3, abs=1e-15)
    assert np.count_nonzero(subset_moebius(residual - np.clip(residual, -tau, tau))) == 1 << (n - 2)
    rng = np.random.default_rng(3)
    stack, taus = rng.normal(size=(2, 1 << n)), np.array([[0.3], [0.7]])
    fixed = stack + subset_zeta(match_inside(stack, taus))
    assert (np.abs(fixed) <= taus + 1e-12).all()


def test_the_working_sets_start_from_the_splitting(monkeypatch):
    """_support: the concepts above 1e-4 of the largest and the coalitions within 1 % of the noise bound, the
    nearest first (SEED_MAX of them at most); none where the concepts are more than SEED_MAX, or where τ = 0 puts
    every coalition at the bound."""
    import harsanyi._andor as andor
    from harsanyi._andor import _DividendProblem, _support

    n, tau = 4, 0.5
    problem = _DividendProblem(np.zeros(1 << n), tau)
    y = np.zeros(1 << n)
    y[[3, 12]] = [1.0, -1e-5]  # an OR concept, and one below 1e-4 of the largest
    e = np.zeros(1 << n)
    e[[1, 2, 5, 9]] = [-0.499, 0.5, 0.49, -0.4]  # the last two further than 1 % from τ
    x = andor.to_numpy(problem.and_concepts(y, e))
    and_masks, or_masks, rows = _support(problem, y, e, tau)
    top = max(np.abs(x).max(), 1.0)  # the largest concept, AND or OR (y's largest is 1)
    np.testing.assert_array_equal(and_masks, np.flatnonzero(np.abs(x) > 1e-4 * top))
    assert or_masks.tolist() == [3] and rows.tolist() == [2, 1]  # the nearest to the bound first
    monkeypatch.setattr(andor, "SEED_MAX", 1)
    assert _support(problem, y, e, tau) is None  # more than one concept
    assert _support(_DividendProblem(np.zeros(1 << n), 0.0), 0 * y, 0 * e, 0.0) is None


def test_working_set_stops_after_the_given_number_of_rounds_without_a_better_l1(monkeypatch):
    """A table of noise has no sparse decomposition, so the working set's L1 stops improving at once while most
    concepts stay priced in: with stall_rounds = 3 it stops at the first run of 3 rounds that did not lower the best
    L1 (by 1e-6 relative, the solver's own threshold), and "auto" then hands over to the splitting and says why. A plateau
    alone is not a stall: where few concepts are left to price in (the share is set to 100 % here), it goes on."""
    pytest.importorskip("highspy")
    import harsanyi._activeset as activeset
    import harsanyi._andor as andor
    from harsanyi._activeset import solve_working_set

    v = np.random.default_rng(0).normal(size=1 << 11)
    tau = 0.02 * abs(v[-1] - v[0])
    bar = types.SimpleNamespace(update=lambda k: None, set_postfix_str=lambda *a, **kw: None)
    _, _, _, stats = solve_working_set(v, tau, tol=1e-6, max_rounds=1000, time_limit=None, bar=bar, stall_rounds=3)
    best = np.array([h[1] for h in stats["history"]])
    better = np.r_[True, best[1:] < best[:-1] * (1 - 1e-6)]
    last_better = np.flatnonzero(better)
    assert stats["stalled"] and len(best) - 1 - last_better[-1] == 3
    assert np.all(np.diff(last_better) <= 3)  # no earlier run of 3 rounds without a better L1
    monkeypatch.setattr(andor, "WORKING_SET_STALL", 3)
    auto = ValueTable(v).and_or(max_iter=64)
    assert auto.solver.method.endswith(
        "stalled: no better L1 in 3 rounds, then restarted Halpern Peaceman–Rachford splitting")
    assert auto.certificate.passed
    assert not solve_working_set(v, tau, tol=1e-6, max_rounds=len(best), time_limit=None, bar=bar)[3]["stalled"]
    monkeypatch.setattr(activeset, "_STALLED_PRICED", 1.0)
    longer = solve_working_set(v, tau, tol=1e-6, max_rounds=len(best) + 3, time_limit=None, bar=bar, stall_rounds=3)
    assert not longer[3]["stalled"] and longer[3]["iterations"] == len(best) + 3


def test_highs_stops_with_a_clear_error_at_its_time_limit():
    from harsanyi import shared_concepts

    pytest.importorskip("scipy")
    with pytest.raises(HarsanyiError, match=r"HiGHS stopped at time_limit=1e-06 s .*method=\"splitting\""):
        ValueTable(np.random.default_rng(1).normal(size=1 << 9)).and_or(method="highs", time_limit=1e-6)
    tables = [ValueTable(np.random.default_rng(seed).normal(size=1 << 8)) for seed in (1, 2)]
    with pytest.raises(HarsanyiError, match=r"HiGHS stopped at time_limit=1e-06 s .*shared.*method=\"splitting\""):
        shared_concepts(tables, method="highs", time_limit=1e-6, compare=False)


@pytest.mark.parametrize("weight", [1.0, 0.01, 3.0])
@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_splitting_projects_exactly_onto_the_graphs_of_the_and_and_or_transforms(n, weight, seed):
    """The splitting's one linear step, the nearest point (p, q, μp, Ωq) to any (c_p, c_q, d_a, d_o) in the metric
    that weighs the value tables σ, against the normal equations x = (σI + KᵀK)⁻¹(σc + Kᵀd) with K the dense μ and
    Ω, on NumPy and torch. 1e-10: σI + KᵀK's condition number is below 2.6²ⁿ/σ ≈ 1.4·10⁶ at n = 5 and σ = 0.01,
    times float64's 2.2e-16 and the O(2ⁿ) sums."""
    from harsanyi._splitting import _GraphProjection

    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    eye = np.eye(1 << n)
    mu, omega = (np.stack([f(e) for e in eye], axis=1) for f in (subset_moebius, or_transform))
    r = rng.normal(size=(4, 1 << n))
    p = np.linalg.solve(weight * eye + mu.T @ mu, weight * r[0] + mu.T @ r[2])
    q = np.linalg.solve(weight * eye + omega.T @ omega, weight * r[1] + omega.T @ r[3])
    for backend in (np.asarray, torch.from_numpy):
        project = _GraphProjection(backend(rng.normal(size=1 << n)), weight)
        got = [np.asarray(part) for part in project(*(backend(row.copy()) for row in r))]
        for part, expected in zip(got, (p, q, mu @ p, omega @ q)):
            np.testing.assert_allclose(part, expected, atol=1e-10)


@pytest.mark.parametrize("game, rho_range, weight", [("random", 20.0, 1.0), ("random", 8.0, 4.0),
                                                     ("planted", 64.0, 0.06), ("planted", 512.0, 0.004)])
def test_splitting_reaches_the_optimum_in_any_metric(game, rho_range, weight, monkeypatch):
    """The metric of the splitting (ρ·|v(N) − v(∅)| and the value tables' weight σ, ``_parameters``: plain up to
    n = 8, ρ large and σ small beyond) changes its path, not its end: on a random n = 6 game and the planted n = 8
    one, each metric converges to the certified 1e-3 gap, its L1 within that gap of HiGHS's optimum and its lower
    bound below it (1e-9: HiGHS's own accuracy; weak duality holds for any dual estimate, so in every metric).
    The far metrics go with the planted game: on the random n = 6 one, ρ·range = 512 and σ = 0.004 do not converge
    in 50 000 iterations, which is why ``_parameters`` keeps small games plain. At the end the two dual estimates
    (``duals``) give the same bound within 1e-2 (both near the one dual optimum at a 1e-3 gap): a slab estimate
    left unscaled by σ = 4 would give a quarter of it."""
    import harsanyi._splitting as splitting

    bounds, duals = [], splitting._Splitting.duals

    def recorded(split):
        estimates = duals(split)
        bounds.append([split.problem.dual_bound(w) for w in estimates])
        return estimates

    monkeypatch.setattr(splitting, "_parameters", lambda n, budget=None: (rho_range, weight))
    monkeypatch.setattr(splitting._Splitting, "duals", recorded)
    v = np.random.default_rng(11).normal(size=1 << 6) if game == "random" else planted_game(8, seed=3)
    concepts = ValueTable(v).and_or(tol=1e-3, method="splitting", max_iter=50_000)
    optimum = lp_optimum(v, concepts.tau)
    assert concepts.solver.converged
    assert optimum * (1 - 1e-9) <= concepts.l1_after <= optimum / (1 - 1e-3) + 1e-9
    assert concepts.solver.lower_bound <= optimum * (1 + 1e-9)
    assert bounds[-1][1] == pytest.approx(bounds[-1][0], rel=1e-2)


def test_splitting_metric_follows_the_number_of_players():
    """Plain (ρ·range = 20, σ = 1) up to n = 8; from there ρ·range doubles (from n = 10) and σ falls by 2^1.5 with
    each player, so that ρ·range·σ halves every two (4 at n = 12, 1 at n = 16, 0.25 at n = 20)."""
    from harsanyi._splitting import _parameters

    assert [_parameters(n) for n in (1, 5, 8)] == [(20.0, 1.0)] * 3
    for n, product in ((12, 4.0), (16, 1.0), (20, 0.25)):
        rho_range, weight = _parameters(n)
        assert rho_range == 2.0 ** (n - 5) and rho_range * weight == pytest.approx(product, rel=1e-12)


def test_splitting_metric_follows_the_time_limit(monkeypatch, tmp_path):
    """A time limit that leaves fewer iterations than the weighted metric needs to pay (7·2^(n/2), 224 at n = 10;
    the budget is the limit over one timed step, here pinned at 10 ms, and at most ``max_iter``) keeps the plain
    metric; a longer limit, no limit and a checkpointed run (whose identity holds the metric) take the weighted
    one."""
    import harsanyi._splitting as splitting
    from harsanyi._splitting import _parameters

    assert _parameters(16, budget=1_700) == (20.0, 1.0) and _parameters(16, budget=1_800) == _parameters(16)
    metrics, init = [], splitting._GraphProjection.__init__

    def recorded(self, v, weight=1.0):  # the projection is what a metric changes
        metrics.append(weight)
        init(self, v, weight)

    monkeypatch.setattr(splitting, "_step_seconds", lambda split: 0.01)
    monkeypatch.setattr(splitting._GraphProjection, "__init__", recorded)
    table = ValueTable(np.random.default_rng(5).normal(size=1 << 10))
    for limit, checkpoint, expected in ((1.0, None, 1.0), (10.0, None, 0.25), (None, None, 0.25),
                                        (1.0, tmp_path / "run.npz", 0.25)):
        table.and_or(tol=1e-3, method="splitting", max_iter=300, time_limit=limit, checkpoint=checkpoint)
        assert metrics[-1] == expected, (limit, checkpoint)


@pytest.mark.parametrize("method", ["splitting", "pdhg"])
def test_a_time_limit_lifts_the_default_iteration_cap(monkeypatch, method):
    """max_iter=None caps a run without a time limit at MAX_ITER (here pinned at 32) and leaves a run with one to
    its limit (30 s: this n = 8 game converges to the 1e-3 gap in well under a second, after more than 32
    iterations); an explicit max_iter holds either way."""
    import harsanyi._andor as andor

    monkeypatch.setattr(andor, "MAX_ITER", 32)
    table = ValueTable(planted_game(8, seed=3))
    capped = table.and_or(tol=1e-3, method=method)
    assert capped.solver.iterations == 32 and not capped.solver.converged
    limited = table.and_or(tol=1e-3, method=method, time_limit=30.0)
    assert limited.solver.iterations > 32 and limited.solver.converged
    assert table.and_or(tol=1e-3, method=method, time_limit=30.0, max_iter=16).solver.iterations == 16


def test_splitting_never_returns_worse_than_the_plain_dividends(monkeypatch):
    """Early iterates of a far metric repair to more than the Harsanyi dividends (on the planted n = 8 game with
    ρ·range = 4 096 and σ = 1e-4, the 64th to L1 149.0 against the dividends' 131.5, the size-by-size repair of no
    concepts to 139.3): the run starts from the better of the two and returns it then, with its certificate (1e-12:
    the dividends, scaled into the solver's unit and back); a run that finds better returns better."""
    import harsanyi._splitting as splitting

    monkeypatch.setattr(splitting, "_parameters", lambda n, budget=None: (4096.0, 1e-4))
    v = planted_game(8, seed=3)
    for max_iter in (4, 64):
        concepts = ValueTable(v).and_or(tol=1e-3, method="splitting", max_iter=max_iter)
        assert concepts.l1_after == pytest.approx(concepts.l1_before, rel=1e-12) and concepts.certificate.passed
    monkeypatch.setattr(splitting, "_parameters", lambda n, budget=None: (512.0, 0.004))
    assert ValueTable(v).and_or(tol=1e-3, method="splitting", max_iter=64).l1_after < 0.5 * concepts.l1_before


def test_splitting_on_two_threads_follows_the_same_iterates_as_on_one(monkeypatch):
    """With ``_THREADED_FROM`` at 12, n = 12 runs the AND and OR halves of each step on two threads; at 13, the
    same steps run one after the other. The same operations on the same numbers: equal to the last bits
    (1e-12 relative: the BLAS may split its products differently when it has more threads)."""
    import harsanyi._splitting as splitting

    if splitting._cores() < 2:
        pytest.skip("one core: both runs take the one-thread path")
    v = np.random.default_rng(3).normal(size=1 << 12).cumsum()
    runs = []
    for threaded_from in (12, 13):
        monkeypatch.setattr(splitting, "_THREADED_FROM", threaded_from)
        runs.append(ValueTable(v).and_or(method="splitting", max_iter=96, progress=False))
    (a, b) = runs
    assert a.solver.iterations == b.solver.iterations == 96
    np.testing.assert_allclose(a.solver.l1, b.solver.l1, rtol=1e-12)
    np.testing.assert_allclose(a.and_.values, b.and_.values, rtol=1e-12, atol=1e-12 * np.abs(v).max())


def test_splitting_decomposition_is_a_repaired_match_of_the_graph_point(seed):
    """The splitting's upper bound after a few steps: its (x, y) match v within τ on every coalition (plus the
    rounding of ζx + Ry, ≤ 1e-9 here), y is 0 on ≤ 1 player, the L1 it reports is theirs, and x differs from the
    graph point's AND concepts (with the OR ones of ≤ 1 player moved in) only on coalitions that contain one where
    that point's match was off by more than τ (a correction moves the match of its supersets only)."""
    from harsanyi._andor import _DividendProblem
    from harsanyi._splitting import _Splitting

    v = np.random.default_rng(seed).normal(size=1 << 7).cumsum()
    tau = 0.02 * abs(v[-1] - v[0])
    split = _Splitting(_DividendProblem(v, tau), 20.0 / abs(v[-1] - v[0]))
    for _ in range(40):
        split.begin()
        split.half(0, 0.5)
        split.half(1, 0.5)
    x, y, l1 = split.decomposition()
    assert np.abs(subset_zeta(x) + or_reconstruct(y) - v).max() <= tau + 1e-9
    small = np.bitwise_count(np.arange(1 << 7)) <= 1
    assert not y[small].any()
    assert l1 == pytest.approx(np.abs(x).sum() + np.abs(y).sum(), rel=1e-12)
    w_a, w_o = split.w[2], split.w[3]
    start = w_a + w_o * small
    off = np.abs(subset_zeta(start) + or_reconstruct(w_o * ~small) - v) > tau
    above = subset_zeta(off.astype(float)) > 0  # S ⊇ some coalition that was off
    assert off.any() and (x != start).any()  # a test that exercises the repair
    np.testing.assert_array_equal(x[~above], start[~above])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dual_bound_of_any_sign_vector_is_below_the_optimum(seed):
    """Weak duality for the scaling in ``_DividendProblem.dual_bound``: any w, in the box or far outside it (the
    splitting passes unclipped slab multipliers), scaled by max(1, max|w|, max|K̃ᵀw|), bounds the LP optimum from
    below. 1e-9: HiGHS's own accuracy."""
    from harsanyi._andor import _DividendProblem

    rng = np.random.default_rng(seed)
    v = rng.normal(size=1 << 5) + 10.0  # v(∅) ≈ 10: a w on ∅ alone has K̃ᵀw = 0 and dual value ≈ 10·w(∅)
    tau = 0.02 * abs(v[-1] - v[0])
    optimum = lp_optimum(v, tau)
    problem = _DividendProblem(v, tau)
    on_empty = np.zeros(1 << 5)
    on_empty[0] = 30.0
    for w in [scale * rng.normal(size=1 << 5) for scale in (0.5, 1.0, 3.0, 30.0)] + [on_empty, -on_empty]:
        assert problem.dual_bound(w) <= optimum + 1e-9


def _walk_game(n, seed):
    return np.random.default_rng(seed).normal(size=1 << n).cumsum()


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_splitting_resumed_from_its_checkpoint_takes_the_same_iterates(backend, tmp_path, monkeypatch):
    """A run saved at every check (``_SAVE_SECONDS`` = 0) and interrupted mid-step at iteration 300 resumes from its
    last save (iteration 288, between two steps) and ends where an uninterrupted run of the same 512 iterations
    ends: the same concepts to the last bit, the same bounds, the same history. Nothing is left half-written."""
    import harsanyi._splitting as splitting

    v = _walk_game(9, seed=4)
    if backend == "torch":
        torch = pytest.importorskip("torch")
        v = torch.tensor(v)
    args = dict(method="splitting", max_iter=512, tol=1e-9, progress=False)
    straight = ValueTable(v).and_or(**args)
    path = tmp_path / "run.npz"
    monkeypatch.setattr(splitting, "_SAVE_SECONDS", 0.0)
    begin, steps = splitting._Splitting.begin, []

    def interrupted(self):
        steps.append(1)
        if len(steps) == 300:
            raise KeyboardInterrupt
        begin(self)

    monkeypatch.setattr(splitting._Splitting, "begin", interrupted)
    with pytest.raises(KeyboardInterrupt):
        ValueTable(v).and_or(checkpoint=path, **args)
    monkeypatch.setattr(splitting._Splitting, "begin", begin)
    resumed = ValueTable(v).and_or(checkpoint=str(path), **args)
    assert resumed.solver.method.endswith("resumed from iteration 288")
    assert resumed.solver.iterations == straight.solver.iterations == 512
    np.testing.assert_array_equal(resumed.and_.values, straight.and_.values)
    np.testing.assert_array_equal(resumed.or_.values, straight.or_.values)
    assert (resumed.solver.l1, resumed.solver.lower_bound) == (straight.solver.l1, straight.solver.lower_bound)
    assert resumed.solver.history == straight.solver.history
    assert [p.name for p in tmp_path.iterdir()] == ["run.npz"]
    # a finished run called again with the same max_iter makes no further iteration
    again = ValueTable(v).and_or(checkpoint=path, **args)
    assert again.solver.iterations == 512 and again.solver.method.endswith("resumed from iteration 512")
    np.testing.assert_array_equal(again.and_.values, straight.and_.values)


def test_splitting_continues_a_run_that_stopped_at_its_iteration_limit(tmp_path):
    """256 iterations, then the same checkpoint with max_iter = 512: the 512 iterations of one run (and a better
    certified gap than the first 256 gave)."""
    v = _walk_game(8, seed=6)
    args = dict(method="splitting", tol=1e-9, progress=False)
    first = ValueTable(v).and_or(max_iter=256, checkpoint=tmp_path / "run.npz", **args)
    more = ValueTable(v).and_or(max_iter=512, checkpoint=tmp_path / "run.npz", **args)
    straight = ValueTable(v).and_or(max_iter=512, **args)
    np.testing.assert_array_equal(more.and_.values, straight.and_.values)
    assert more.solver.history[: len(first.solver.history)] == first.solver.history
    assert more.solver.gap < first.solver.gap
    # a run already within the tolerance asked for is not run on, whatever max_iter allows
    done = ValueTable(v).and_or(max_iter=1024, checkpoint=tmp_path / "run.npz", **{**args, "tol": 0.5})
    assert more.solver.gap < 0.5 and done.solver.iterations == 512 and done.solver.converged
    np.testing.assert_array_equal(done.and_.values, more.and_.values)


def test_checkpoint_errors_and_an_interrupted_write(tmp_path, monkeypatch):
    """A checkpoint of another table or τ, an unreadable file, a method that keeps no state and a path in a missing
    directory are refused before any work, saying how to fix it; a write that fails warns, leaves the previous
    checkpoint whole and no partial file, and the run still returns its result."""
    import harsanyi._splitting as splitting
    from harsanyi import CacheError

    v = _walk_game(7, seed=1)
    path = tmp_path / "run.npz"
    args = dict(method="splitting", max_iter=64, progress=False)
    ValueTable(v).and_or(checkpoint=path, **args)
    saved = path.read_bytes()
    with pytest.raises(CacheError, match=r"another problem: its table differs.*delete it to start afresh"):
        ValueTable(v + 1.0).and_or(checkpoint=path, **args)
    with pytest.raises(CacheError, match=r"its tau differs"):
        ValueTable(v).and_or(checkpoint=path, qthres=0.05, **args)
    with pytest.raises(HarsanyiValueError, match=r"checkpoint= saves and resumes the splitting.*'highs'"):
        ValueTable(v).and_or(checkpoint=path, method="auto")
    with pytest.raises(HarsanyiValueError, match=r"writable directory.*Create the directory first"):
        ValueTable(v).and_or(checkpoint=tmp_path / "missing" / "run.npz", **args)
    with pytest.raises(HarsanyiValueError, match=r"writable directory"):
        ValueTable(v).and_or(checkpoint=tmp_path, **args)
    assert path.read_bytes() == saved

    def failing_savez(fh, **arrays):
        fh.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(splitting.np, "savez", failing_savez)
    with pytest.warns(RuntimeWarning, match=r"Could not write the AND-OR checkpoint .*disk full.*goes on"):
        concepts = ValueTable(v).and_or(checkpoint=path, method="splitting", max_iter=128, progress=False)
    assert concepts.solver.iterations == 128 and concepts.certificate.passed
    assert path.read_bytes() == saved and sorted(p.name for p in tmp_path.iterdir()) == ["run.npz"]
    monkeypatch.undo()
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(CacheError, match=r"Cannot read the AND-OR checkpoint .*Delete it to start afresh"):
        ValueTable(v).and_or(checkpoint=path, **args)


def test_explain_keeps_the_splitting_checkpoint_in_its_cache(tmp_path):
    """explain(cache=DIR) at n = 16 (where "auto" takes the splitting): a second call goes on with the AND-OR run
    from the first one's 64 iterations instead of starting afresh; below that no checkpoint is written."""
    from harsanyi import Game, explain

    weights = np.random.default_rng(2).normal(size=16)
    game = Game.from_function(lambda masks: np.tanh(masks @ weights) + (masks[:, 0] & masks[:, 1]), n_players=16)
    first = explain(game, cache=tmp_path / "run", max_iter=64, progress=False)
    assert (tmp_path / "run" / "and-or-checkpoint.npz").exists() and first.solver["iterations"] == 64
    second = explain(game, cache=tmp_path / "run", max_iter=128, progress=False)
    assert second.solver["iterations"] == 128
    assert second.solver["method"].endswith("resumed from iteration 64")
    small = Game.from_function(lambda masks: masks.sum(axis=1) ** 2.0, n_players=6)
    explain(small, cache=tmp_path / "small", progress=False)
    assert not (tmp_path / "small" / "and-or-checkpoint.npz").exists()
