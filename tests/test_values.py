"""ValueTable: validation, certificates, multi-order and coalition interactions, and shap as a second reference."""

from itertools import combinations

import numpy as np
import pytest

from harsanyi import CertificateError, HarsanyiValueError, Interactions, ValueTable

from conftest import ATOL, brute_shapley, derivative, mask_of, random_table, subsets, unanimity_table


def test_harsanyi_certificate_holds_and_states_scale():
    table = ValueTable(random_table(10, 0))
    res = table.harsanyi()
    cert = res.certificate
    assert cert.passed and cert.n_players == 10
    check = cert.check("universal matching (AND)")
    assert check.n_checked == 1024 and check.residual <= check.tolerance
    assert cert.scale == pytest.approx(abs(table.v_full - table.v_empty))
    assert "holds on all 1,024 coalitions" in str(cert)


def test_certify_rejects_a_corrupted_result():
    """A tiny change to one dividend must fail the re-check: the certificate is not vacuous."""
    table = ValueTable(random_table(10, 1))
    good = table.harsanyi()
    assert table.certify(good).passed
    values = good.values.copy()
    values[37] += 1e-6 * table.scale
    bad = Interactions(values, index="Moebius", max_order=10)
    with pytest.raises(CertificateError, match="universal matching .AND.: residual"):
        bad.certify(table)
    sii = table.index("SII", 2)
    assert sii.certify(table).passed
    tampered = Interactions(sii.values + 1e-7 * (np.arange(1024) == 3), index="SII", max_order=2)
    with pytest.raises(CertificateError, match="agreement with the table"):
        tampered.certify(table)
    with pytest.raises(HarsanyiValueError, match="The result is for 10 players; this table has 9. Certify against"):
        ValueTable(random_table(9, 1)).certify(good)


def test_certify_rechecks_and_or_concepts_within_their_tau_and_refuses_plain_arrays():
    """AND-OR concepts re-checked against their own table give their certificate; against a table that differs
    by more than τ on one coalition they fail; Shapley values as a bare array get the call that certifies them."""
    table = ValueTable(random_table(6, 4))
    concepts = table.and_or()
    assert table.certify(concepts) == concepts.certificate
    shifted = table.values.copy()
    shifted[21] += 2 * concepts.tau + 1e-9  # beyond τ whatever ε_S was
    with pytest.raises(CertificateError, match=r"universal matching \(AND-OR, \|ε\| ≤ τ\): residual.*certify\(\) checks "
                                               r"against this table: a result computed from another table"):
        ValueTable(shifted).certify(concepts)
    with pytest.raises(HarsanyiValueError, match=r"received ndarray. For Shapley or Banzhaf values, certify "
                                                 r"table.index\('SV', 1\)"):
        table.certify(table.shapley())
    assert table.certify(table.index("SV", 1)).passed


def test_or_interactions_reconstruct_the_table():
    table = ValueTable(random_table(9, 2))
    res = table.or_interactions()
    assert res.index == "OR" and res.certificate.passed
    assert res[()] == pytest.approx(table.v_empty)
    # a pure OR game, v(S) = 1 if S touches {0, 3}, has one OR interaction, on {0, 3}
    v = np.array([1.0 if (s & 0b1001) else 0.0 for s in range(16)])
    or_res = ValueTable(v).or_interactions()
    assert {c: x for c, x in or_res.items() if abs(x) > 1e-12} == {(0, 3): 1.0}
    and_res = ValueTable(v).harsanyi()  # while its AND decomposition needs three terms
    assert {c: x for c, x in and_res.items() if abs(x) > 1e-12} == {(0,): 1.0, (3,): 1.0, (0, 3): -1.0}


