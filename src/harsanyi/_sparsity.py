"""Sparsity analytics of a decomposition (SPEC §3): salient concepts and the fidelity curve.

A decomposition is AND concepts (a concept T adds I(T) to every S ⊇ T) and optionally OR concepts (T adds I(T) to
every S that meets T). The empty coalition is the constant offset, not a concept: it is always kept and never
counted. Concepts are ranked by |I| over AND and OR together, or by the lab's greedy backward elimination
(REFERENCE §2.3): from all concepts, repeatedly drop, among the ``n_greedy`` weakest left, the one whose removal
raises the squared reconstruction error over all 2ⁿ masked inputs least.

The elimination needs, for each candidate u, D(u) = Σ_{S ∈ A_u} r(S), the residual r = v − v̂ summed over the
coalitions u reaches (A_u: S ⊇ u for AND, S ∩ u ≠ ∅ for OR): dropping u changes the squared error by
2·I(u)·D(u) + I(u)²·|A_u|. D of every concept is one superset-zeta (AND) and one OR adjoint (OR) of r; after a
removal of c, D(u) moves by I(c)·|A_u ∩ A_c|, a closed form in |u|, |c|, |u ∪ c| and whether u ∩ c = ∅. So a
step costs O(n_greedy + R) for the look-ahead it keeps exact, and every R steps the transforms recompute D
(O(n·2ⁿ)): O(K·R + K·n·2ⁿ/R) for K nonzero concepts, never K·2ⁿ; R = √(n·2ⁿ) (at least 256) balances the two.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._array import n_players_of, to_numpy
from ._progress import progress_bar
from ._transforms import or_reconstruct, or_reconstruct_adjoint, subset_zeta, superset_zeta
from .exceptions import HarsanyiValueError

__all__ = ["Concept", "FidelityCurve", "ranked_concepts", "count_concepts", "salient_concepts", "fidelity_curve",
           "KAPPA", "N_GREEDY"]

KAPPA = 0.05  # a concept is salient when |I(S)| ≥ κ · max |I| over the same input's AND and OR concepts
N_GREEDY = 20  # the greedy elimination's candidates per step: the lab's default (their SST-2 demo uses 40)
_REFRESH: int | None = None  # removals between two recomputations of D by transforms; None: max(256, √(n·2ⁿ))


@dataclass(frozen=True)
class Concept:
    """One concept: ``kind`` "AND" or "OR", its bitmask, its players (names where the game has them), its value."""

    kind: str
    mask: int
    players: tuple
    value: float

    @property
    def order(self) -> int:
        return int(self.mask).bit_count()

    def __str__(self) -> str:
        joiner = " AND " if self.kind == "AND" else " OR "
        return f"{self.kind}({joiner.join(map(str, self.players)) or '∅'}) = {self.value:+.4g}"


@dataclass(frozen=True, repr=False)
class FidelityCurve:
    """Reconstruction error over all 2ⁿ masked inputs when only the top-k concepts are kept, for k = ``k``.

    ``rms_error[j]`` = sqrt(mean_S (v(S) − v̂_k(S))²) / |v(N) − v(∅)| and ``max_error[j]`` = max_S |…| / |v(N) − v(∅)|
    with k = ``k[j]``; fidelity = 1 − rms_error. ``n_concepts`` is the number of nonzero concepts in all.
    ``order``: how the kept concepts were chosen, "top-k" (by |I|) or "greedy" (backward elimination); the k kept
    are ``concepts[:k]`` either way. ``explanation_ratio[j]`` = Σ_kept |I| / (Σ_kept |I| + |Σ_dropped I|), the
    lab's second measure (1 when both are 0).
    """

    k: np.ndarray
    rms_error: np.ndarray
    max_error: np.ndarray
    scale: float
    n_concepts: int
    order: str = "top-k"
    concepts: tuple = ()
    explanation_ratio: np.ndarray | None = None

    @property
    def fidelity(self) -> np.ndarray:
        return 1.0 - self.rms_error

    def concepts_for(self, level: float) -> int | None:
        """The fewest concepts whose fidelity reaches ``level`` (e.g. 0.9), or None if the curve never does."""
        if not 0 < level <= 1:
            raise HarsanyiValueError(f"Expected a fidelity level in (0, 1], e.g. 0.95; received {level!r}.")
        hits = np.flatnonzero(self.fidelity >= level - 1e-12)
        return int(self.k[hits[0]]) if hits.size else None

    def __repr__(self) -> str:
        needed = " / ".join("—" if k is None else f"{k:,}" for k in self.summary().values())
        return (f"FidelityCurve({self.order}, {self.n_concepts:,} concepts; 90 / 95 / 99 % fidelity with {needed} "
                f"of them)")

    def summary(self, levels=(0.9, 0.95, 0.99)) -> dict[float, int | None]:
        """{level: the fewest concepts that reach it}, None where even all of them do not: AND-OR concepts leave
        out the noise ε (|ε| ≤ τ), so with all of them the fidelity ends between 1 − τ / |v(N) − v(∅)| (0.98 by
        default) and 1, and a level above that end (often 0.99) is never reached."""
        return {level: self.concepts_for(level) for level in levels}


def _dense(table, what: str) -> np.ndarray:
    """A bitmask-indexed table as float64 NumPy: an array or tensor as it is, a ValueTable's values or an
    Interactions' values (so that ``fidelity_curve(table, concepts.and_, concepts.or_)`` works as it reads)."""
    from ._interactions import Interactions
    from ._values import ValueTable

    if isinstance(table, (ValueTable, Interactions)):
        return table.values
    if hasattr(table, "and_") and hasattr(table, "or_"):  # Concepts or an Explanation: its own curve
        raise HarsanyiValueError(f"Expected {what} as one table; received {type(table).__name__}, which holds AND and "
                                 f"OR concepts: use its .fidelity_curve() (Concepts) or .fidelity() (Explanation).")
    try:
        return np.asarray(to_numpy(table), dtype=np.float64)
    except (TypeError, ValueError):
        raise HarsanyiValueError(f"Expected {what} as an array of 2ⁿ values (bitmask-indexed), a ValueTable or an "
                                 f"Interactions; received {type(table).__name__}.") from None


