"""Concepts across many inputs: how often each one is salient, whether it keeps its sign, whether a small dictionary
of frequent concepts explains new inputs, and whether two models use the same ones (REFERENCE §2.3).

These are the lab's tests of the claim that a network's concepts are symbolic (Li & Zhang, ICML 2023): besides being
sparse, a concept should *recur* on the inputs of a class (sample-wise transferability), push the output the same way
wherever it appears (discrimination power), and be found by other models trained on the same task (model-wise
transferability). Every input must have the same players, so that a coalition means the same thing everywhere:
tabular features, or fixed image cells of aligned images; not the words of different sentences.

For input x, Ω_x is its set of salient concepts: (kind, coalition) with |I(S | x)| ≥ κ · max |I(· | x)| over its AND
and OR concepts (the empty coalition, the constant offset, is never a concept). Across inputs x₁ … x_M:

* frequency f(S) = #{x : S ∈ Ω_x} / M, split into m⁺(S) and m⁻(S) by the sign of I(S | x);
* discrimination β(S) = max(m⁺, m⁻) / (m⁺ + m⁻): 1 when the concept always pushes the same way;
* the dictionary D_k = the k most frequent concepts, and its coverage ρ(k) = mean_x |D_k ∩ Ω_x| / |Ω_x|, measured
  on the inputs it was built from or, the honest test, on held-out inputs;
* between two models on the same inputs, γ(x) = |Ω¹_x ∩ Ω²_x| / |Ω¹_x|, against the share a random set of |Ω¹_x|
  concepts would reach, |Ω²_x| / (number of possible concepts).

Everything is computed on arrays of concept keys (bitmask, plus 2ⁿ for an OR concept): no loop over coalitions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._sparsity import KAPPA, _check_pair
from .exceptions import HarsanyiValueError

__all__ = ["ConceptStatistics", "RecurringConcept", "Agreement", "concept_statistics"]

BINS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)  # the lab's frequency bins for discrimination power


@dataclass(frozen=True)
class RecurringConcept:
    """One concept across the inputs: salient on ``positive`` inputs with I > 0 and ``negative`` with I < 0."""

    kind: str
    mask: int
    players: tuple
    frequency: float
    positive: int
    negative: int

    @property
    def discrimination(self) -> float:
        return max(self.positive, self.negative) / (self.positive + self.negative)

    @property
    def order(self) -> int:
        return int(self.mask).bit_count()

    @property
    def label(self) -> str:
        """The concept as it reads, e.g. ``AND(age AND sex)``."""
        joiner = " AND " if self.kind == "AND" else " OR "
        return f"{self.kind}({joiner.join(map(str, self.players))})"

    def __str__(self) -> str:
        return f"{self.label}: salient on {self.frequency:.0%} of the inputs, {self.positive} +, {self.negative} −"


@dataclass(frozen=True, repr=False)
class Agreement:
    """Model-wise transferability on paired inputs: ``share[x]`` = |Ω¹_x ∩ Ω²_x| / |Ω¹_x| (NaN where Ω¹_x is empty);
    ``chance[x]`` = |Ω²_x| / ``possible``, the expected share of a random set of concepts; ``same_sign[x]``: of the
    concepts salient in both, the share with the same sign (NaN where there are none)."""

    share: np.ndarray
    chance: np.ndarray
    same_sign: np.ndarray
    possible: int

    @property
    def mean(self) -> float:
        return float(np.nanmean(self.share))

    @property
    def lift(self) -> float:
        """How many times the chance share the models agree: mean share / mean chance."""
        return self.mean / float(np.nanmean(np.where(np.isnan(self.share), np.nan, self.chance)))

    def __repr__(self) -> str:
        sign = np.nanmean(self.same_sign) if np.isfinite(self.same_sign).any() else float("nan")
        return (f"Agreement({self.share.size} inputs: {100 * self.mean:.3g} % of the salient concepts found by the "
                f"other model too, {self.lift:.3g}× chance; {100 * sign:.3g} % of those with the same sign)")


def _decomposition(item, position: int):
    """(AND values, OR values or None, player names) of one input's result."""
    from ._andor import Concepts
    from ._explanation import Explanation
    from ._interactions import Interactions

    if isinstance(item, Concepts):
        return item.and_.values, item.or_.values, item.player_names
    if isinstance(item, Explanation):
        return item.and_, item.or_, item.player_names
    if isinstance(item, Interactions):
        return item.values, None, item.player_names
    if isinstance(item, tuple) and len(item) == 2:
        return item[0], item[1], None
    raise HarsanyiValueError(
        f"Expected each input's result as Concepts (table.and_or()), an Explanation, Interactions (e.g. "
        f"table.harsanyi()) or a pair (and_values, or_values); item {position} is {type(item).__name__}."
    )


