"""The registry of interaction indices, each a weighted superset-sum of Harsanyi dividends (SPEC §4).

Every index I of order k assigns to a coalition T with |T| = t ≤ k the value

    I(T) = Σ_{S⊇T} m(S) · w_k(|S|, t)

where m are the Harsanyi dividends. One superset-zeta of the re-weighted dividends gives every coalition of size t
at once, so all orders ≤ k cost O(k·n·2ⁿ). An entry of the registry is nothing but its weight function w_k(s, t)
and the facts a certificate can check (efficiency). Conventions (what the empty coalition holds) follow shapiq's
``ExactComputer`` for the same index and order.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import comb
from typing import Callable

import numpy as np

from ._array import like, n_players_of
from ._transforms import popcounts, superset_zeta
from .exceptions import HarsanyiValueError

__all__ = ["IndexSpec", "INDICES", "get_index", "compute_index"]

Weights = Callable[[int, int, int], np.ndarray]  # (n, order, t) -> w[s] for s = 0 … n


@dataclass(frozen=True)
class IndexSpec:
    """One registered index: its name, what it is, its weights, and which axioms a certificate checks."""

    name: str
    title: str
    weights: Weights
    efficient: bool  # the held coalitions of size ≥ 1 sum to v(N) − v(∅)
    fixed_order: int | None = None  # values (SV, BV) are defined for one order only


def _sizes(n: int) -> np.ndarray:
    return np.arange(n + 1, dtype=np.float64)


def _only_own(n: int, t: int) -> np.ndarray:
    """w(s, t) = [s = t]: the coalition keeps its own dividend (the Möbius transform)."""
    w = np.zeros(n + 1)
    w[t] = 1.0
    return w


def _above(n: int, t: int, values: np.ndarray) -> np.ndarray:
    """``values`` where s ≥ t, 0 below (coalitions smaller than T are not supersets of T)."""
    return np.where(_sizes(n) >= t, values, 0.0)


def _sii(n: int, order: int, t: int) -> np.ndarray:
    if t == 0 and order == 1:  # shapiq: SII of order 1 is the Shapley value, whose empty entry is v(∅)
        return _only_own(n, 0)
    s = _sizes(n)
    return _above(n, t, 1.0 / np.maximum(s - t + 1.0, 1.0))


def _bii(n: int, order: int, t: int) -> np.ndarray:
    s = _sizes(n)
    return _above(n, t, np.exp2(-np.maximum(s - t, 0.0)))


def _shapley_value(n: int, order: int, t: int) -> np.ndarray:
    if t == 0:
        return _only_own(n, 0)
    return _above(n, 1, 1.0 / np.maximum(_sizes(n), 1.0))


def _chii(n: int, order: int, t: int) -> np.ndarray:
    if t == 0:
        return _only_own(n, 0)
    return _above(n, t, t / np.maximum(_sizes(n), 1.0))


def _moebius(n: int, order: int, t: int) -> np.ndarray:
    return _only_own(n, t)


def _stii(n: int, order: int, t: int) -> np.ndarray:
    """Shapley-Taylor: dividends below the top order; at |T| = k each larger dividend is shared by its C(|S|, k) k-subsets."""
    if t < order:
        return _only_own(n, t)
    return np.array([1.0 / comb(s, order) if s >= order else 0.0 for s in range(n + 1)])


def _fsii(n: int, order: int, t: int) -> np.ndarray:
    """Faith-Shap, Möbius form (Tsai, Yeh & Ravikumar 2023, Thm. 19):

    I(T) = m(T) + (−1)^{k−t} · t/(k+t) · C(k, t) · Σ_{S⊋T, |S|>k} C(|S|−1, k) / C(|S|+k−1, k+t) · m(S).
    """
    w = _only_own(n, t)
    for s in range(order + 1, n + 1):
        w[s] = (-1) ** (order - t) * t / (order + t) * comb(order, t) * comb(s - 1, order) / comb(s + order - 1, order + t)
    return w


def _fbii(n: int, order: int, t: int) -> np.ndarray:
    """Faith-Banzhaf, Möbius form: I(T) = m(T) + (−1)^{k−t} Σ_{S⊋T, |S|>k} 2^{−(|S|−t)} C(|S|−t−1, k−t) · m(S)."""
    w = _only_own(n, t)
    for s in range(order + 1, n + 1):
        w[s] = (-1) ** (order - t) * 2.0 ** (-(s - t)) * comb(s - t - 1, order - t)
    return w


def bernoulli_numbers(count: int) -> list[Fraction]:
    """B_0 … B_{count-1} with the convention B_1 = −1/2 (exact rationals)."""
    numbers: list[Fraction] = []
    for m in range(count):
        numbers.append(Fraction(1) if m == 0 else -sum(comb(m + 1, j) * numbers[j] for j in range(m)) / (m + 1))
    return numbers


def _ksii(n: int, order: int, t: int) -> np.ndarray:
    """k-SII (Bordt & von Luxburg 2023): k-SII(T) = Σ_{j=0}^{k−t} B_j Σ_{R⊇T, |R|=t+j} SII(R), in dividends:

    w(s, t) = Σ_{j=0}^{min(k−t, s−t)} B_j · C(s−t, j) / (s−t−j+1).  It equals [s = t] for s ≤ k.
    The empty coalition holds v(∅), as in shapiq.
    """
    if t == 0:
        return _only_own(n, 0)
    bern = bernoulli_numbers(order - t + 1)
    w = np.zeros(n + 1)
    for s in range(t, n + 1):
        d = s - t
        w[s] = float(sum(bern[j] * comb(d, j) / Fraction(d - j + 1) for j in range(min(order - t, d) + 1)))
    return w


INDICES: dict[str, IndexSpec] = {
    spec.name: spec
    for spec in [
        IndexSpec("Moebius", "Harsanyi dividends (Möbius transform, AND interactions)", _moebius, efficient=True),
        IndexSpec("SV", "Shapley value", _shapley_value, efficient=True, fixed_order=1),
        IndexSpec("BV", "Banzhaf value", _bii, efficient=False, fixed_order=1),
        IndexSpec("SII", "Shapley interaction index (Grabisch & Roubens 1999)", _sii, efficient=False),
        IndexSpec("BII", "Banzhaf interaction index", _bii, efficient=False),
        IndexSpec("CHII", "Chaining interaction index", _chii, efficient=False),
        IndexSpec("STII", "Shapley-Taylor interaction index (Sundararajan et al. 2020)", _stii, efficient=True),
        IndexSpec("FSII", "Faith-Shap interaction index (Tsai et al. 2023)", _fsii, efficient=True),
        IndexSpec("FBII", "Faith-Banzhaf interaction index (Tsai et al. 2023)", _fbii, efficient=False),
        IndexSpec("k-SII", "k-Shapley interaction index (Bordt & von Luxburg 2023)", _ksii, efficient=True),
    ]
}


def get_index(name: str) -> IndexSpec:
    try:
        return INDICES[name]
    except (KeyError, TypeError):
        raise HarsanyiValueError(
            f"Unknown interaction index {name!r}. Valid names: {', '.join(map(repr, INDICES))}."
        ) from None


def check_order(spec: IndexSpec, order: int | None, n: int) -> int:
    """The order to compute: ``order`` validated against the index and the number of players."""
    if order is None:
        order = spec.fixed_order if spec.fixed_order is not None else (n if spec.name == "Moebius" else 2)
    if isinstance(order, bool) or not isinstance(order, (int, np.integer)):
        raise HarsanyiValueError(f"Expected an integer order for {spec.name}; received {order!r}.")
    order = int(order)
    if spec.fixed_order is not None and order != spec.fixed_order:
        raise HarsanyiValueError(
            f"{spec.name} is defined for order {spec.fixed_order} only; received order={order}. "
            f"Use the matching interaction index (e.g. 'SII' or 'k-SII') for higher orders."
        )
    if not 1 <= order <= n:
        raise HarsanyiValueError(
            f"Expected an order between 1 and the number of players ({n}) for {spec.name}; received order={order}."
        )
    return order


def _singleton_sums(f):
    """Σ_{S∋i} f(S) for every player i, by one pass over each bit: shape (..., n)."""
    n = n_players_of(f)
    batch = tuple(f.shape[:-1])
    sums = [f.reshape(*batch, -1, 2, 1 << i)[..., 1, :].sum(axis=(-2, -1)) for i in range(n)]
    if isinstance(f, np.ndarray):
        return np.stack(sums, axis=-1)
    import torch

    return torch.stack(sums, dim=-1)


def compute_index(dividends, spec: IndexSpec, order: int):
    """Dense table (length 2ⁿ) of ``spec`` for every coalition of size ≤ ``order``; 0 at larger coalitions."""
    n = n_players_of(dividends)
    pop_np = popcounts(n)
    pop = like(pop_np.astype(np.int64), dividends)
    out = dividends * 0.0
    for t in range(order + 1):
        w = spec.weights(n, order, t)
        if not np.any(w[t + 1 :]):  # only the coalition's own dividend: nothing to sum
            sel = like(pop_np == t, dividends)
            out[..., sel] = dividends[..., sel] * float(w[t])
            continue
        weighted = dividends * like(w, dividends)[pop]  # (..., 2^n): m(S)·w(|S|, t)
        if t == 0:
            out[..., 0] = weighted.sum(axis=-1)
        elif t == 1:
            singles = (1 << np.arange(n)).astype(np.int64)
            out[..., like(singles, dividends)] = _singleton_sums(weighted)
        else:
            sel = like(pop_np == t, dividends)
            out[..., sel] = superset_zeta(weighted)[..., sel]
    return out