def _check_pair(and_values, or_values):
    and_values = _dense(and_values, "the AND concepts")
    n = n_players_of(and_values)
    if or_values is None:
        or_values = np.zeros_like(and_values)
    or_values = _dense(or_values, "the OR concepts")
    if or_values.shape != and_values.shape:
        raise HarsanyiValueError(
            f"Expected AND and OR concepts over the same 2^{n} coalitions; received shapes {and_values.shape} and "
            f"{or_values.shape}."
        )
    return and_values, or_values, n


class _Ranked:
    """Every nonzero concept of a non-empty coalition as arrays, by |value| descending (ties: AND first, then by
    mask); :class:`Concept` objects are made only for the few that are asked for."""

    def __init__(self, and_values, or_values):
        and_values, or_values, self.n = _check_pair(and_values, or_values)
        nonzero = [np.flatnonzero(table[1:]) + 1 for table in (and_values, or_values)]
        masks = np.concatenate(nonzero).astype(np.int64)
        is_or = np.concatenate([np.zeros(nonzero[0].size, dtype=bool), np.ones(nonzero[1].size, dtype=bool)])
        values = np.concatenate([and_values[nonzero[0]], or_values[nonzero[1]]])
        order = np.lexsort((masks, is_or, -np.abs(values)))
        self.masks, self.is_or, self.values = masks[order], is_or[order], values[order]

    def __len__(self) -> int:
        return int(self.masks.size)

    def concepts(self, player_names=None, positions=None) -> list[Concept]:
        """The Concept objects at ``positions`` (default: all) of the ranking."""
        positions = range(len(self)) if positions is None else positions
        out = []
        for j in positions:
            mask = int(self.masks[j])
            players = tuple(i for i in range(self.n) if mask >> i & 1)
            if player_names is not None:
                players = tuple(player_names[i] for i in players)
            out.append(Concept("OR" if self.is_or[j] else "AND", mask, players, float(self.values[j])))
        return out


def ranked_concepts(and_values, or_values=None, player_names=None, *, limit: int | None = None) -> list[Concept]:
    """Every nonzero concept of a non-empty coalition (the first ``limit`` of them), by |value| descending (ties: AND
    first, then by mask)."""
    ranked = _Ranked(and_values, or_values)
    return ranked.concepts(player_names, range(len(ranked) if limit is None else min(int(limit), len(ranked))))


def count_concepts(and_values, or_values=None) -> int:
    """The number of nonzero concepts of non-empty coalitions, without making them."""
    and_values, or_values, _ = _check_pair(and_values, or_values)
    return int(np.count_nonzero(and_values[1:]) + np.count_nonzero(or_values[1:]))