class ConceptStatistics:
    """The salient concepts of many inputs with the same players, and what recurs among them.

    Build it with :func:`concept_statistics`. Concepts are ranked by frequency (ties: AND before OR, then by
    coalition); ``keys``, ``positive``, ``negative`` are arrays in that order over every concept salient at least once.
    """

    def __init__(self, n: int, n_inputs: int, input_of: np.ndarray, keys: np.ndarray, signs: np.ndarray, *,
                 kappa: float, has_or: bool, player_names):
        self.n_players, self.n_inputs, self.kappa = n, n_inputs, kappa
        self.player_names = None if player_names is None else tuple(player_names)
        self._has_or = has_or
        order = np.lexsort((keys, input_of))
        self._input_of, self._keys, self._signs = input_of[order], keys[order], signs[order]
        self.salient_counts = np.bincount(self._input_of, minlength=n_inputs)  # |Ω_x| per input
        unique, inverse = np.unique(self._keys, return_inverse=True)
        positive = np.bincount(inverse, weights=self._signs > 0, minlength=unique.size).astype(np.int64)
        negative = np.bincount(inverse, weights=self._signs < 0, minlength=unique.size).astype(np.int64)
        rank = np.lexsort((unique & ((1 << n) - 1), unique >> n, -(positive + negative)))
        self.keys, self.positive, self.negative = unique[rank], positive[rank], negative[rank]
        self._sorted_keys = unique  # ascending, for lookups; self._rank_of_sorted[j] = rank of unique[j]
        self._rank_of_sorted = np.empty_like(rank)
        self._rank_of_sorted[rank] = np.arange(rank.size)

    def __len__(self) -> int:
        return int(self.keys.size)

    def __repr__(self) -> str:
        return (f"ConceptStatistics({self.n_inputs} inputs, {self.n_players} players, κ = {self.kappa:g}: "
                f"{len(self)} distinct salient concepts, {self.salient_counts.mean():.1f} per input)")

    @property
    def frequency(self) -> np.ndarray:
        """f(S) = #{inputs where S is salient} / #inputs, in ranking order."""
        return (self.positive + self.negative) / self.n_inputs

    @property
    def discrimination(self) -> np.ndarray:
        """β(S) = max(m⁺, m⁻) / (m⁺ + m⁻), in ranking order."""
        return np.maximum(self.positive, self.negative) / (self.positive + self.negative)

    def top(self, k: int = 10) -> list[RecurringConcept]:
        """The ``k`` most frequent concepts (the dictionary D_k)."""
        k = _positive_int(k, "k")
        out = []
        for j in range(min(k, len(self))):
            key = int(self.keys[j])
            mask = key & ((1 << self.n_players) - 1)
            players = tuple(i for i in range(self.n_players) if mask >> i & 1)
            if self.player_names is not None:
                players = tuple(self.player_names[i] for i in players)
            out.append(RecurringConcept("OR" if key >> self.n_players else "AND", mask, players,
                                        float(self.frequency[j]), int(self.positive[j]), int(self.negative[j])))
        return out

    def coverage(self, k: int | None = None, *, on: "ConceptStatistics | None" = None,
                 per_input: bool = False) -> np.ndarray:
        """ρ(1) … ρ(k): the mean share of an input's salient concepts that lie in the dictionary of this statistics'
        k most frequent concepts, over the inputs of ``on`` (held-out inputs with the same players; default: these
        inputs, which flatters the dictionary). Inputs without salient concepts are left out. ``k`` defaults to the
        whole dictionary. Memory O(salient concepts + k). ``per_input=True``: the shares themselves, shape (inputs
        of ``on``, k), NaN rows for the inputs left out (for error bars)."""
        target = self if on is None else on
        if not isinstance(target, ConceptStatistics):
            raise HarsanyiValueError(f"Expected on= to be a ConceptStatistics; received {type(on).__name__}.")
        self._check_same_players(target, "on=")
        k = len(self) if k is None else _positive_int(k, "k")
        rank = self._rank(target._keys, missing=k)
        sizes = target.salient_counts
        used = sizes > 0
        if per_input:  # an (inputs, k) table, made only when asked for
            counts = np.bincount(target._input_of * (k + 1) + rank, minlength=target.n_inputs * (k + 1))
            inside = np.cumsum(counts.reshape(target.n_inputs, k + 1)[:, :k], axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                return np.where(used[:, None], inside / sizes[:, None], np.nan)
        if not used.any():
            return np.zeros(k)
        # each salient concept of input x adds 1 / (|Ω_x| · #inputs used) to ρ(k) for every k beyond its rank
        weight = 1.0 / (sizes[target._input_of] * used.sum())
        return np.cumsum(np.bincount(rank, weights=weight, minlength=k + 1)[:k])

    def ceiling(self, k: int) -> np.ndarray:
        """The most any dictionary of 1 … k concepts could cover of these inputs, mean_x min(k, |Ω_x|) / |Ω_x|
        (inputs without salient concepts left out): an input with many salient concepts keeps ρ(k) low whatever
        the dictionary."""
        k = _positive_int(k, "k")
        sizes = self.salient_counts[self.salient_counts > 0]
        if not sizes.size:
            return np.zeros(k)
        return (np.minimum(np.arange(1, k + 1)[:, None], sizes) / sizes).mean(axis=1)

    @property
    def discrimination_by_chance(self) -> np.ndarray:
        """E[β(S)] if each of the concept's m⁺ + m⁻ appearances had a random sign (a fair coin), in ranking order:
        E[max(X, m − X)] / m with X ~ Binomial(m, ½). β is at least ½ and is 1 for a concept seen once, so it
        means something only above this."""
        appearances = self.positive + self.negative
        out = np.empty(appearances.shape, dtype=np.float64)
        if not appearances.size:
            return out
        log_factorial = np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, appearances.max() + 1)))])
        for m in np.unique(appearances):  # one binomial per distinct count (at most the number of inputs)
            x = np.arange(m + 1)
            pmf = np.exp(log_factorial[m] - log_factorial[x] - log_factorial[m - x] - m * math.log(2.0))
            out[appearances == m] = float((pmf * np.maximum(x, m - x)).sum() / m)
        return out

    def discrimination_by_frequency(self, bins=BINS) -> dict:
        """Discrimination power by frequency bin, as the lab reports it: ``edges``; per bin the number of concepts,
        their mean β and the mean β that random signs would give (NaN for an empty bin); ``weighted`` and
        ``weighted_chance``: the frequency-weighted mean β of all concepts, and the same under random signs."""
        edges = np.asarray(bins, dtype=np.float64)
        if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
            raise HarsanyiValueError(f"Expected increasing bin edges, e.g. {BINS}; received {bins!r}.")
        frequency, beta, chance = self.frequency, self.discrimination, self.discrimination_by_chance
        # the last bin is closed, so a concept salient on every input (f = 1) falls into it
        which = np.clip(np.searchsorted(edges, frequency, side="right") - 1, 0, edges.size - 2)
        inside = (frequency >= edges[0]) & (frequency <= edges[-1])
        count = np.bincount(which[inside], minlength=edges.size - 1)

        def means(values):
            total = np.bincount(which[inside], weights=values[inside], minlength=edges.size - 1)
            return np.where(count > 0, total / np.maximum(count, 1), np.nan)

        def weighted(values):
            return float((frequency * values).sum() / frequency.sum()) if len(self) else float("nan")

        return {"edges": edges, "count": count, "mean": means(beta), "chance": means(chance),
                "weighted": weighted(beta), "weighted_chance": weighted(chance)}

    def agreement(self, other: "ConceptStatistics") -> Agreement:
        """Model-wise transferability: this model's salient concepts found salient by ``other`` (another model on
        the same inputs, in the same order), input by input, with the share a random choice would reach."""
        if not isinstance(other, ConceptStatistics):
            raise HarsanyiValueError(f"Expected another ConceptStatistics; received {type(other).__name__}.")
        self._check_same_players(other, "the other statistics")
        if other.n_inputs != self.n_inputs:
            raise HarsanyiValueError(
                f"Expected the same inputs for both models; received {self.n_inputs} and {other.n_inputs} inputs. "
                f"Explain the same inputs, in the same order, with both models.")
        width = np.int64(1) << np.int64(self.n_players + 1)
        mine = self._input_of * width + self._keys
        theirs = other._input_of * width + other._keys
        hit = np.isin(mine, theirs, assume_unique=True)
        both = np.bincount(self._input_of[hit], minlength=self.n_inputs)
        position = np.searchsorted(theirs, mine[hit])  # both sorted by (input, key)
        same = np.bincount(self._input_of[hit], weights=self._signs[hit] == other._signs[position],
                           minlength=self.n_inputs)
        possible = (1 << self.n_players) - 1
        if self._has_or or other._has_or:
            possible += (1 << self.n_players) - 1 - self.n_players  # OR concepts of ≥ 2 players
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(self.salient_counts > 0, both / self.salient_counts, np.nan)
            same_sign = np.where(both > 0, same / np.maximum(both, 1), np.nan)
        return Agreement(share, other.salient_counts / possible, same_sign, possible)

    def _rank(self, keys: np.ndarray, missing: int) -> np.ndarray:
        """Each key's rank in this dictionary, or ``missing`` where it is not in it (or ranks beyond it)."""
        if not self._sorted_keys.size:
            return np.full(keys.shape, missing, dtype=np.int64)
        position = np.minimum(np.searchsorted(self._sorted_keys, keys), self._sorted_keys.size - 1)
        found = self._sorted_keys[position] == keys
        return np.where(found, np.minimum(self._rank_of_sorted[position], missing), missing)

    def _check_same_players(self, other: "ConceptStatistics", what: str) -> None:
        if other.n_players != self.n_players:
            raise HarsanyiValueError(
                f"Expected the same {self.n_players} players in {what}; received {other.n_players}. Concepts are "
                f"compared by coalition, so every input must have the same players.")
        if self.player_names is not None and other.player_names is not None and \
                self.player_names != other.player_names:
            raise HarsanyiValueError(
                f"Expected the same players in {what}; received {other.player_names} against {self.player_names}.")


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise HarsanyiValueError(f"Expected {name} to be a positive integer; received {value!r}.")
    return int(value)


