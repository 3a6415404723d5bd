"""The single-model AND-OR LP by restarted Halpern Peaceman–Rachford splitting over the graph of the transforms.

In value form the LP's variables are two tables, p = v_and and q = v_or, that must add up to v within τ:

    minimise ‖μp‖₁ + ‖Ωq‖₁   subject to   |p(S) + q(S) − v(S)| ≤ τ   on every coalition S,

where μ is the Möbius transform (the AND concepts) and Ω the OR transform (SPEC §3). Written as
min f(a, o) + g(p, q) subject to (a, o) = K(p, q), K = diag(μ, Ω), Douglas–Rachford splitting on the graph of K
(Parikh & Boyd 2014, §4.4; O'Donoghue et al. 2013) needs three maps, and each is exact and costs O(n·2ⁿ):

* the proximal map of g: each pair (p(S), q(S)) projected onto the slab |p + q − v(S)| ≤ τ (elementwise);
* the proximal map of f / ρ: soft thresholding at 1 / ρ (elementwise);
* the projection onto the graph {(x, Kx)}: x = (I + KᵀK)⁻¹(c + Kᵀd). μ = ⊗ⁿ m for the 2×2 factor
  m = [[1, 0], [−1, 1]], so I + μᵀμ = (⊗U)(I + ⊗Λ)(⊗U)ᵀ with mᵀm = UΛUᵀ: a diagonal between Kronecker transforms.
  Ω is μ after the complement flip but for its ∅ row; that rank-one change is Woodbury's identity with two stored
  vectors.

So, unlike PDHG, the linear operators (whose condition number grows like 2.6ⁿ) are inverted exactly at every step;
what is left to iterate is the geometry of the two proximal maps. The iteration is Halpern's on the
Peaceman–Rachford operator, z ← (k+1)/(k+2)·(2T(z) − z) + 1/(k+2)·z⁰ with T the Douglas–Rachford operator, restarted
by the PDLP criteria on ‖T(z) − z‖ (the scheme of HPR-LP, Chen, Sun & Toh 2024). Every iterate's proximal point
(p, q) is a feasible decomposition (an upper bound), and two estimates of the dual (see ``_Splitting.duals``),
scaled into dual feasibility, certified lower bounds.
"""

from __future__ import annotations

import math
import time

import numpy as np

from ._array import complement, like
from ._iterate import _B_ART, _B_NEC, _B_SUFF, _checkpoint, _clip, _norm, _soft
from ._transforms import kronecker_transform, or_transform, popcounts, superset_zeta

# ρ·|v(N) − v(∅)|: the soft threshold 1/ρ is a twentieth of the game's range. A larger ρ lowers the L1 sooner and the
# dual bound later: on the bench game after 3 000 iterations at n = 14, ρ·range = 10 / 20 / 40 / 80 gave L1 136.6 /
# 134.4 / 134.0 / 133.6 and certified gaps 5.7 / 6.7 / 37 / 49 %. Rebalancing ρ at restarts by the primal and dual
# movement (as PDLP's primal weight) made no consistent difference at n = 14 or 16.
_RHO = 20.0


def _complement(a):
    return complement(a, copy=True)  # written into below: a contiguous copy, never a view of the caller's table


class _GraphProjection:
    """The projection of z = (p, q, a, o) onto the graphs a = μp and o = Ωq: a diagonal between Kronecker
    transforms, and Woodbury's two-vector correction for Ω's ∅ row."""

    def __init__(self, v):
        n = int(v.shape[-1]).bit_length() - 1
        m = np.array([[1.0, 0.0], [-1.0, 1.0]])
        lam, u = np.linalg.eigh(m.T @ m)
        self.u, self.ut, self.mu, self.mut = u, u.T, m @ u, (m @ u).T  # μᵀμ's eigenbasis, and μ's image of it
        pop = popcounts(n).astype(np.float64)
        self.d = like(1.0 / (1.0 + lam[0] ** (n - pop) * lam[1] ** pop), v)  # (I + Λ)⁻¹, Λ = ⊗ eigenvalues
        # ΩᵀΩ = F μᵀμ F + e∅e∅ᵀ − e_N e_Nᵀ (F the complement flip): B = I + F μᵀμ F, corrected by Woodbury
        ends = np.zeros((2, 1 << n))
        ends[0, 0] = ends[1, -1] = 1.0
        inner = self.d * kronecker_transform(_complement(like(ends, v)), u.T)
        g = _complement(kronecker_transform(inner, u))  # B⁻¹[e∅, e_N]
        gram = np.array([[float(g[0, 0]), float(g[1, 0])], [float(g[0, -1]), float(g[1, -1])]])
        self.w = [[float(a) for a in row] for row in np.linalg.inv(np.diag([1.0, -1.0]) + gram)]
        self.g, self.h = g, or_transform(g)

    def __call__(self, cp, cq, da, do):
        """The point (p, q, μp, Ωq) nearest to (c_p, c_q, d_a, d_o): x = (I + KᵀK)⁻¹(c + Kᵀd), y = Kx."""
        s = kronecker_transform(cp, self.ut)
        s += kronecker_transform(da, self.mut)
        s *= self.d
        p, a = kronecker_transform(s, self.u), kronecker_transform(s, self.mu)
        fq = _complement(cq)
        fq[..., 0] += do[..., 0]  # F Ωᵀd's rank-one part: (e∅ + e_N)·d(∅), and F swaps ∅ and N
        fq[..., -1] += do[..., 0]
        s = kronecker_transform(fq, self.ut)
        s -= kronecker_transform(do, self.mut)
        s *= self.d
        q, o = _complement(kronecker_transform(s, self.u)), kronecker_transform(s, self.mu)
        o *= -1.0
        o[..., 0] += q[..., 0] + q[..., -1]
        (w00, w01), (w10, w11) = self.w
        q0, qn = q[..., 0:1], q[..., -1:]
        c0, c1 = w00 * q0 + w01 * qn, w10 * q0 + w11 * qn  # Woodbury: minus B⁻¹[e∅, e_N] · W · (q(∅), q(N))
        q -= c0 * self.g[0]
        q -= c1 * self.g[1]
        o -= c0 * self.h[0]
        o -= c1 * self.h[1]
        return p, q, a, o