def salient_concepts(and_values, or_values=None, *, kappa: float = KAPPA, player_names=None,
                     reference: float | None = None) -> list[Concept]:
    """Concepts with |I(S)| ≥ κ · max |I| over the AND and OR concepts of non-empty coalitions.

    ``reference`` replaces that max (e.g. a max pooled over several inputs, as some papers do).
    """
    if not (isinstance(kappa, (int, float)) and 0 <= kappa <= 1):
        raise HarsanyiValueError(f"Expected kappa in [0, 1] (a fraction of the largest |I|); received {kappa!r}.")
    ranked = _Ranked(and_values, or_values)
    if not len(ranked):
        return []
    top = abs(ranked.values[0]) if reference is None else float(reference)
    return ranked.concepts(player_names, np.flatnonzero(np.abs(ranked.values) >= kappa * top))


def fidelity_curve(values, and_values, or_values=None, *, max_k: int | None = None, order: str = "top-k",
                   n_greedy: int = N_GREEDY, player_names=None, progress: bool | None = None) -> FidelityCurve:
    """The reconstruction error keeping k concepts, for k = 0 … max_k (default: every nonzero concept, at most 1024).

    ``order="top-k"`` keeps the k largest by |I|; ``order="greedy"`` keeps the last k survivors of the lab's greedy
    backward elimination (see the module docstring; ``n_greedy`` candidates per step), which keeps sets that
    reconstruct better where large concepts cancel each other. k = 0 keeps only the constant offset (the empty
    coalition's AND and OR values). Cost O(max_k · 2ⁿ) for the curve, plus the elimination's (2.1 s for the 65 535
    dividends of n = 16 on two cores, bench/sparsity.py; a progress bar from 2¹⁶ concepts, or as ``progress`` says).
    """
    v = _dense(values, "the value table")
    and_values, or_values, n = _check_pair(and_values, or_values)
    if max_k is not None and (isinstance(max_k, bool) or not isinstance(max_k, (int, np.integer)) or max_k < 0):
        raise HarsanyiValueError(f"Expected max_k, the most concepts to keep, as an integer ≥ 0 or None (every "
                                 f"nonzero concept, at most 1024); received {max_k!r}.")
    if v.shape != and_values.shape:
        raise HarsanyiValueError(f"Expected a value table of length 2^{n}; received shape {v.shape}.")
    if order not in ("top-k", "greedy"):
        raise HarsanyiValueError(f"Expected order \"top-k\" (by |I|) or \"greedy\" (backward elimination); "
                                 f"received {order!r}.")
    if not (isinstance(n_greedy, (int, np.integer)) and n_greedy >= 1):
        raise HarsanyiValueError(f"Expected n_greedy, the candidates per elimination step, to be an integer ≥ 1; "
                                 f"received {n_greedy!r}.")
    ranked = _Ranked(and_values, or_values)
    ranking = np.arange(len(ranked))
    if order == "greedy":
        show = len(ranked) >= 1 << 16 if progress is None else bool(progress)
        ranking = _eliminate(v, and_values, or_values, n, ranked, int(n_greedy), show)
    limit = min(len(ranked), 1024) if max_k is None else min(int(max_k), len(ranked))
    concepts = ranked.concepts(player_names, ranking[:limit])
    scale = abs(v[-1] - v[0])
    unit = scale if scale > 0 else 1.0
    masks = np.arange(1 << n)
    residual = v - (and_values[0] + or_values[0])
    rms, worst = [np.sqrt(np.mean(residual ** 2))], [np.abs(residual).max()]
    for c in concepts:
        if c.kind == "AND":
            hit = (masks & c.mask) == c.mask  # S ⊇ T
        else:
            hit = (masks & c.mask) != 0  # S meets T
        residual[hit] -= c.value
        rms.append(np.sqrt(np.mean(residual ** 2)))
        worst.append(np.abs(residual).max())
    return FidelityCurve(np.arange(limit + 1), np.array(rms) / unit, np.array(worst) / unit, float(scale),
                         len(ranked), order, tuple(concepts), _explanation_ratio(ranked.values[ranking], limit))


def _explanation_ratio(values: np.ndarray, limit: int) -> np.ndarray:
    """Σ_kept |I| / (Σ_kept |I| + |Σ_dropped I|) for the first 0 … limit of ``values`` (ranked) kept."""
    kept_abs = np.concatenate([[0.0], np.cumsum(np.abs(values))])[:limit + 1]
    dropped = np.abs(values.sum() - np.concatenate([[0.0], np.cumsum(values)])[:limit + 1])
    denominator = kept_abs + dropped
    return np.divide(kept_abs, denominator, out=np.ones_like(kept_abs), where=denominator > 0)


