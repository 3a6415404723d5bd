"""The registry of interaction indices, each a weighted superset-sum of Harsanyi dividends (SPEC §4).

Every index I of order k assigns to a coalition T with |T| = t ≤ k the value

    I(T) = Σ_{S⊇T} m(S) · w_k(|S|, t)

where m are the Harsanyi dividends. One superset-zeta of the re-weighted dividends gives every coalition of size t
at once, so all orders ≤ k cost O(k·n·2ⁿ). Sizes t ≤ 2 (every value, every pair index) need less: one pass over the
dividends (:class:`SizeSums`) serves every weight function, so SV, BV and all indices of order 2 of one table share
it. An entry of the registry is nothing but its weight function w_k(s, t) and the facts a certificate can check
(efficiency). Conventions (what the empty coalition holds) follow shapiq's ``ExactComputer`` for the same index and
order.
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

__all__ = ["IndexSpec", "INDICES", "get_index", "compute_index", "SizeSums"]

Weights = Callable[[int, int, int], np.ndarray]  # (n, order, t) -> w[s] for s = 0 … n


@dataclass(frozen=True)
class IndexSpec:
    """One registered index: its name, what it is, its weights, and which axioms a certificate checks."""

    name: str
    title: str
    weights: Weights
    efficient: bool  # the held coalitions of size ≥ 1 sum to v(N) − v(∅)
    fixed_order: int | None = None  # values (SV, BV) are defined for one order only

    def weights_of(self, n: int, order: int, t: int) -> np.ndarray:
        """``weights(n, order, t)``, computed once per (index, n, order, t) (k-SII's come from exact rationals)."""
        return _cached_weights(self.name, n, order, t).copy()


@functools.lru_cache(maxsize=512)
def _cached_weights(name: str, n: int, order: int, t: int) -> np.ndarray:
    return INDICES[name].weights(n, order, t)


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


class SizeSums:
    """Σ_{S⊇T} w(|S|)·f(S) for T = ∅, every player and every pair, for any weights w that depend on |S| alone.

    The table is viewed as a (2^H, 2^L) grid G (the L low bits along a row, L = min(8, n)). One pass over G gives
    what every such weighted sum needs, whatever w is, so no 2ⁿ re-weighted copy of the table is ever made:

    * C = G·P_L, C[r, b] = Σ_{|c|=b} G[r, c]   (P_L: the one-hot size of each column);
    * D[a, c] = Σ_{|r|=a} G[r, c];
    * E[r, b, j] = Σ_{|c|=b, j∈c} G[r, c]     (only for pairs of a low and a high player; made on first use).

    From them, with u(r) = Σ_b w(|r|+b)·C[r, b] and z(c) = Σ_a w(a+|c|)·D[a, c], every sum is a small product with
    0/1 bit matrices B (pairs of low players: B_Lᵀ diag(z) B_L; of high ones: B_Hᵀ diag(u) B_H; mixed: B_Hᵀ Y with
    Y[r, j] = Σ_b w(|r|+b)·E[r, b, j]). Leading axes of ``f`` are batch axes.
    """

    MAX_LOW = 8

    def __init__(self, f):
        self.n = n = n_players_of(f)
        self.f, self.batch = f, tuple(f.shape[:-1])
        self.low = low = min(self.MAX_LOW, n)
        self.high = high = n - low
        self.grid = grid = f.reshape(*self.batch, 1 << high, 1 << low)
        self.pop_low = like(popcounts(low).astype(np.int64), f)
        self.pop_high = like(popcounts(high).astype(np.int64), f)
        self.c = grid @ like(_size_one_hot(low), f)  # (..., 2^H, L+1)
        if is_torch(f):
            import torch

            self.d = torch.zeros((*self.batch, high + 1, 1 << low), dtype=f.dtype, device=f.device)
            self.d.index_add_(len(self.batch), self.pop_high, grid)  # (..., H+1, 2^L)
        else:
            self.d = _t(_size_one_hot(high)) @ grid
        self._e = None

    def _weights(self, w, rows, cols):
        """w(|r| + |c|) on the grid of the given sizes (index tensors broadcast against each other)."""
        return like(np.asarray(w, dtype=np.float64), self.f)[rows[:, None] + cols[None, :]]

    def _u(self, w):  # (..., 2^H)
        return (self.c * self._weights(w, self.pop_high, like(np.arange(self.low + 1), self.f))).sum(-1)

    def _z(self, w):  # (..., 2^L)
        return (self.d * self._weights(w, like(np.arange(self.high + 1), self.f), self.pop_low)).sum(-2)

    def total(self, w):
        """Σ_S w(|S|)·f(S), shape (...)."""
        return self._u(w).sum(-1)

    def singles(self, w):
        """Σ_{S∋i} w(|S|)·f(S) for every player i, shape (..., n)."""
        low_sums = self._z(w) @ like(_bit_matrix(self.low), self.f)
        high_sums = self._u(w) @ like(_bit_matrix(self.high), self.f)
        return _cat([low_sums, high_sums], self.f)

    def pairs(self, w):
        """Σ_{S⊇{i,j}} w(|S|)·f(S) for every pair i < j, shape (..., n(n−1)/2), in the order of masks_of_size(n, 2)."""
        low, high = self.low, self.high
        b_low, b_high = like(_bit_matrix(low), self.f), like(_bit_matrix(high), self.f)
        z, u = self._z(w), self._u(w)
        low_low = _t(z[..., :, None] * b_low) @ b_low  # (..., L, L)
        high_high = _t(u[..., :, None] * b_high) @ b_high  # (..., H, H)
        if self._e is None and high and low:
            e = self.grid @ like(_sized_bit_matrix(low), self.f)  # (..., 2^H, L·L)
            self._e = e.reshape(*self.batch, 1 << high, low, low)
        if high and low:
            wb = self._weights(w, self.pop_high, like(np.arange(1, low + 1), self.f))  # (2^H, L): w(|r| + b)
            high_low = _t(b_high) @ (self._e * wb[..., None]).sum(-2)  # (..., H, L)
        else:
            high_low = z[..., :0, None] * u[..., None, :0]  # no mixed pairs: an empty (…, H, L)
        return _assemble_pairs(low_low, high_high, high_low, self.n, low, self.f)


def _assemble_pairs(low_low, high_high, high_low, n: int, low: int, like_array):
    """The pair sums in the order of ``masks_of_size(n, 2)`` from the three blocks (low-low, high-high, high-low)."""
    batch = tuple(like_array.shape[:-1])
    pairs = masks_of_size(n, 2)
    i = np.log2(pairs & -pairs).astype(np.int64)  # lower player of each pair
    j = np.log2(pairs).astype(np.int64)  # higher player
    out = like_array.new_empty((*batch, pairs.size)) if is_torch(like_array) else np.empty((*batch, pairs.size))
    for block, rows, cols, where in ((low_low, j, i, j < low), (high_high, j - low, i - low, i >= low),
                                     (high_low, j - low, i, (i < low) & (j >= low))):
        pos = np.flatnonzero(where)
        out[..., like(pos, like_array)] = block[..., like(rows[pos], like_array), like(cols[pos], like_array)]
    return out


def _zeros_like(a):
    """A zero table shaped like ``a`` in its backend. On the CPU through NumPy's calloc: pages that are never
    written (all the coalitions an index of low order does not hold) are never touched."""
    if is_torch(a) and a.device.type != "cpu":
        return a.new_zeros(a.shape)
    out = np.zeros(a.shape)
    if is_torch(a):
        import torch

        return torch.from_numpy(out)
    return out


def _cat(parts, like_array):
    if is_torch(like_array):
        import torch

        return torch.cat(parts, dim=-1)
    return np.concatenate(parts, axis=-1)


def _t(a):
    """Swap the last two axes (NumPy or torch)."""
    return a.transpose(-1, -2) if is_torch(a) else np.swapaxes(a, -1, -2)


@functools.lru_cache(maxsize=8)
def _bit_matrix(n: int) -> np.ndarray:
    """B[S, i] = 1 if bit i of S is set: shape (2ⁿ, n), float64 (cached: never write to it)."""
    return ((np.arange(1 << n)[:, None] >> np.arange(n)) & 1).astype(np.float64)


@functools.lru_cache(maxsize=8)
def _size_one_hot(n: int) -> np.ndarray:
    """P[S, s] = 1 if |S| = s: shape (2ⁿ, n + 1), float64 (cached: never write to it)."""
    return (popcounts(n)[:, None] == np.arange(n + 1)).astype(np.float64)


@functools.lru_cache(maxsize=8)
def _sized_bit_matrix(n: int) -> np.ndarray:
    """M[S, (b−1)·n + j] = 1 if |S| = b and bit j of S is set: shape (2ⁿ, n·n), float64 (cached)."""
    one_hot = _size_one_hot(n)[:, 1:]  # (2ⁿ, n): sizes 1 … n
    return (one_hot[:, :, None] * _bit_matrix(n)[:, None, :]).reshape(1 << n, n * n)


@functools.lru_cache(maxsize=4)
def _torch_popcounts(n: int, device: str):
    """popcounts(n) as an int64 tensor on ``device`` (cached: an index for gathers, never written to)."""
    import torch

    return torch.as_tensor(popcounts(n).astype(np.int64), device=device)


def compute_index(dividends, spec: IndexSpec, order: int, sums: SizeSums | None = None):
    """Dense table (length 2ⁿ) of ``spec`` for every coalition of size ≤ ``order``; 0 at larger coalitions.

    Coalitions of ≤ 2 players come from ``sums`` (a :class:`SizeSums` of these dividends; made here if not given, so
    a caller computing several indices can share one); larger ones from a superset-zeta of the re-weighted dividends.
    """
    n = n_players_of(dividends)
    out = _zeros_like(dividends)
    for t in range(order + 1):
        w = spec.weights_of(n, order, t)
        sel = like(masks_of_size(n, t).copy(), dividends)
        if not np.any(w[t + 1 :]):  # only the coalition's own dividend: nothing to sum
            out[..., sel] = dividends[..., sel] * float(w[t])
            continue
        if t <= 2:
            sums = sums if sums is not None else SizeSums(dividends)
            out[..., sel] = (sums.total(w)[..., None] if t == 0 else sums.singles(w) if t == 1 else sums.pairs(w))
            continue
        pop = _torch_popcounts(n, str(dividends.device)) if is_torch(dividends) else popcounts(n)
        weighted = dividends * like(w, dividends)[pop]  # (..., 2^n): m(S)·w(|S|, t)
        out[..., sel] = superset_zeta(weighted)[..., sel]
    return out
