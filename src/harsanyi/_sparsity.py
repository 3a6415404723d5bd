"""Sparsity analytics of a decomposition (SPEC §3): salient concepts and the fidelity curve.

A decomposition is AND concepts (a concept T adds I(T) to every S ⊇ T) and optionally OR concepts (T adds I(T) to
every S that meets T). The empty coalition is the constant offset, not a concept: it is always kept and never
counted. Concepts are ranked by |I| over AND and OR together.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._array import n_players_of, to_numpy
from .exceptions import HarsanyiValueError

__all__ = ["Concept", "FidelityCurve", "ranked_concepts", "salient_concepts", "fidelity_curve", "KAPPA"]

KAPPA = 0.05  # a concept is salient when |I(S)| ≥ κ · max |I| over the same input's AND and OR concepts


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


@dataclass(frozen=True)
class FidelityCurve:
    """Reconstruction error over all 2ⁿ masked inputs when only the top-k concepts are kept, for k = ``k``.

    ``rms_error[j]`` = sqrt(mean_S (v(S) − v̂_k(S))²) / |v(N) − v(∅)| and ``max_error[j]`` = max_S |…| / |v(N) − v(∅)|
    with k = ``k[j]``; fidelity = 1 − rms_error. ``n_concepts`` is the number of nonzero concepts in all.
    """

    k: np.ndarray
    rms_error: np.ndarray
    max_error: np.ndarray
    scale: float
    n_concepts: int

    @property
    def fidelity(self) -> np.ndarray:
        return 1.0 - self.rms_error

    def concepts_for(self, level: float) -> int | None:
        """The fewest concepts whose fidelity reaches ``level`` (e.g. 0.9), or None if the curve never does."""
        if not 0 < level <= 1:
            raise HarsanyiValueError(f"Expected a fidelity level in (0, 1], e.g. 0.95; received {level!r}.")
        hits = np.flatnonzero(self.fidelity >= level - 1e-12)
        return int(self.k[hits[0]]) if hits.size else None

    def summary(self, levels=(0.9, 0.95, 0.99)) -> dict[float, int | None]:
        return {level: self.concepts_for(level) for level in levels}


def _check_pair(and_values, or_values):
    and_values = np.asarray(to_numpy(and_values), dtype=np.float64)
    n = n_players_of(and_values)
    if or_values is None:
        or_values = np.zeros_like(and_values)
    or_values = np.asarray(to_numpy(or_values), dtype=np.float64)
    if or_values.shape != and_values.shape:
        raise HarsanyiValueError(
            f"Expected AND and OR concepts over the same 2^{n} coalitions; received shapes {and_values.shape} and "
            f"{or_values.shape}."
        )
    return and_values, or_values, n


def ranked_concepts(and_values, or_values=None, player_names=None) -> list[Concept]:
    """Every nonzero concept of a non-empty coalition, by |value| descending (ties: AND first, then by mask)."""
    and_values, or_values, n = _check_pair(and_values, or_values)
    kinds, masks, values = [], [], []
    for kind, table in (("AND", and_values), ("OR", or_values)):
        nz = np.flatnonzero(table)
        nz = nz[nz != 0]
        kinds.extend([kind] * nz.size)
        masks.append(nz)
        values.append(table[nz])
    masks_all = np.concatenate(masks)
    values_all = np.concatenate(values)
    order = np.lexsort((masks_all, np.array([k == "OR" for k in kinds]), -np.abs(values_all)))
    out = []
    for j in order:
        mask = int(masks_all[j])
        players = tuple(i for i in range(n) if mask >> i & 1)
        if player_names is not None:
            players = tuple(player_names[i] for i in players)
        out.append(Concept(kinds[j], mask, players, float(values_all[j])))
    return out


def salient_concepts(and_values, or_values=None, *, kappa: float = KAPPA, player_names=None,
                     reference: float | None = None) -> list[Concept]:
    """Concepts with |I(S)| ≥ κ · max |I| over the AND and OR concepts of non-empty coalitions.

    ``reference`` replaces that max (e.g. a max pooled over several inputs, as some papers do).
    """
    if not (isinstance(kappa, (int, float)) and 0 <= kappa <= 1):
        raise HarsanyiValueError(f"Expected kappa in [0, 1] (a fraction of the largest |I|); received {kappa!r}.")
    concepts = ranked_concepts(and_values, or_values, player_names)
    if not concepts:
        return []
    top = abs(concepts[0].value) if reference is None else float(reference)
    return [c for c in concepts if abs(c.value) >= kappa * top]


def fidelity_curve(values, and_values, or_values=None, *, max_k: int | None = None) -> FidelityCurve:
    """The top-k reconstruction error for k = 0 … max_k (default: every nonzero concept, at most 1024).

    k = 0 keeps only the constant offset (the empty coalition's AND and OR values). Cost O(max_k · 2ⁿ).
    """
    v = np.asarray(to_numpy(values), dtype=np.float64)
    and_values, or_values, n = _check_pair(and_values, or_values)
    if v.shape != and_values.shape:
        raise HarsanyiValueError(f"Expected a value table of length 2^{n}; received shape {v.shape}.")
    concepts = ranked_concepts(and_values, or_values)
    limit = min(len(concepts), 1024) if max_k is None else min(int(max_k), len(concepts))
    scale = abs(v[-1] - v[0])
    unit = scale if scale > 0 else 1.0
    masks = np.arange(1 << n)
    residual = v - (and_values[0] + or_values[0])
    rms, worst = [np.sqrt(np.mean(residual ** 2))], [np.abs(residual).max()]
    for c in concepts[:limit]:
        if c.kind == "AND":
            hit = (masks & c.mask) == c.mask  # S ⊇ T
        else:
            hit = (masks & c.mask) != 0  # S meets T
        residual[hit] -= c.value
        rms.append(np.sqrt(np.mean(residual ** 2)))
        worst.append(np.abs(residual).max())
    return FidelityCurve(np.arange(limit + 1), np.array(rms) / unit, np.array(worst) / unit, float(scale),
                         len(concepts))
