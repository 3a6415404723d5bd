"""Reference implementations straight from the definitions (loops over subsets: small n only) and test games.

Nothing here calls the code under test; these are the answers the fast paths must reproduce.
"""

from __future__ import annotations

import itertools
from math import comb, factorial

import numpy as np
import pytest

# float64 tolerances used across the suite. Transforms over 2^n entries accumulate about n rounding errors of
# relative size 2.2e-16 per entry; for the n <= 8 random games here (values O(1), dividends O(2^n)) 1e-10 absolute
# leaves four orders of magnitude of headroom while still catching any wrong weight (errors O(1e-2) or larger).
ATOL = 1e-10


def mask_of(players) -> int:
    return sum(1 << i for i in players)


def subsets(players):
    players = list(players)
    for r in range(len(players) + 1):
        yield from itertools.combinations(players, r)


def random_table(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=1 << n)


def unanimity_table(n: int, coalitions_weights: dict[tuple, float]) -> np.ndarray:
    """v(S) = Σ_k w_k · [T_k ⊆ S]: its dividends are exactly w_k at T_k and 0 elsewhere."""
    v = np.zeros(1 << n)
    for mask in range(1 << n):
        for coal, w in coalitions_weights.items():
            if mask_of(coal) & mask == mask_of(coal):
                v[mask] += w
    return v


def brute_moebius(v: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros(1 << n)
    for s in subsets(range(n)):
        out[mask_of(s)] = sum((-1) ** (len(s) - len(t)) * v[mask_of(t)] for t in subsets(s))
    return out


def derivative(v: np.ndarray, T, S) -> float:
    """Δ_T v(S) = Σ_{L⊆T} (−1)^{|T|−|L|} v(S ∪ L), S ∩ T = ∅."""
    return sum((-1) ** (len(T) - len(L)) * v[mask_of(S) | mask_of(L)] for L in subsets(T))


def brute_sii(v, n, T) -> float:
    rest = [i for i in range(n) if i not in T]
    t = len(T)
    return sum(factorial(len(S)) * factorial(n - len(S) - t) / factorial(n - t + 1) * derivative(v, T, S)
               for S in subsets(rest))


def brute_bii(v, n, T) -> float:
    rest = [i for i in range(n) if i not in T]
    return sum(derivative(v, T, S) for S in subsets(rest)) / 2 ** len(rest)


def brute_shapley(v, n) -> np.ndarray:
    """Average marginal contribution over all orderings."""
    phi = np.zeros(n)
    for perm in itertools.permutations(range(n)):
        mask = 0
        for i in perm:
            phi[i] += v[mask | 1 << i] - v[mask]
            mask |= 1 << i
    return phi / factorial(n)


def brute_stii(v, n, T, k) -> float:
    """Sundararajan et al. 2020, Def. of the Shapley-Taylor index."""
    if len(T) < k:
        return derivative(v, T, ())
    rest = [i for i in range(n) if i not in T]
    return k / n * sum(derivative(v, T, S) / comb(n - 1, len(S)) for S in subsets(rest))


def brute_ksii(v, n, T, k) -> float:
    """Bordt & von Luxburg 2023: k-SII(T) = Σ_{S⊇T, |S|≤k} B_{|S|−|T|} SII(S) (B_1 = −1/2)."""
    bern = [1.0, -0.5, 1 / 6, 0.0, -1 / 30, 0.0, 1 / 42, 0.0, -1 / 30]
    rest = [i for i in range(n) if i not in T]
    return sum(bern[len(L)] * brute_sii(v, n, tuple(T) + L) for L in subsets(rest) if len(T) + len(L) <= k)


def faith_least_squares(v, n, k, kernel: str) -> np.ndarray:
    """The best k-additive approximation of v by weighted least squares (Tsai et al. 2023), solved directly.

    Faith-Shap: Shapley kernel weights μ(S) ∝ (n−1)/(C(n,|S|)·|S|·(n−|S|)) with v(∅), v(N) matched exactly
    (equality constraints, solved with the KKT system). Faith-Banzhaf: uniform weights, no constraints.
    Returns dense values over all 2^n masks (entries of size > k are 0).
    """
    terms = [T for T in subsets(range(n)) if len(T) <= k]
    rows = list(subsets(range(n)))
    X = np.array([[1.0 if set(T) <= set(S) else 0.0 for T in terms] for S in rows])
    y = np.array([v[mask_of(S)] for S in rows])
    if kernel == "banzhaf":
        beta = np.linalg.lstsq(X, y, rcond=None)[0]
    else:
        inner = [i for i, S in enumerate(rows) if 0 < len(S) < n]
        outer = [i for i, S in enumerate(rows) if len(S) in (0, n)]
        w = np.array([(n - 1) / (comb(n, len(rows[i])) * len(rows[i]) * (n - len(rows[i]))) for i in inner])
        A = X[inner] * np.sqrt(w)[:, None]
        b = y[inner] * np.sqrt(w)
        C, d = X[outer], y[outer]
        kkt = np.block([[2 * A.T @ A, C.T], [C, np.zeros((len(outer), len(outer)))]])
        sol = np.linalg.solve(kkt, np.concatenate([2 * A.T @ b, d]))
        beta = sol[: len(terms)]
    out = np.zeros(1 << n)
    for T, val in zip(terms, beta):
        out[mask_of(T)] = val
    return out


@pytest.fixture(params=[0, 1, 2])
def seed(request):
    return request.param
