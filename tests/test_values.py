"""ValueTable: validation, certificates, multi-order and coalition interactions, and shap as a second reference."""

from itertools import combinations

import numpy as np
import pytest

from harsanyi import CertificateError, HarsanyiValueError, Interactions, ValueTable

from conftest import ATOL, brute_shapley, derivative, mask_of, random_table, subsets


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
    with pytest.raises(CacheError, match="Cannot read a value table"):
        ValueTable.load(tmp_path / "dividends.npz")
    from harsanyi._files import write_npz

    write_npz(tmp_path / "other.npz", {"format": "something else"}, {"values": np.zeros(8)})
    with pytest.raises(CacheError, match="is not a harsanyi value table"):
        ValueTable.load(tmp_path / "other.npz")
    (tmp_path / "bad.npz").write_text("no")
    with pytest.raises(CacheError, match="Cannot read a value table.*ValueTable.save"):
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