def test_validation_errors():
    with pytest.raises(HarsanyiValueError, match="length 6, which is not a power of two"):
        ValueTable(np.zeros(6))
    with pytest.raises(HarsanyiValueError, match="1-D value table"):
        ValueTable(np.zeros((2, 4)))
    bad = np.zeros(8)
    bad[5] = np.nan
    with pytest.raises(HarsanyiValueError, match=r"NaN or inf at coalition masks \[5\]"):
        ValueTable(bad)
    with pytest.raises(HarsanyiValueError, match="Expected 3 player names"):
        ValueTable(np.zeros(8), player_names=["a", "b"])
    for text in (["a", "b"], np.array(["x", 2.0], dtype=object)):
        with pytest.raises(HarsanyiValueError, match=r"Expected numbers in the value table; received (<U1|object) "
                                                     r"values that are not all numbers"):
            ValueTable(text)
    # numbers held as objects (a pandas column of objects, say) are numbers
    assert ValueTable(np.array([0, 1, 2, 6], dtype=object)).shapley().tolist() == [2.5, 3.5]


def test_table_is_read_only_and_indexable():
    v = random_table(3, 0)
    table = ValueTable(v, player_names=["a", "b", "c"])
    assert table[("a", "c")] == v[0b101]
    assert table[()] == v[0]
    with pytest.raises(ValueError):
        table.values[0] = 1.0
    v[0] = 99.0  # the table holds its own copy
    assert table.v_empty != 99.0


def test_save_and_load_keep_every_bit_and_the_names(tmp_path):
    from harsanyi import CacheError

    table = ValueTable(random_table(7, 4), player_names=list("abcdefg"))
    back = ValueTable.load(table.save(tmp_path / "table"))
    assert (tmp_path / "table.npz").exists() and not list(tmp_path.glob("*.part"))
    np.testing.assert_array_equal(back.values, table.values)
    assert back.player_names == table.player_names and back.harsanyi().certificate.passed
    unnamed = ValueTable.load(ValueTable(random_table(3, 5)).save(tmp_path / "plain.npz"))
    assert unnamed.player_names is None
    table.harsanyi().save(tmp_path / "dividends.npz")  # an Interactions file: no table's metadata
    with pytest.raises(CacheError, match=r"Cannot read a value table .*\(the archive has no \['meta'\]; it holds "):
        ValueTable.load(tmp_path / "dividends.npz")
    from harsanyi._files import write_npz

    write_npz(tmp_path / "other.npz", {"format": "something else"}, {"values": np.zeros(8)})
    with pytest.raises(CacheError, match="is not a harsanyi value table"):
        ValueTable.load(tmp_path / "other.npz")
    (tmp_path / "bad.npz").write_text("no")
    with pytest.raises(CacheError, match=r"Cannot read a value table .*\(it is not a .npz archive\).*ValueTable.save"):
        ValueTable.load(tmp_path / "bad.npz")


@pytest.mark.parametrize("n", [2, 4, 6])
def test_multi_order_matches_definition(n, seed):
    v = random_table(n, seed)
    res = ValueTable(v).multi_order()
    assert res.interactions.shape == (n - 1, n, n)
    for i, j in combinations(range(n), 2):
        rest = [k for k in range(n) if k not in (i, j)]
        for m in range(n - 1):
            expected = np.mean([derivative(v, (i, j), S) for S in subsets(rest) if len(S) == m])
            assert res.interactions[m, i, j] == pytest.approx(expected, abs=ATOL)
            assert res.interactions[m, j, i] == res.interactions[m, i, j]
    assert res.strength.sum() == pytest.approx(1.0)
    assert res.certificate.passed
    np.testing.assert_allclose(res.ratios, np.arange(n - 1) / n)


def test_multi_order_of_a_pure_order_game():
    """v = u_{0,1,2,3}: Δ_{01} v(S) = 1 iff {2,3} ⊆ S, so I^(m)(0,1) = C(n−4, m−2)/C(n−2, m)."""
    from math import comb

    n = 6
    v = np.array([1.0 if s & 0b1111 == 0b1111 else 0.0 for s in range(1 << n)])
    pair = ValueTable(v).multi_order().pair(0, 1)
    expected = [comb(n - 4, m - 2) / comb(n - 2, m) if m >= 2 else 0.0 for m in range(n - 1)]
    np.testing.assert_allclose(pair, expected, atol=ATOL)
    with pytest.raises(KeyError, match="two different players; received 1 twice"):
        ValueTable(v).multi_order().pair(1, 1)
    with pytest.raises(HarsanyiValueError, match="need at least 2 players; this table has 1"):
        ValueTable(np.arange(2.0)).multi_order()


