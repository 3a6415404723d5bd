"""Concepts across inputs (frequency, discrimination, dictionary coverage, model agreement) against their set
definitions, on closed-form cases, and the errors for bad input. The statistics are counts and ratios of counts,
so every comparison is exact (or to 1e-12 for means of ratios)."""

from __future__ import annotations

import numpy as np
import pytest

from harsanyi import ConceptStatistics, HarsanyiValueError, ValueTable, concept_statistics


def sparse_decomposition(n: int, rng, density: float = 0.3, with_or: bool = True):
    """Random AND (and OR) concepts, most of them zero; a few coalitions shared by all inputs so that the
    statistics have something to count."""
    shape = 1 << n
    and_ = np.where(rng.random(shape) < density, rng.normal(size=shape), 0.0)
    and_[[1, 3, 6]] = rng.choice([-1.0, 1.0], 3) * rng.uniform(2, 3, 3)
    if not with_or:
        return and_, None
    or_ = np.where(rng.random(shape) < density, rng.normal(size=shape), 0.0)
    or_[[mask for mask in range(shape) if mask.bit_count() <= 1]] = 0.0  # OR concepts have ≥ 2 players
    return and_, or_


def salient_sets(pairs, kappa, pooled=False):
    """Ω_x as {(is_or, mask): sign} by the definition, one coalition at a time."""
    tops = [max(np.abs(a[1:]).max(), 0.0 if o is None else np.abs(o[1:]).max()) for a, o in pairs]
    sets = []
    for (a, o), top in zip(pairs, tops):
        threshold = kappa * (max(tops) if pooled else top)
        omega = {}
        for kind, values in ((0, a), (1, o)):
            if values is None:
                continue
            for mask in range(1, values.size):
                if abs(values[mask]) >= threshold:
                    omega[(kind, mask)] = int(np.sign(values[mask]))
        sets.append(omega)
    return sets


def brute_dictionary(sets):
    """Concepts by frequency descending, ties AND before OR, then by mask."""
    counts = {}
    for omega in sets:
        for key in omega:
            counts[key] = counts.get(key, 0) + 1
    return sorted(counts, key=lambda key: (-counts[key], key[0], key[1])), counts