def concept_statistics(results, *, kappa: float = KAPPA, pooled: bool = False) -> ConceptStatistics:
    """The salient concepts of many inputs with the same players, for frequency, discrimination, dictionary
    coverage and model agreement (see :class:`ConceptStatistics`).

    ``results``: one result per input, each Concepts (``table.and_or()``), an Explanation, Interactions (e.g. the
    Harsanyi dividends ``table.harsanyi()``: AND concepts only) or a pair (and_values, or_values) of arrays over all
    2ⁿ coalitions. The lab computes these statistics within one class (pass the inputs of one class).
    ``kappa``: a concept is salient on an input when |I| ≥ κ · the largest |I| of that input (``pooled=True``: the
    largest over all the inputs, as some of the lab's notebooks do).
    """
    if not (isinstance(kappa, (int, float)) and not isinstance(kappa, bool) and 0 < kappa <= 1):
        raise HarsanyiValueError(f"Expected kappa in (0, 1] (a fraction of the largest |I|); received {kappa!r}.")
    results = list(results)
    if not results:
        raise HarsanyiValueError("Expected the results of at least one input; received none.")
    tables, names, has_or = [], None, False
    for position, item in enumerate(results):
        and_values, or_values, item_names = _decomposition(item, position)
        has_or = has_or or or_values is not None
        and_values, or_values, n = _check_pair(and_values, or_values)
        if tables and n != tables[0][2]:
            raise HarsanyiValueError(
                f"Expected every input to have the same players; input 0 has {tables[0][2]} and input {position} "
                f"has {n}. Concepts are compared by coalition, so the players must mean the same on every input.")
        if item_names is not None:
            if names is not None and tuple(item_names) != names:
                raise HarsanyiValueError(
                    f"Expected every input to have the same players; input {position} has {tuple(item_names)}, an "
                    f"earlier one {names}.")
            names = tuple(item_names)
        tables.append((and_values, or_values, n))
    n = tables[0][2]
    largest = [max(np.abs(a[1:]).max(initial=0.0), np.abs(o[1:]).max(initial=0.0)) for a, o, _ in tables]
    inputs, keys, signs = [], [], []
    for x, ((and_values, or_values, _), top) in enumerate(zip(tables, largest)):
        threshold = kappa * (max(largest) if pooled else top)
        if threshold == 0:  # no concept at all on this input (a constant game)
            continue
        for kind, values in enumerate((and_values, or_values)):
            masks = np.flatnonzero(np.abs(values[1:]) >= threshold) + 1
            keys.append(masks.astype(np.int64) | (np.int64(kind) << np.int64(n)))
            signs.append(np.sign(values[masks]).astype(np.int8))
            inputs.append(np.full(masks.size, x, dtype=np.int64))
    empty = np.zeros(0, dtype=np.int64)
    return ConceptStatistics(n, len(tables), np.concatenate(inputs) if inputs else empty,
                             np.concatenate(keys) if keys else empty,
                             np.concatenate(signs) if signs else empty.astype(np.int8),
                             kappa=float(kappa), has_or=has_or, player_names=names)