def _shapley_of_reduced_game(v, n, players, value_of):
    """Shapley values of a game on `players` (a list of labels) whose value is value_of(subset of labels)."""
    k = len(players)
    w = np.array([value_of([players[i] for i in range(k) if s >> i & 1]) for s in range(1 << k)])
    return dict(zip(players, brute_shapley(w, k)))


@pytest.mark.parametrize("A", [(0, 2), (1, 3, 4), (0, 1, 2, 5)])
def test_coalition_interaction_matches_definition(A, seed):
    n = 6
    v = random_table(n, seed)
    others = [i for i in range(n) if i not in A]

    def merged(labels):  # [A] present ⇔ every member present
        players = [p for p in labels if p != "A"] + (list(A) if "A" in labels else [])
        return v[mask_of(players)]

    phi_A = _shapley_of_reduced_game(v, n, others + ["A"], merged)["A"]
    phi_members = sum(_shapley_of_reduced_game(v, n, others + [a], lambda L: v[mask_of(L)])[a] for a in A)
    assert ValueTable(v).coalition_interaction(A) == pytest.approx(phi_A - phi_members, abs=ATOL)


def test_coalition_interaction_of_pair_is_sii_and_errors():
    table = ValueTable(random_table(5, 0), player_names=list("abcde"))
    assert table.coalition_interaction(("b", "d")) == pytest.approx(table.index("SII", 2)[("b", "d")])
    with pytest.raises(HarsanyiValueError, match="at least 2 players"):
        table.coalition_interaction(("a",))
    with pytest.raises(KeyError, match="Unknown player 'z'"):
        table.coalition_interaction(("a", "z"))


def test_interaction_tree_replays_the_greedy_merges_from_coalition_interactions(seed):
    """Each merge is the adjacent pair of largest |B / (|L|·|R|)| at its step, with B(L, R) = T(L ∪ R) − T(L) −
    T(R) recomputed from ``coalition_interaction`` (itself checked against its definition above); the B of all
    merges telescope to v(N) − Σ v({i}) + (n − 1)·v(∅)."""
    n = 7
    v = random_table(n, seed)
    table = ValueTable(v)
    tree = table.interaction_tree()

    def T(start, stop):
        return table.coalition_interaction(range(start, stop)) if stop - start >= 2 else 0.0

    spans = [(i, i + 1) for i in range(n)]
    for step, node in enumerate(tree.merges, start=1):
        scores = [(T(a[0], b[1]) - T(*a) - T(*b)) / ((a[1] - a[0]) * (b[1] - b[0])) for a, b in zip(spans, spans[1:])]
        j = int(np.argmax(np.abs(scores)))
        assert (node.start, node.stop, node.step) == (spans[j][0], spans[j + 1][1], step)
        assert node.density == pytest.approx(scores[j], abs=ATOL)
        assert node.total == pytest.approx(T(node.start, node.stop), abs=ATOL)
        spans[j:j + 2] = [(spans[j][0], spans[j + 1][1])]
    assert len(tree.merges) == n - 1 and (tree.root.start, tree.root.stop) == (0, n)
    direct = v[-1] - sum(v[1 << i] for i in range(n)) + (n - 1) * v[0]
    assert sum(node.interaction for node in tree.merges) == pytest.approx(direct, abs=ATOL)
    assert tree.certificate.passed


def test_interaction_tree_in_a_given_reading_order_is_the_tree_of_the_reordered_game():
    n, order = 6, [3, 0, 5, 1, 4, 2]
    v = random_table(n, 4)
    names = list("abcdef")
    masks = np.arange(1 << n)
    renumbered = sum(((masks >> k) & 1) << order[k] for k in range(n))  # new player k is old player order[k]
    expected = ValueTable(v[renumbered], player_names=[names[p] for p in order]).interaction_tree()
    tree = ValueTable(v, player_names=names).interaction_tree(order=order)
    assert tree.root.bracketed() == expected.root.bracketed()
    np.testing.assert_allclose([m.interaction for m in tree.merges], [m.interaction for m in expected.merges],
                               atol=ATOL)
    assert tree.merges[-1].players == tuple(order) and tree.root.mask == (1 << n) - 1
    with pytest.raises(HarsanyiValueError, match=r"each of the 6 players' indices once .a permutation of 0 … 5.; "
                                                 r"received \[0, 0, 1, 2, 3, 4\]"):
        ValueTable(v).interaction_tree(order=[0, 0, 1, 2, 3, 4])