@pytest.mark.parametrize("pooled", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_statistics_match_their_set_definitions(seed, pooled):
    rng = np.random.default_rng(seed)
    n, kappa = 5, 0.2
    pairs = [sparse_decomposition(n, rng) for _ in range(12)]
    stats = concept_statistics(pairs, kappa=kappa, pooled=pooled)
    sets = salient_sets(pairs, kappa, pooled)
    order, counts = brute_dictionary(sets)

    assert stats.n_inputs == 12 and stats.n_players == n and len(stats) == len(order)
    assert stats.salient_counts.tolist() == [len(omega) for omega in sets]
    assert [(int(key) >> n, int(key) & 31) for key in stats.keys] == order
    for j, key in enumerate(order):
        signs = [omega[key] for omega in sets if key in omega]
        assert stats.positive[j] == signs.count(1) and stats.negative[j] == signs.count(-1)
        assert stats.frequency[j] == counts[key] / 12
        assert stats.discrimination[j] == max(signs.count(1), signs.count(-1)) / len(signs)

    top = stats.top(3)
    assert [(c.kind == "OR", c.mask) for c in top] == order[:3]
    assert top[0].players == tuple(i for i in range(n) if order[0][1] >> i & 1)

    # coverage of the dictionary D_k on the same inputs and on held-out ones
    held = [sparse_decomposition(n, rng) for _ in range(7)]
    held_sets = salient_sets(held, kappa, pooled)
    held_stats = concept_statistics(held, kappa=kappa, pooled=pooled)
    for target, target_sets in ((None, sets), (held_stats, held_sets)):
        rho = stats.coverage(on=target)
        assert rho.shape == (len(order),)
        for k in (1, 2, 5, len(order)):
            dictionary = set(order[:k])
            expected = np.mean([len(dictionary & omega.keys()) / len(omega) for omega in target_sets if omega])
            assert rho[k - 1] == pytest.approx(expected, abs=1e-12)
        assert np.array_equal(stats.coverage(4, on=target), rho[:4])


def test_agreement_matches_its_definition_and_chance():
    rng = np.random.default_rng(5)
    n, kappa = 5, 0.15
    first = [sparse_decomposition(n, rng) for _ in range(9)]
    # the second model: the first one's concepts with noise and some signs flipped, so that they overlap in part
    second = [(a + rng.normal(scale=0.5, size=a.size) * (a != 0), -o) for a, o in first]
    one, two = concept_statistics(first, kappa=kappa), concept_statistics(second, kappa=kappa)
    agreement = one.agreement(two)
    sets_one, sets_two = salient_sets(first, kappa), salient_sets(second, kappa)
    possible = (2 ** n - 1) + (2 ** n - 1 - n)
    assert agreement.possible == possible
    for x, (a, b) in enumerate(zip(sets_one, sets_two)):
        both = a.keys() & b.keys()
        assert agreement.share[x] == pytest.approx(len(both) / len(a), abs=1e-15)
        assert agreement.chance[x] == pytest.approx(len(b) / possible, abs=1e-15)
        same = [a[key] == b[key] for key in both]
        if same:
            assert agreement.same_sign[x] == pytest.approx(np.mean(same))
        else:
            assert np.isnan(agreement.same_sign[x])
    assert agreement.mean == pytest.approx(np.mean(agreement.share))
    assert agreement.lift == pytest.approx(agreement.mean / np.mean(agreement.chance))
    # a model agrees with itself on everything, with every sign
    self_agreement = one.agreement(one)
    assert np.all(self_agreement.share == 1.0) and np.all(self_agreement.same_sign == 1.0)
    # printed as one line with the three numbers
    sign = np.nanmean(agreement.same_sign)
    assert repr(agreement) == (f"Agreement(9 inputs: {100 * agreement.mean:.3g} % of the salient concepts found by the "
                               f"other model too, {agreement.lift:.3g}× chance; {100 * sign:.3g} % of those with the "
                               f"same sign)")


def test_closed_forms_identical_inputs_and_flipped_signs():
    """The same decomposition on every input: each salient concept has frequency 1 and β = 1, and the dictionary
    of the k most frequent covers k / |Ω| of every input. Flipping the sign on half the inputs leaves the frequency
    and halves β."""
    rng = np.random.default_rng(3)
    a, o = sparse_decomposition(4, rng)
    stats = concept_statistics([(a, o)] * 6, kappa=0.1)
    size = len(salient_sets([(a, o)], 0.1)[0])
    assert np.all(stats.frequency == 1.0) and np.all(stats.discrimination == 1.0)
    assert np.allclose(stats.coverage(), np.arange(1, size + 1) / size, rtol=0, atol=1e-15)
    flipped = concept_statistics([(a, o)] * 3 + [(-a, -o)] * 3, kappa=0.1)
    assert np.all(flipped.frequency == 1.0) and np.all(flipped.discrimination == 0.5)
    report = flipped.discrimination_by_frequency()
    assert report["count"].tolist() == [0, 0, 0, 0, size] and report["mean"][-1] == 0.5
    assert report["weighted"] == 0.5 and np.isnan(report["mean"][0])


def test_coverage_of_inputs_with_one_and_two_concepts():
    """Input 1 has the concept {0}, input 2 has {0} and {1}: the dictionary is [{0}, {1}], ρ(1) = (1/1 + 1/2) / 2."""
    one, two = np.zeros(4), np.zeros(4)
    one[1] = 1.0
    two[[1, 2]] = [1.0, -1.0]
    stats = concept_statistics([(one, None), (two, None)])
    assert stats.keys.tolist() == [1, 2] and stats.coverage().tolist() == [0.75, 1.0]
    assert stats.coverage(per_input=True).tolist() == [[1.0, 1.0], [0.5, 1.0]]
    with_empty = concept_statistics([(one, None), (np.zeros(4), None)])
    shares = with_empty.coverage(per_input=True)
    assert shares[0].tolist() == [1.0] and np.isnan(shares[1]).all() and with_empty.coverage().tolist() == [1.0]
    assert stats.frequency.tolist() == [1.0, 0.5] and stats.negative.tolist() == [0, 1]
    assert stats.ceiling(3).tolist() == [0.75, 1.0, 1.0]  # (1/1 + 1/2) / 2, then both inputs whole


def test_discrimination_by_frequency_bins_and_weights():
    rng = np.random.default_rng(8)
    pairs = [sparse_decomposition(5, rng) for _ in range(10)]
    stats = concept_statistics(pairs, kappa=0.2)
    report = stats.discrimination_by_frequency((0.0, 0.5, 1.0))
    low = stats.frequency < 0.5
    assert report["count"].tolist() == [int(low.sum()), int((~low).sum())]
    assert report["mean"][0] == pytest.approx(stats.discrimination[low].mean())
    assert report["mean"][1] == pytest.approx(stats.discrimination[~low].mean())
    f, beta = stats.frequency, stats.discrimination
    assert report["weighted"] == pytest.approx((f * beta).sum() / f.sum())
    # random signs: the mean of max(x, m − x) / m over all 2^m sign patterns of a concept seen m times
    chance = stats.discrimination_by_chance
    for m in np.unique(stats.positive + stats.negative):
        patterns = (np.arange(1 << m)[:, None] >> np.arange(m)) & 1
        x = patterns.sum(axis=1)
        assert np.allclose(chance[stats.positive + stats.negative == m], np.mean(np.maximum(x, m - x)) / m,
                           rtol=1e-12)
    assert report["chance"][0] == pytest.approx(chance[low].mean())
    assert report["weighted_chance"] == pytest.approx((f * chance).sum() / f.sum())
    assert chance.min() >= 0.5 and np.all(chance[(stats.positive + stats.negative) == 1] == 1.0)


def test_results_of_the_library_as_inputs():
    """Concepts from and_or, the dividends as Interactions (AND only: 2ⁿ − 1 possible concepts) and player names."""
    rng = np.random.default_rng(11)
    names = ["a", "b", "c", "d"]
    tables = [ValueTable(rng.normal(size=16), player_names=names) for _ in range(4)]
    concepts = [t.and_or() for t in tables]
    stats = concept_statistics(concepts)
    direct = concept_statistics([(c.and_.values, c.or_.values) for c in concepts])
    assert np.array_equal(stats.keys, direct.keys) and stats.player_names == tuple(names)
    assert all(set(c.players) <= set(names) for c in stats.top(5))
    dividends = concept_statistics([t.harsanyi() for t in tables])
    assert np.all(dividends.keys < 16)  # no OR concepts
    assert dividends.agreement(dividends).possible == 15
    assert "4 inputs, 4 players" in repr(stats)


def test_permuting_players_permutes_the_concepts():
    """Relabelling the players (the same permutation on every input) maps each concept to its relabelled
    coalition with the same counts."""
    rng = np.random.default_rng(4)
    n = 4
    pairs = [sparse_decomposition(n, rng) for _ in range(8)]
    perm = rng.permutation(n)
    masks = np.arange(1 << n)
    moved = np.zeros_like(masks)
    for i in range(n):
        moved |= ((masks >> i) & 1) << perm[i]
    relabelled = []
    for a, o in pairs:
        a2, o2 = np.empty_like(a), np.empty_like(o)
        a2[moved], o2[moved] = a, o
        relabelled.append((a2, o2))
    before, after = concept_statistics(pairs, kappa=0.2), concept_statistics(relabelled, kappa=0.2)
    kind = (1 << n)
    table_before = {(int(k) & kind, int(moved[int(k) & (kind - 1)])): (p, m)
                    for k, p, m in zip(before.keys, before.positive, before.negative)}
    table_after = {(int(k) & kind, int(k) & (kind - 1)): (p, m)
                   for k, p, m in zip(after.keys, after.positive, after.negative)}
    assert table_before == table_after


def test_errors_say_what_was_expected():
    rng = np.random.default_rng(0)
    pair = sparse_decomposition(4, rng)
    with pytest.raises(HarsanyiValueError, match="at least one input"):
        concept_statistics([])
    with pytest.raises(HarsanyiValueError, match="kappa in"):
        concept_statistics([pair], kappa=0)
    with pytest.raises(HarsanyiValueError, match="item 1 is str"):
        concept_statistics([pair, "x"])
    with pytest.raises(HarsanyiValueError, match="input 0 has 4 and input 1 has 5"):
        concept_statistics([pair, sparse_decomposition(5, rng)])
    with pytest.raises(HarsanyiValueError, match="same players"):
        concept_statistics([ValueTable(rng.normal(size=4), player_names=["a", "b"]).harsanyi(),
                            ValueTable(rng.normal(size=4), player_names=["a", "c"]).harsanyi()])
    stats = concept_statistics([pair, pair])
    with pytest.raises(HarsanyiValueError, match="same inputs for both models; received 2 and 1"):
        stats.agreement(concept_statistics([pair]))
    with pytest.raises(HarsanyiValueError, match="same 4 players in on="):
        stats.coverage(on=concept_statistics([sparse_decomposition(5, rng)]))
    with pytest.raises(HarsanyiValueError, match="on= to be a ConceptStatistics"):
        stats.coverage(on=[pair])
    with pytest.raises(HarsanyiValueError, match="k to be a positive integer"):
        stats.coverage(0)
    with pytest.raises(HarsanyiValueError, match="increasing bin edges"):
        stats.discrimination_by_frequency((0.5, 0.2))
    assert isinstance(stats, ConceptStatistics)


def test_a_constant_game_has_no_salient_concepts():
    """All concepts zero: nothing is salient, coverage is 0 and the input counts as empty."""
    zero = (np.zeros(8), np.zeros(8))
    stats = concept_statistics([zero, zero])
    assert len(stats) == 0 and stats.salient_counts.tolist() == [0, 0]
    assert stats.coverage(3).tolist() == [0.0, 0.0, 0.0]
    assert np.isnan(stats.discrimination_by_frequency()["weighted"])
