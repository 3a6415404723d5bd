"""The registry of interaction indices, each a weighted superset-sum of Harsanyi dividends (SPEC §4).

Every index I of order k assigns to a coalition T with |T| = t ≤ k the value

    I(T) = Σ_{S⊇T} m(S) · w_k(|S|, t)

where m are the Harsanyi dividends. One superset-zeta of the re-weighted dividends gives every coalition of size t
at once, so all orders ≤ k cost O(k·n·2ⁿ). An entry of the registry is nothing but its weight function w_k(s, t)
and the facts a certificate can check (efficiency). Conventions (what the empty coalition holds) follow shapiq's
``ExactComputer`` for the same index and order.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from fractions import Fraction
from math import comb
from typing import Callable

import numpy as np

from ._array import is_torch, like, n_players_of
from ._transforms import masks_of_size, popcounts, superset_zeta
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
    """Σ_{S∋i} f(S) for every player i, shape (..., n), in two reductions.

    Viewed as a (2^{n−L}, 2^L) matrix (low bits along rows), the sums over the low bits need only the column sums
    and those over the high bits only the row sums; each is then one small product with a 0/1 bit matrix.
    """
    n = n_players_of(f)
    batch = tuple(f.shape[:-1])
    low = (n + 1) // 2
    grid = f.reshape(*batch, 1 << (n - low), 1 << low)
    low_sums = grid.sum(axis=-2) @ like(_bit_matrix(low), f)  # (..., low)
    high_sums = grid.sum(axis=-1) @ like(_bit_matrix(n - low), f)  # (..., n − low)
    if isinstance(f, np.ndarray):
        return np.concatenate([low_sums, high_sums], axis=-1)
    import torch

    return torch.cat([low_sums, high_sums], dim=-1)


def _pair_sums(f):
    """Σ_{S⊇{i,j}} f(S) for every pair i < j, shape (..., n(n−1)/2) in the order of ``masks_of_size(n, 2)``.

    With the table as a (2^{n−L}, 2^L) matrix G (low bits along rows) and B the 0/1 bit matrices: pairs of low
    bits are B_Lᵀ diag(column sums) B_L, pairs of high bits B_Hᵀ diag(row sums) B_H, and mixed pairs B_Hᵀ G B_L:
    one pass over the table and an O(2ⁿ·n/2) matrix product instead of a superset butterfly.
    """
    n = n_players_of(f)
    batch = tuple(f.shape[:-1])
    low = (n + 1) // 2
    grid = f.reshape(*batch, 1 << (n - low), 1 << low)
    b_low, b_high = like(_bit_matrix(low), f), like(_bit_matrix(n - low), f)
    low_low = _t(grid.sum(axis=-2)[..., :, None] * b_low) @ b_low  # (..., L, L)
    high_high = _t(grid.sum(axis=-1)[..., :, None] * b_high) @ b_high  # (..., H, H)
    high_low = _t(b_high) @ (grid @ b_low)  # (..., H, L)
    pairs = masks_of_size(n, 2)
    i = np.log2(pairs & -pairs).astype(np.int64)  # lower player of each pair
    j = np.log2(pairs).astype(np.int64)  # higher player
    out = f.new_empty((*batch, pairs.size)) if is_torch(f) else np.empty((*batch, pairs.size))
    for block, rows, cols, where in ((low_low, j, i, j < low), (high_high, j - low, i - low, i >= low),
                                     (high_low, j - low, i, (i < low) & (j >= low))):
        pos = np.flatnonzero(where)
        out[..., like(pos, f)] = block[..., like(rows[pos], f), like(cols[pos], f)]
    return out


def _t(a):
    """Swap the last two axes (NumPy or torch)."""
    return a.transpose(-1, -2) if is_torch(a) else np.swapaxes(a, -1, -2)


@functools.lru_cache(maxsize=8)
def _bit_matrix(n: int) -> np.ndarray:
    """B[S, i] = 1 if bit i of S is set: shape (2ⁿ, n), float64 (cached: never write to it)."""
    return ((np.arange(1 << n)[:, None] >> np.arange(n)) & 1).astype(np.float64)


@functools.lru_cache(maxsize=4)
def _torch_popcounts(n: int, device: str):
    """popcounts(n) as an int64 tensor on ``device`` (cached: an index for gathers, never written to)."""
    import torch

    return torch.as_tensor(popcounts(n).astype(np.int64), device=device)


def compute_index(dividends, spec: IndexSpec, order: int):
    """Dense table (length 2ⁿ) of ``spec`` for every coalition of size ≤ ``order``; 0 at larger coalitions."""
    n = n_players_of(dividends)
    pop = _torch_popcounts(n, str(dividends.device)) if is_torch(dividends) else popcounts(n)
    out = dividends.new_zeros(dividends.shape) if is_torch(dividends) else np.zeros(dividends.shape)
    for t in range(order + 1):
        w = spec.weights(n, order, t)
        sel = like(masks_of_size(n, t).copy(), dividends)
        if not np.any(w[t + 1 :]):  # only the coalition's own dividend: nothing to sum
            out[..., sel] = dividends[..., sel] * float(w[t])
            continue
        weighted = dividends * like(w, dividends)[pop]  # (..., 2^n): m(S)·w(|S|, t)
        if t == 0:
            out[..., 0] = weighted.sum(axis=-1)
        elif t == 1:
            out[..., sel] = _singleton_sums(weighted)
        elif t == 2:
            out[..., sel] = _pair_sums(weighted)
        else:
            out[..., sel] = superset_zeta(weighted)[..., sel]
    return out
