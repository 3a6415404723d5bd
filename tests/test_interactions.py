"""Interactions: look-up, top-k, DataFrame, lossless save/load and shapiq export."""

import numpy as np
import pytest

from harsanyi import CacheError, HarsanyiValueError, Interactions, ValueTable

from conftest import random_table


@pytest.fixture
def sii():
    return ValueTable(random_table(5, 0), player_names=["age", "sex", "bmi", "bp", "s1"]).index("SII", 2)


def test_lookup_by_positions_and_names(sii):
    assert sii[(0, 2)] == sii[("age", "bmi")] == sii[("bmi", "age")] == sii.values[0b101]
    assert sii["sex"] == sii[1] == sii[(1,)]
    assert (0, 2) in sii and (0, 1, 2) not in sii


def test_lookup_errors(sii):
    with pytest.raises(KeyError, match="order 3; this SII result holds orders 0 … 2"):
        sii[(0, 1, 2)]
    with pytest.raises(KeyError, match="Unknown player 7: players are 0 … 4"):
        sii[(0, 7)]
    with pytest.raises(KeyError, match="Unknown player 'weight'"):
        sii[("age", "weight")]
    with pytest.raises(KeyError, match="appears twice"):
        sii[(1, 1)]
    with pytest.raises(ValueError):
        sii.values[3] = 0.0


def test_top_k_orders_by_magnitude(sii):
    top = sii.top(4)
    mags = [abs(v) for _, v in top]
    assert mags == sorted(mags, reverse=True) and len(top) == 4
    all_held = [abs(v) for c, v in sii.items() if len(c) >= 1]
    assert mags[0] == max(all_held)
    assert all(len(c) == 2 for c, _ in sii.top(3, order=2))
    assert sii.top(0) == []
    # more than it holds: every coalition of order ≥ 1 once (5 + 10), by |value|, ties by bitmask
    every = sii.top(100)
    assert len(every) == 15 and sorted(c for c, _ in every) == sorted(c for c in sii if len(c) >= 1)
    assert [abs(v) for _, v in every] == sorted(all_held, reverse=True)
    assert len(list(sii)) == len(sii) == 16  # iteration: every held coalition, the empty one included
    for order in (3, -1, 1.5):
        with pytest.raises(HarsanyiValueError, match=rf"Expected order between 0 and 2 \(the orders this SII result "
                                                     rf"holds\); received {order}"):
            sii.top(2, order=order)


@pytest.mark.parametrize("k", [-1, 2.5, True, "3"])
def test_top_k_rejects_what_is_not_a_count(sii, k):
    with pytest.raises(HarsanyiValueError, match=r"Expected k to be a non-negative integer .* received"):
        sii.top(k)


def test_dataframe(sii):
    pytest.importorskip("pandas")
    df = sii.to_dataframe()
    assert len(df) == len(sii) == 1 + 5 + 10
    row = df[df["mask"] == 0b11].iloc[0]
    assert row["coalition"] == ("age", "sex") and row["order"] == 2 and row["value"] == sii[(0, 1)]


def test_save_load_is_lossless(sii, tmp_path):
    path = sii.save(tmp_path / "res")
    assert path.suffix == ".npz" and not list(tmp_path.glob("*.part"))
    back = Interactions.load(path)
    np.testing.assert_array_equal(back.values, sii.values)
    assert (back.index, back.max_order, back.min_order, back.player_names) == (
        sii.index, sii.max_order, sii.min_order, sii.player_names)
    assert back.certificate == sii.certificate and back.baseline_value == sii.baseline_value


def test_load_rejects_other_files(tmp_path):
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip")
    with pytest.raises(CacheError, match=r"Cannot read interactions from .* \(it is not a .npz archive\)\. Expected"):
        Interactions.load(junk)
    np.savez(tmp_path / "other.npz", values=np.zeros(4), metadata=np.array('{"format": "x"}'))
    with pytest.raises(CacheError, match="not a harsanyi Interactions file"):
        Interactions.load(tmp_path / "other.npz")


def test_to_shapiq_round_trip(sii):
    pytest.importorskip("shapiq")
    iv = sii.to_shapiq()
    assert iv.index == "SII" and iv.max_order == 2 and iv.n_players == 5
    assert iv[(0, 2)] == pytest.approx(sii[(0, 2)])
    assert iv[()] == pytest.approx(sii[()])


def test_to_shapiq_of_the_indices_shapiq_has_not():
    """OR interactions keep their name, without shapiq's warning about an unknown index; shapiq's Co-Moebius is
    the OR interaction times (−1)^{|S|+1} (checked against shapiq's exact computer)."""
    shapiq = pytest.importorskip("shapiq")
    import warnings

    from conftest import random_table

    v = random_table(5, 3)
    table = ValueTable(v)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        iv = table.or_interactions().to_shapiq()
    assert iv.index == "OR"
    co = shapiq.ExactComputer(n_players=5, game=lambda m: v[(m.astype(np.int64) << np.arange(5)).sum(1)])
    reference = co("Co-Moebius", order=5)
    for coalition in [(0,), (1, 3), (0, 2, 4), (0, 1, 2, 3, 4)]:
        assert iv[coalition] == pytest.approx((-1) ** (len(coalition) + 1) * reference[coalition], abs=1e-12)


def test_constructor_validation():
    with pytest.raises(ValueError, match="min_order <= max_order"):
        Interactions(np.zeros(8), index="SII", max_order=4)
    with pytest.raises(ValueError, match="unique"):
        Interactions(np.zeros(4), index="SII", max_order=2, player_names=["a", "a"])
