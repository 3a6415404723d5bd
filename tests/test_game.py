"""Game.evaluate: bitmask order, batching, progress, errors, memory budget and resumable cache."""

import json

import numpy as np
import pytest

from harsanyi import (
    CacheError,
    ExponentialCostWarning,
    Game,
    HarsanyiValueError,
    MemoryBudgetError,
    ModelOutputError,
)

from conftest import random_table


def table_game(v, calls=None):
    n = int(np.log2(v.size))

    def fn(masks):
        if calls is not None:
            calls.append(masks.shape[0])
        return v[(masks.astype(np.int64) << np.arange(n)).sum(axis=1)]

    return Game.from_function(fn, n)


def test_evaluate_is_bitmask_ordered_and_calls_each_coalition_once():
    v = random_table(9, 0)
    calls = []
    table = table_game(v, calls).evaluate(batch_size=100)
    np.testing.assert_array_equal(table.values, v)
    assert sum(calls) == 512 and max(calls) == 100
    with pytest.raises(ValueError):  # the adopted table is as read-only as a copied one
        table.values[0] = 0.0


def test_automatic_batch_holds_about_a_mebibyte_of_input_on_the_cpu_and_more_on_a_gpu():
    """The default batch: the largest power of two whose model input fits 1 MiB on the CPU (64 MiB on an
    accelerator), at least 1, at most 2¹⁶ and 2ⁿ; the calls it makes cover every coalition once."""
    calls = []
    game = Game(lambda masks: calls.append(len(masks)) or np.zeros(len(masks)), 16, bytes_per_coalition=256)
    assert game._auto_batch_size() == 1 << 12  # 2²⁰ / 256
    game.evaluate(progress=False)
    assert calls == [1 << 12] * 16
    sizes = {(per, device): Game(np.zeros, 16, device=device, bytes_per_coalition=per)._auto_batch_size()
             for per in (256, 3136, 602_112, 5 << 20) for device in (None, "cpu", "cuda:0")}
    assert [sizes[per, None] for per in (256, 3136, 602_112, 5 << 20)] == [1 << 12, 256, 1, 1]
    assert all(sizes[per, None] == sizes[per, "cpu"] for per in (256, 3136, 602_112, 5 << 20))
    assert [sizes[per, "cuda:0"] for per in (256, 3136, 602_112, 5 << 20)] == [1 << 16, 1 << 14, 64, 8]
    assert Game(np.zeros, 5, bytes_per_coalition=8)._auto_batch_size() == 32  # never more than 2ⁿ


@pytest.mark.parametrize("batch_size", [1, 2, 3, 7, 64, 10_000])
def test_batch_size_invariance(batch_size):
    v = random_table(6, 1)
    np.testing.assert_array_equal(table_game(v).evaluate(batch_size=batch_size).values, v)


def test_masks_passed_to_the_function():
    seen = []
    Game.from_function(lambda m: seen.append(m.copy()) or np.zeros(len(m)), 3).evaluate()
    masks = np.concatenate(seen)
    assert masks.dtype == bool and masks.shape == (8, 3)
    np.testing.assert_array_equal(masks[5], [True, False, True])  # mask 0b101


def test_call_validates_masks():
    game = table_game(random_table(3, 0))
    assert game(np.array([1, 0, 1])).shape == (1,)
    with pytest.raises(HarsanyiValueError, match=r"masks of shape \(m, 3\).*received shape \(2, 4\)"):
        game(np.zeros((2, 4), bool))
    with pytest.raises(HarsanyiValueError, match="boolean masks"):
        game(np.full((1, 3), 2))


@pytest.mark.parametrize(
    "fn, match",
    [
        (lambda m: np.where(m[:, 0], np.nan, 0.0), r"NaN or inf for 4 of 8 coalitions, e.g. coalitions \[\(0,\)"),
        (lambda m: np.full(len(m), np.inf), "NaN or inf"),
        (lambda m: np.zeros((len(m), 3)), r"one scalar value per coalition, shape \(8,\); the game returned shape \(8, 3\)"),
        (lambda m: np.array(["a"] * len(m)), "numeric values"),
        (lambda m: m.sum(axis=1) * 1j, r"Expected real values; the game returned complex numbers \(complex128\)"),
    ],
)
def test_bad_model_output(fn, match):
    with pytest.raises(ModelOutputError, match=match):
        Game.from_function(fn, 3).evaluate()


def test_bad_arguments():
    with pytest.raises(HarsanyiValueError, match="positive integer"):
        Game.from_function(lambda m: m.sum(1), 0)
    with pytest.raises(HarsanyiValueError, match="Expected a callable"):
        Game.from_function(42, 3)
    with pytest.raises(HarsanyiValueError, match="batch_size to be a positive integer"):
        table_game(random_table(3, 0)).evaluate(batch_size=0)
    with pytest.raises(HarsanyiValueError, match="applies to games built from a torch model"):
        table_game(random_table(3, 0)).evaluate(device="cpu")