def _eliminate(v, and_values, or_values, n: int, ranked: _Ranked, n_greedy: int, progress: bool) -> np.ndarray:
    """The greedy backward elimination's ranking: positions in ``ranked``, the last removed first.

    D(u) is kept exact for a look-ahead of the weakest concepts left (the window and the next ``refresh``), moved
    after each removal by its closed form; when the look-ahead runs short, D is recomputed by transforms from the
    residual and the look-ahead refilled."""
    count = len(ranked)
    refresh = _REFRESH or max(256, math.isqrt(n << n))  # balances the look-ahead's updates against the transforms
    masks, is_or, values = ranked.masks, ranked.is_or, ranked.values
    power = np.ldexp(1.0, n - np.arange(n + 1))  # 2^{n−k} by k
    outside = power[np.bitwise_count(masks)]  # 2^{n−|u|}
    reach = np.where(is_or, float(1 << n) - outside, outside)  # |A_u|
    weakest_first = np.arange(count - 1, -1, -1)  # ``ranked`` is by |I| descending
    kept_and, kept_or = and_values.copy(), or_values.copy()
    any_or = bool(is_or.any())  # plain dividends need neither the OR transforms nor the OR cases
    ahead = np.zeros(0, dtype=np.int64)  # the look-ahead, weakest first; ``alive`` marks those not yet removed
    alive = np.zeros(0, dtype=bool)
    loaded, removed = 0, []
    bar = progress_bar(total=count, disable=not progress, unit="concept", desc=f"greedy elimination, n={n}")
    while len(removed) < count:
        if alive.sum() < n_greedy and loaded < count:  # refill, with every D recomputed from the residual
            bar.update(len(removed) - bar.n)
            ahead = np.concatenate([ahead[alive], weakest_first[loaded:loaded + refresh]])
            loaded = min(loaded + refresh, count)
            alive = np.ones(ahead.size, dtype=bool)
            residual = v - subset_zeta(kept_and) - (or_reconstruct(kept_or) if any_or else kept_or[0])
            drift = superset_zeta(residual)[masks[ahead]]
            if any_or:
                drift = np.where(is_or[ahead], or_reconstruct_adjoint(residual)[masks[ahead]], drift)
            a_mask, a_or, a_out = masks[ahead], is_or[ahead], outside[ahead]
            a_val, a_reach = values[ahead], reach[ahead]
        window = np.flatnonzero(alive)[:n_greedy]
        change = 2.0 * a_val[window] * drift[window] + a_val[window] ** 2 * a_reach[window]
        j = int(window[np.argmin(change)])  # ties: the weakest
        chosen = int(ahead[j])
        removed.append(chosen)
        alive[j] = False
        (kept_or if is_or[chosen] else kept_and)[masks[chosen]] = 0.0
        if any_or:
            drift += values[chosen] * _overlap(a_mask, a_or, a_out, masks[chosen], is_or[chosen], outside[chosen],
                                               power)
        else:
            drift += values[chosen] * power[np.bitwise_count(a_mask | masks[chosen])]
    bar.update(count - bar.n)
    bar.close()
    return np.array(removed[::-1], dtype=np.int64)


def _overlap(mask_u, or_u, out_u, mask_c: int, or_c: bool, out_c: float, power: np.ndarray) -> np.ndarray:
    """|A_u ∩ A_c| for every u (arrays; out = 2^{n−|u|}) and one concept c, in closed form (``power[k]`` = 2^{n−k}):
    for AND u and AND c the S ⊇ u ∪ c; with an OR on either side, inclusion–exclusion over the S that miss it."""
    full = power[0]
    together = power[np.bitwise_count(mask_u | mask_c)]  # 2^{n−|u ∪ c|}
    apart = np.where((mask_u & mask_c) == 0, out_u * out_c / full, 0.0)  # S ⊇ one, missing the other
    if or_c:  # AND u: S ⊇ u meeting c; OR u: S meeting both
        return np.where(or_u, full - out_u - out_c + together, out_u - apart)
    return np.where(or_u, out_c - apart, together)  # OR u: S ⊇ c meeting u; AND u: S ⊇ u ∪ c