def _reflect(u, z):
    out = u * 2.0
    out -= z
    return out


def _anchored(w, r, anchor, a: float):
    """Halpern's step a·(2w − r) + (1 − a)·z⁰, in place on one new array."""
    out = w * 2.0
    out -= r
    out *= a
    out += anchor * (1.0 - a)
    return out


class _Splitting:
    """The Douglas–Rachford operator T of the value-form LP on z = (p, q, a, o)."""

    def __init__(self, problem, rho: float):
        self.problem, self.rho = problem, rho
        self.v, self.tau = problem.v, problem.tau
        self.project = _GraphProjection(problem.v)

    def prox(self, z):
        zp, zq, za, zo = z
        s = zp + zq
        s -= self.v
        d = _clip(s, -self.tau, self.tau)  # onto the slab |p + q − v| ≤ τ, each coalition on its own
        d -= s
        d *= 0.5
        return zp + d, zq + d, _soft(za, 1.0 / self.rho), _soft(zo, 1.0 / self.rho)

    def step(self, z):
        """u = prox(z), the reflection r = 2u − z and its projection w onto the graphs: T(z) = z + w − u, and the
        Peaceman–Rachford point 2T(z) − z = 2w − r."""
        u = self.prox(z)
        r = tuple(_reflect(ui, zi) for ui, zi in zip(u, z))
        return u, r, self.project(*r)

    def decomposition(self, u):
        """(y, ε) of the dividend-form LP at the proximal point: the OR concepts of q (those of ≤ 1 player moved
        into the AND ones, where they are the same concepts) and the noise p + q − v."""
        y = or_transform(u[1]) * self.problem.free_f
        e = _clip(u[0] + u[1] - self.v, -self.tau, self.tau)
        return y, e

    def duals(self, z, u):
        """Two estimates of the signs of the AND concepts (the dividend-form LP's dual w, with |w| ≤ 1 and
        |K̃ᵀw| ≤ 1): the AND block's scaled dual ρ(z_a − prox(z_a)) = clip(ρ·z_a, −1, 1), and the slab's multipliers
        λ = ρ(prox(z_p) − z_p) taken to the AND signs by ζ⁺ (λ = μᵀw), not clipped: ``dual_bound`` scales each into
        feasibility, so each gives a certified lower bound. Neither is always the better one; on the bench game at
        n = 16 after 3 000 iterations the second gives 119.5 and the first 98.6 (the L1 is 183); clipping the second
        instead of scaling it gave 13.7."""
        return _clip(self.rho * z[2], -1.0, 1.0), superset_zeta(self.rho * (u[0] - z[0]))


def halpern_splitting(problem, *, tol: float, max_iter: int, time_limit: float | None, check_every: int, bar,
                      rho: float | None = None):
    """Restarted Halpern Peaceman–Rachford on ``problem`` (a ``_DividendProblem``), ρ = ``_RHO`` / |v(N) − v(∅)|
    unless given. Returns ((y, ε, signs), the best L1, the best lower bound, stats) like the PDHG runners."""
    start = time.perf_counter()
    if rho is None:
        scale = float(abs(problem.v[-1] - problem.v[0]))
        rho = _RHO / scale if scale > 0 else 1.0
    split = _Splitting(problem, rho)
    zero = problem.v * 0.0
    z = anchor = (zero, zero, zero, zero)
    best, best_obj, best_lower = (zero, zero, zero), math.inf, -math.inf
    k, r0, last, restarts, iteration, history = 0, None, math.inf, 0, 0, []
    while iteration < max_iter:
        iteration += 1
        u, r, w = split.step(z)
        if iteration % check_every == 0 or iteration == max_iter:
            y, e = split.decomposition(u)
            objective = problem.objective(y, e)
            lower, signs = max(((problem.dual_bound(s), s) for s in split.duals(z, u)), key=lambda item: item[0])
            if objective < best_obj:
                best, best_obj = (y, e, signs), objective
            best_lower = max(best_lower, lower)
            if _checkpoint(history, bar, iteration, best_obj, best_lower, check_every, tol, time_limit, start):
                break
            move = tuple(wi - ui for wi, ui in zip(w, u))  # T(z) − z
            residual = math.sqrt(sum(_norm(m) ** 2 for m in move))
            r0 = residual if r0 is None else r0
            if residual <= _B_SUFF * r0 or (residual <= _B_NEC * r0 and residual > last) or k >= _B_ART * iteration:
                z = anchor = tuple(zi + m for zi, m in zip(z, move))  # restart from T(z)
                k, r0, last = 0, None, math.inf
                restarts += 1
                continue
            last = residual
        a = (k + 1) / (k + 2)
        z = tuple(_anchored(wi, ri, ai, a) for wi, ri, ai in zip(w, r, anchor))
        k += 1
    best_lower = max(best_lower, 0.0)
    gap = (best_obj - best_lower) / best_obj if best_obj > 0 else 0.0
    stats = dict(iterations=iteration, restarts=restarts, seconds=time.perf_counter() - start, gap=max(gap, 0.0),
                 history=tuple(history), rho=rho)
    return best, best_obj, best_lower, stats