def test_memory_budget_refused_before_any_call():
    calls = []
    game = Game.from_function(lambda m: calls.append(1) or np.zeros(len(m)), 34)
    with pytest.raises(MemoryBudgetError, match=r"2\^34 = 17,179,869,184 coalitions needs about .*Fix: use fewer players"):
        game.evaluate()
    with pytest.raises(MemoryBudgetError, match="budget is") as refused:
        table_game(random_table(10, 0)).evaluate(max_memory=1000)
    assert refused.value.batch_size is None and "batch_size=" not in str(refused.value)  # the table alone is too big
    assert not calls
    # when the table fits but the batch does not, the fix names the largest batch that fits (a power of two)
    game = Game.from_function(lambda m: calls.append(1) or np.zeros(len(m)), 12)
    with pytest.raises(MemoryBudgetError, match=r"Fix: batch_size=512 \(or less\), use fewer players") as refused:
        game.evaluate(batch_size=4096, max_memory=300_000)
    assert refused.value.batch_size == 512 and not calls
    assert str(refused.value).startswith(refused.value.need) and refused.value.need.endswith("budget is 0.000279 GiB.")
    assert len(game.evaluate(batch_size=512, max_memory=300_000, progress=False).values) == 4096
    for budget in ("2GiB", -1, 0, True):
        with pytest.raises(HarsanyiValueError, match=r"Expected max_memory as a number of bytes > 0 \(e.g. 2 \* 2\*\*30 "
                                                     r"for 2 GiB\); received"):
            game.evaluate(max_memory=budget)


def test_large_n_warns(monkeypatch):
    import harsanyi._game as game_module

    monkeypatch.setattr(game_module, "WARN_PLAYERS", 8)
    with pytest.warns(ExponentialCostWarning, match="2\\^8 = 256 model calls"):
        table_game(random_table(8, 0)).evaluate()


def test_progress_bar_counts_coalitions(capsys):
    table_game(random_table(8, 0)).evaluate(progress=True, batch_size=64)
    err = capsys.readouterr().err
    assert "256/256" in err and "evaluating 2^8 coalitions" in err


class Interrupt(Exception):
    pass


def test_resume_after_interrupt_loses_nothing(tmp_path):
    v = random_table(10, 3)
    cache = tmp_path / "cache"
    calls = []

    def flaky(masks):
        calls.append(masks.shape[0])
        if len(calls) == 1 + 5 + 1:  # the probe (∅, N and each player: one call of 12 rows), 5 chunks, Ctrl-C
            raise KeyboardInterrupt
        return v[(masks.astype(np.int64) << np.arange(10)).sum(axis=1)]

    with pytest.raises(KeyboardInterrupt):
        Game.from_function(flaky, 10).evaluate(batch_size=100, cache=cache)
    assert np.load(cache / "done.npy").sum() == 5
    resumed = []
    table = table_game(v, resumed).evaluate(batch_size=37, cache=cache)  # the cache keeps its chunk size
    np.testing.assert_array_equal(table.values, v)
    assert sum(resumed) == 12 + (1024 - 500)  # only the chunks not yet done, after the probe
    again = []
    table_game(v, again).evaluate(cache=cache)
    assert sum(again) == 12  # a finished cache costs only the probe


def test_cache_of_another_game_or_unreadable(tmp_path):
    cache = tmp_path / "c"
    table_game(random_table(6, 0)).evaluate(cache=cache)
    with pytest.raises(CacheError, match="belongs to a different game"):
        table_game(random_table(6, 1)).evaluate(cache=cache)
    with pytest.raises(CacheError, match="for a 5-player game"):
        table_game(random_table(5, 0)).evaluate(cache=cache)
    (cache / "meta.json").write_text("{broken")
    with pytest.raises(CacheError, match="Cannot read the cache.*Delete that directory"):
        table_game(random_table(6, 0)).evaluate(cache=cache)
    meta = tmp_path / "d"
    table_game(random_table(6, 0)).evaluate(cache=meta)
    data = json.loads((meta / "meta.json").read_text())
    assert data["n_players"] == 6 and data["format"] == "harsanyi.cache/2"


def test_cache_of_the_same_game_with_its_players_in_another_order_is_refused(tmp_path):
    """Swapping two players keeps v(∅) and v(N) (the old probe) but not the table: the single players tell them
    apart, and named players are compared by name."""
    v = random_table(6, 2)
    swap = np.arange(64)
    swap = (swap & ~0b11) | ((swap & 1) << 1) | ((swap >> 1) & 1)  # players 0 and 1 exchanged
    cache = tmp_path / "c"
    table_game(v).evaluate(cache=cache)
    with pytest.raises(CacheError, match=r"it records v\(\{0\}\) = .*, this game gives"):
        table_game(v[swap]).evaluate(cache=cache)
    named = tmp_path / "named"
    Game.from_function(lambda m: v[(m.astype(np.int64) << np.arange(6)).sum(1)], 6,
                       player_names=list("abcdef")).evaluate(cache=named)
    with pytest.raises(CacheError, match=r"its players are \['a', 'b', 'c', 'd', 'e', 'f'\], this game's are \['b', 'a'"):
        Game.from_function(lambda m: v[(m.astype(np.int64) << np.arange(6)).sum(1)], 6,
                           player_names=list("bacdef")).evaluate(cache=named)
    with pytest.raises(CacheError, match=r"its players are unnamed, this game's are \['a', 'b'"):
        Game.from_function(lambda m: v[(m.astype(np.int64) << np.arange(6)).sum(1)], 6,
                           player_names=list("abcdef")).evaluate(cache=cache)