def test_interaction_tree_of_a_pairwise_game_sums_the_pairs_across_each_split():
    """With only pair dividends, B(L, R) is the sum of the pair dividends across L and R: the tree is known."""
    names = ["not", "good", "at", "all", "bad"]
    pairs = {("not", "good"): 5.0, ("all", "bad"): -4.0, ("good", "at"): 0.5, ("at", "all"): 1.0}
    v = unanimity_table(5, {tuple(names.index(w) for w in pair): weight for pair, weight in pairs.items()})
    tree = ValueTable(v, player_names=names).interaction_tree()
    assert tree.root.bracketed() == "((not good) (at (all bad)))"
    assert [(m.label, m.interaction) for m in tree.merges] == [
        ("not good", 5.0), ("all bad", -4.0), ("at all bad", 1.0), ("not good at all bad", 0.5)]
    assert tree.merges[-1].density == pytest.approx(0.5 / 6)  # one pair of the 2 · 3 across the last split
    assert "1. not + good: B = +5 (per pair +5)" in str(tree)
    assert repr(tree) == "InteractionTree('((not good) (at (all bad)))', 4 merges, certificate holds)"
    assert repr(tree.merges[0]) == "TreeNode('(not good)', B=+5)"
    with pytest.raises(HarsanyiValueError, match="at least 2 players; this table has 1"):
        ValueTable(np.array([0.0, 1.0])).interaction_tree()


def test_shapley_against_shap_exact_explainer(seed):
    """shap's ExactExplainer with one background row explains the same game: v(S) = f(x_S, baseline elsewhere)."""
    shap = pytest.importorskip("shap")
    from harsanyi import Game

    rng = np.random.default_rng(seed)
    d = 7
    W = rng.normal(size=(d, d))

    def f(X):
        X = np.asarray(X, dtype=np.float64)
        return np.tanh(X @ W).sum(axis=1) + X[:, 0] * X[:, 3]

    x, base = rng.normal(size=(2, d))
    ours = Game.tabular(f, x, baseline=base, output="raw").evaluate().shapley()
    explainer = shap.explainers.Exact(f, shap.maskers.Independent(base[None, :], max_samples=1))
    theirs = explainer(x[None, :]).values[0]
    np.testing.assert_allclose(ours, theirs, atol=1e-9)


def test_result_objects_print_as_one_line_with_their_numbers():
    """A notebook shows a result by its repr: one line with what a reader looks for, not a dump of its arrays."""
    from harsanyi import Game

    table = ValueTable(random_table(6, 5))
    multi = table.multi_order()
    assert repr(multi) == (f"MultiOrder(6 players, orders 0 … 4; strength per order "
                           f"{', '.join(f'{s:.3g}' for s in multi.strength)}; certificate holds)")
    curve = table.and_or().fidelity_curve()
    needed = " / ".join("—" if k is None else f"{k:,}" for k in curve.summary().values())
    assert repr(curve) == (f"FidelityCurve(top-k, {curve.n_concepts:,} concepts; 90 / 95 / 99 % fidelity with "
                           f"{needed} of them)")
    game = Game.from_function(lambda masks: masks.sum(axis=1) * 1.0, 12)
    estimate = game.multi_order_sampled(pairs=3, samples=4, seed=1, progress=False)
    assert repr(estimate) == (f"MultiOrderEstimate(12 players, 3 pairs at {len(estimate.orders)} orders, 4 coalitions "
                              f"each, {estimate.model_calls:,} model calls, seed 1)")
    for shown in (multi, curve, estimate):
        assert "\n" not in repr(shown) and "array" not in repr(shown)
