"""Multi-order interactions estimated by sampling, with standard errors (SPEC §5), for games too large for 2ⁿ.

I⁽ᵐ⁾(i, j) = E_{S ⊆ N∖{i,j}, |S| = m} Δ_ij v(S), Δ_ij v(S) = v(S ∪ {i, j}) − v(S ∪ {i}) − v(S ∪ {j}) + v(S). For each
order m and pair (i, j) asked for, ``samples`` coalitions S of size m are drawn uniformly (with replacement) from
N∖{i, j}, and each costs four model calls. The estimate is the sample mean, its standard error the sample standard
deviation / √samples. The strength J⁽ᵐ⁾ = E_pairs |I⁽ᵐ⁾| / Σ_m' E_pairs |I⁽ᵐ'⁾| is formed from the estimates (so it
carries an upward bias of order the standard error where I⁽ᵐ⁾ is near 0); its standard error is a bootstrap over the
samples of every (m, pair), seeded.

A long run can keep its estimates in a checkpoint file, saved whole or not at all every ``SAVE_SECONDS`` after a pair
is done (and when the run is interrupted); the same call again skips the pairs saved, drawing their coalitions
without calling the model, so it ends with the estimates of a run that was never stopped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._files import Checkpoint
from ._interactions import resolve_player
from ._progress import progress_bar
from .exceptions import HarsanyiValueError

__all__ = ["MultiOrderEstimate", "sample_multi_order"]

BOOTSTRAP = 200  # resamples for the strength's standard error
SAVE_SECONDS = 10.0  # a checkpoint is rewritten after a pair when this long has passed since the last save
_CHECKPOINT_FORMAT = "harsanyi.sampling-checkpoint/1"


@dataclass(frozen=True, repr=False)
class MultiOrderEstimate:
    """Sampled I⁽ᵐ⁾(i, j): ``interactions[a, p]`` for order ``orders[a]`` and pair ``pairs[p]``, with
    ``stderr[a, p]``; ``strength[a]`` (normalised over the orders estimated) with ``strength_stderr[a]``;
    ``ratios`` = m / n; ``samples`` coalitions per (m, pair); ``model_calls`` in all."""

    interactions: np.ndarray  # (M, P)
    stderr: np.ndarray  # (M, P)
    orders: np.ndarray  # (M,)
    ratios: np.ndarray  # (M,)
    pairs: tuple[tuple[int, int], ...]
    strength: np.ndarray  # (M,)
    strength_stderr: np.ndarray  # (M,)
    samples: int
    model_calls: int
    seed: int
    n_players: int
    player_names: tuple[str, ...] | None

    def pair(self, i, j) -> tuple[np.ndarray, np.ndarray]:
        """(estimates, standard errors) over the orders for the pair (i, j), by positions or names."""
        a = resolve_player(i, self.n_players, self.player_names)
        b = resolve_player(j, self.n_players, self.player_names)
        for p, (x, y) in enumerate(self.pairs):
            if {x, y} == {a, b}:
                return self.interactions[:, p].copy(), self.stderr[:, p].copy()
        raise KeyError(f"The pair ({i!r}, {j!r}) was not sampled; the estimate holds {len(self.pairs)} pairs.")

    def __repr__(self) -> str:
        return (f"MultiOrderEstimate({self.n_players} players, {len(self.pairs)} pairs at {len(self.orders)} orders, "
                f"{self.samples} coalitions each, {self.model_calls:,} model calls, seed {self.seed})")

    def __str__(self) -> str:
        lines = [f"multi-order interactions of {len(self.pairs)} pairs at {len(self.orders)} orders, "
                 f"{self.samples} coalitions each ({self.model_calls:,} model calls, seed {self.seed}):"]
        for m, r, j, e in zip(self.orders, self.ratios, self.strength, self.strength_stderr):
            lines.append(f"  m = {m:>3} (m/n = {r:.2f}): strength {j:.4f} ± {e:.4f}")
        return "\n".join(lines)


def _resolve_pairs(pairs, n: int, names, rng) -> list[tuple[int, int]]:
    every = [(i, j) for i in range(n) for j in range(i + 1, n)]
    if pairs is None:
        pairs = min(len(every), 50)
    if isinstance(pairs, (int, np.integer)) and not isinstance(pairs, bool):
        if not 1 <= pairs <= len(every):
            raise HarsanyiValueError(f"Expected pairs between 1 and the {len(every)} pairs of {n} players, or a list "
                                     f"of pairs; received {pairs}.")
        chosen = rng.choice(len(every), size=int(pairs), replace=False) if pairs < len(every) else range(len(every))
        return [every[k] for k in sorted(chosen)]
    out = []
    for pair in pairs:
        try:
            i, j = pair
        except (TypeError, ValueError):
            raise HarsanyiValueError(f"Expected pairs as (i, j) tuples of players; received {pair!r}.") from None
        a, b = resolve_player(i, n, names), resolve_player(j, n, names)
        if a == b:
            raise HarsanyiValueError(f"Expected two different players in a pair; received {pair!r}.")
        out.append((min(a, b), max(a, b)))
    if not out:
        raise HarsanyiValueError("Expected at least one pair; received none.")
    return out


def _resolve_orders(orders, n: int) -> np.ndarray:
    if orders is None:  # every order up to 21 of them, else 21 spread evenly over 0 … n − 2
        orders = range(n - 1) if n - 1 <= 21 else np.unique(np.round(np.linspace(0, n - 2, 21)).astype(int))
    orders = np.array(sorted({int(m) for m in orders}), dtype=np.int64)
    if orders.size == 0 or orders[0] < 0 or orders[-1] > n - 2:
        raise HarsanyiValueError(f"Expected orders m between 0 and n − 2 = {n - 2} (the size of S ⊆ N∖{{i, j}}); "
                                 f"received {orders.tolist()}.")
    return orders


def _checkpoint(path, game, orders, pairs, samples: int, seed: int):
    """The checkpoint of one sampling run and the probe of its game (:func:`harsanyi._game.probe`), or (None, None)."""
    if path is None:
        return None, None
    from ._game import probe

    identity = {"format": _CHECKPOINT_FORMAT, "n": game.n_players, "orders": orders.tolist(),
                "pairs": [list(pair) for pair in pairs], "samples": samples, "seed": seed}
    saver = Checkpoint(path, identity, {"deltas": (orders.size, len(pairs), samples)}, what="the sampling checkpoint",
                       problem="estimate", resumes="the same game with the same orders, pairs, samples and seed",
                       every=SAVE_SECONDS, example="orders-checkpoint.npz")
    return saver, probe(game)


def _resumed(saver, probe_now, game, deltas: np.ndarray) -> int:
    """The pairs done in the checkpoint (their Δ copied into ``deltas``); 0 where there is none yet."""
    saved = saver.load() if saver is not None else None
    if saved is None:
        return 0
    from ._game import other_game

    state, arrays = saved
    other = other_game(state.get("player_names"), state.get("probe"), game, probe_now)
    if other:
        saver.refuse(f"another game ({other})")
    done = int(state["pairs_done"])
    deltas[:, :done] = arrays["deltas"][:, :done]
    return done


def sample_multi_order(game, *, orders=None, pairs=None, samples: int = 100, seed: int = 0,
                       batch_size: int = 4096, progress: bool | None = None, checkpoint=None) -> MultiOrderEstimate:
    """See :meth:`harsanyi.Game.multi_order_sampled`."""
    n = game.n_players
    if n < 2:
        raise HarsanyiValueError(f"Multi-order interactions need at least 2 players; this game has {n}.")
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 2:
        raise HarsanyiValueError(f"Expected samples ≥ 2 per order and pair (a standard error needs two); received "
                                 f"{samples!r}.")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 4:
        raise HarsanyiValueError(f"Expected batch_size to be an integer ≥ 4; received {batch_size!r}.")
    rng = np.random.default_rng(seed)
    names = game.player_names
    chosen_pairs = _resolve_pairs(pairs, n, names, rng)
    orders = _resolve_orders(orders, n)
    samples = int(samples)
    deltas = np.empty((orders.size, len(chosen_pairs), samples))
    total = 4 * deltas.size
    corners = np.array([[1, 1], [1, 0], [0, 1], [0, 0]], dtype=bool)  # S ∪ {i, j}, S ∪ {i}, S ∪ {j}, S
    signs = np.array([1.0, -1.0, -1.0, 1.0])
    per_call = max(batch_size // 4, 1)  # (m, sample) rows per model call
    saver, probe_now = _checkpoint(checkpoint, game, orders, chosen_pairs, samples, seed)
    done = _resumed(saver, probe_now, game, deltas)

    def save():
        state = {"pairs_done": done, "probe": probe_now,
                 "player_names": list(game.player_names) if game.player_names else None}
        saver.save(state, {"deltas": deltas})

    per_pair = 4 * orders.size * samples
    with progress_bar(total=total, initial=done * per_pair, unit="call", unit_scale=True,
                      desc="sampling multi-order interactions",
                      disable=not (total > (1 << 14) if progress is None else progress)) as bar:
        for p, (i, j) in enumerate(chosen_pairs):
            # S of size m: the m players of N∖{i, j} with the smallest of n − 2 uniform keys (a uniform m-subset);
            # drawn for a pair already done too, so that the next pairs get the draws of an unbroken run
            keys = rng.random((orders.size, samples, n - 2))
            if p < done:
                continue
            rest = np.array([k for k in range(n) if k not in (i, j)], dtype=np.int64)
            ranks = np.argsort(np.argsort(keys, axis=-1), axis=-1)
            inside = ranks < orders[:, None, None]  # (M, K, n − 2)
            rows = inside.reshape(orders.size * samples, n - 2)
            values = np.empty(rows.shape[0])
            try:
                for start in range(0, rows.shape[0], per_call):
                    block = rows[start:start + per_call]
                    masks = np.zeros((block.shape[0], 4, n), dtype=bool)
                    masks[:, :, rest] = block[:, None, :]
                    masks[:, :, i], masks[:, :, j] = corners[None, :, 0], corners[None, :, 1]
                    v = game(masks.reshape(-1, n)).reshape(-1, 4)
                    values[start:start + block.shape[0]] = v @ signs
                    bar.update(v.size)
            except KeyboardInterrupt:
                if saver is not None and done:
                    save()  # the pairs done so far, whatever the time since the last save
                raise
            deltas[:, p, :] = values.reshape(orders.size, samples)
            done = p + 1
            if saver is not None and (saver.due() or done == len(chosen_pairs)):
                save()
    means = deltas.mean(axis=-1)
    stderr = deltas.std(axis=-1, ddof=1) / np.sqrt(samples)
    stderr[(orders == 0) | (orders == n - 2)] = 0.0  # one S only (∅, or all the others): no sampling error
    strength, strength_stderr = _strength(deltas, means, np.random.default_rng([seed, 1]))
    return MultiOrderEstimate(means, stderr, orders, orders / n, tuple(chosen_pairs), strength, strength_stderr,
                              samples, total, seed, n, names)


def _normalised(mean_abs: np.ndarray) -> np.ndarray:
    total = mean_abs.sum(axis=0)
    return np.divide(mean_abs, total, out=np.zeros_like(mean_abs), where=total > 0)


def _strength(deltas: np.ndarray, means: np.ndarray, rng) -> tuple[np.ndarray, np.ndarray]:
    """J⁽ᵐ⁾ from the estimates, and its bootstrap standard error (resampling each (m, pair)'s samples)."""
    strength = _normalised(np.abs(means).mean(axis=1))
    samples = deltas.shape[-1]
    weights = rng.multinomial(samples, np.full(samples, 1.0 / samples), size=BOOTSTRAP) / samples  # (B, K)
    boot = np.abs(deltas @ weights.T).mean(axis=1)  # (M, B): E_pairs |resampled mean|
    return strength, _normalised(boot).std(axis=1, ddof=1)
