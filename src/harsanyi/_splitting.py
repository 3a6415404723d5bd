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
what is left to iterate is the geometry of the two proximal maps. That geometry is the metric the splitting runs in:
the value tables (p, q) weigh σ and the concepts (a, o) 1, ‖(p, q, a, o)‖² = σ‖p‖² + σ‖q‖² + ‖a‖² + ‖o‖², with the
soft threshold 1/ρ (``_parameters``: σ falls with n from n = 9 on, ρ grows from n = 10). The proximal maps are the
same in it (each acts on one block); the graph projection becomes x = (σI + KᵀK)⁻¹(σc + Kᵀd), still a diagonal
between the same Kronecker transforms. The iteration is Halpern's on the Peaceman–Rachford operator,
z ← (k+1)/(k+2)·(2T(z) − z) + 1/(k+2)·z⁰ with T the Douglas–Rachford operator, restarted by the PDLP criteria on
‖T(z) − z‖ (the scheme of HPR-LP, Chen, Sun & Toh 2024). The concepts of the graph point,
repaired coalition by coalition into a match within τ, are a feasible decomposition (an upper bound; see
``_Splitting.decomposition``), and two estimates of the dual (``_Splitting.duals``), scaled into dual feasibility,
certified lower bounds.

Every table a step touches is allocated once and written in place (a fresh 2¹⁶-entry temporary costs more in page
faults than the arithmetic on it), and on a NumPy table the AND and OR halves of a step run on two threads. A run
can keep its state in a checkpoint file (``_Checkpoint``) and be resumed from it on the same iterates.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import math
import os
import time
from dataclasses import dataclass, field

import numpy as np

from ._array import abs_sum, empty, is_torch, like, namespace, to_numpy
from ._files import Checkpoint
from ._iterate import (
    _B_ART, _B_NEC, _B_SUFF, _checkpoint, _clip, _concat, _gap, _max_sum_prox, _norm, _project_range, Recorded,
    cuda_graph_of,
)
from ._transforms import kronecker_transform, or_reconstruct, popcounts, subset_moebius, subset_zeta, superset_zeta

# The metric: ρ·|v(N) − v(∅)| = max(20, 2ⁿ / 32) and the value tables' weight σ = min(1, 2^(13 − 1.5n)), so that
# ρ·range·σ halves every two players (4 at n = 12, 1 at n = 16). In the plain metric (σ = 1, ρ·range = 20, before
# the fifteenth session) the bench game needed 8 880 iterations at n = 12 to the 1e-3 gap and 522 s at n = 16; with
# these, about 2 000 and 9 000 (25 s on two cores). A grid over ρ·range (16 … 4 096) and ρ·range·σ (0.5 … 8) at
# n = 10 … 18, on four kinds of games (a trained and a random MLP, gradient boosting, an MLP regressor), put the
# fastest runs near ρ·range ≈ 2ⁿ/32 … 2ⁿ/16. The best ρ·range·σ fell with n and differed by game (the trained MLP
# 4 … 8 at n = 14 and 2 at n = 16, the random one 1 and ≤ 0.5): this rule is within 1.5× of each game's best
# there, and 5–10× faster than the plain metric from n = 12 on (BENCHMARKS.md). Up to n = 8 the plain metric
# converged in fewer steps. The weighted metric pays late: its first iterates repair to far more than the plain
# dividends (the lower bound meanwhile rises faster), and on the bench game its L1 fell below the plain metric's
# only after 1 730 iterations at n = 16, 2 200 at n = 18 and more than 3 360 at n = 20 (a minute on two cores is
# 20 000, 4 500 and 950 iterations there). A run whose time limit leaves fewer than ``_WEIGHTED_AFTER``·2^(n/2)
# iterations (1 800 at n = 16, 7 200 at n = 20) stays in the plain metric.
_RHO = 20.0
_WEIGHTED_AFTER = 7.0


def _parameters(n: int, budget: float = math.inf) -> tuple[float, float]:
    """(ρ·|v(N) − v(∅)|, σ) of the splitting's metric for n players and a budget of iterations (see ``_RHO``)."""
    if budget < _WEIGHTED_AFTER * 2.0 ** (n / 2):
        return _RHO, 1.0
    return max(_RHO, 2.0 ** (n - 5)), min(1.0, 2.0 ** (13.0 - 1.5 * n))


def _shared_parameters(n: int, budget: float = math.inf) -> tuple[float, float]:
    """(ρ·mean_k |v_k(N) − v_k(∅)|, σ) of the shared-concept splitting's metric: ρ·range = max(2, 2^((n − 6)/2))
    and ρ·range·σ = 1, whatever the budget. On the three breast-cancer MLPs of bench/shared.py and a planted game
    shifted by 5 (twenty-second session), over ρ·range 0.5 … 30 and σ 0.1 … 4 at n = 5 … 12, the runs to the
    1e-3 gap were fastest with ρ·range·σ between about 0.3 and 1 and ρ·range growing with n (1–3 at n ≤ 8, 3–5 at
    n = 10, about 10 at n = 12); ρ·range = 20 with σ = 1, the single model's metric for small n, failed to reach
    the gap in 20 000 iterations from n = 5 on."""
    rho_range = max(2.0, 2.0 ** ((n - 6) / 2))
    return rho_range, 1.0 / rho_range


# From this many players on, a NumPy table's two graph projections (AND and OR) run on two threads, each with its
# own share of the BLAS threads: below it a half-step takes under 0.1 ms and the hand-over costs more than it saves.
_THREADED_FROM = 15

# Checks of the restart criteria (every check_every iterations) between two evaluations of the bounds: a repaired
# decomposition and two dual bounds cost ≈ 20 ms at n = 16, four steps' worth.
_BOUNDS_EVERY = 4

_FLIP = np.array([[0.0, 1.0], [1.0, 0.0]])  # ⊗ of it reverses the last axis: f(N∖S) at S


class _GraphProjection:
    """The projection of (c_p, c_q, d_a, d_o) onto the graphs a = μp and o = Ωq, in two independent halves, in the
    metric that weighs the value tables σ = ``weight`` and the concepts 1 (σ = 1: the plain Euclidean projection).

    AND: with mᵀm = UΛUᵀ and D = (σI + ⊗Λ)⁻¹, p = (σI + μᵀμ)⁻¹(σc_p + μᵀd_a) = (⊗U)s and a = μp = (⊗(mU))s,
    where s = D(σ(⊗Uᵀ)c_p + (⊗(mU)ᵀ)d_a).

    OR: Ω = −μF + e∅(e∅ + e_N)ᵀ (F = ⊗J, J = [[0, 1], [1, 0]], the complement flip), so σI + ΩᵀΩ is
    σI + FμᵀμF = F(⊗U)D⁻¹(⊗U)ᵀF plus e∅e∅ᵀ − e_Ne_Nᵀ. Woodbury's identity takes that rank-two change in the
    eigenbasis: with Γ the two rows (⊗Uᵀ)F[e∅, e_N], W = (diag(1, −1) + ΓDΓᵀ)⁻¹ and
    s₀ = D(σ(⊗(UᵀJ))c_q − (⊗(mU)ᵀ)d_o), s = s₀ + DΓᵀ(d_o(∅)·1 − W(Γs₀ + d_o(∅)·ΓDΓᵀ1)); then q = (⊗(JU))s and
    o = −(⊗(mU))s + (q(∅) + q(N))e∅.

    Four Kronecker transforms a half, no flipped copy, nothing 2ⁿ×2ⁿ.
    """

    def __init__(self, v, weight: float = 1.0):
        n = int(v.shape[-1]).bit_length() - 1
        m = np.array([[1.0, 0.0], [-1.0, 1.0]])
        lam, u = np.linalg.eigh(m.T @ m)
        mu = m @ u
        self.weight = float(weight)
        self.and_in, self.and_out = (u.T, mu.T), (u, mu)
        self.or_in, self.or_out = (u.T @ _FLIP, mu.T), (_FLIP @ u, mu)
        pop = popcounts(n).astype(np.float64)
        d = 1.0 / (self.weight + lam[0] ** (n - pop) * lam[1] ** pop)  # (σI + ⊗Λ)⁻¹
        ends = np.zeros((2, 1 << n))
        ends[0, -1] = ends[1, 0] = 1.0  # F e∅ = e_N and F e_N = e∅
        gamma = kronecker_transform(ends, u.T)  # Γ: (⊗Uᵀ)F[e∅, e_N], as rows
        # W = (diag(1, −1) + EᵀB⁻¹E)⁻¹ with EᵀB⁻¹E = ΓDΓᵀ; k = ΓDΓᵀ·1, Γ's image of the d_o(∅) term
        gram = (gamma * d) @ gamma.T
        self.w = like(np.linalg.inv(np.diag([1.0, -1.0]) + gram), v)
        self.k = like(gram.sum(axis=1), v)
        self.d, self.gamma, self.dgamma = like(d, v), like(gamma, v), like(gamma * d, v)

    def buffers(self, v):
        """Scratch for one half: two eigenbasis tables and the Kronecker transforms' work table."""
        return tuple(empty(v.shape, v) for _ in range(3))

    def and_half(self, cp, da, p, a, scratch) -> None:
        """(p, a) = the AND half of the projection of (c_p, d_a), written into p and a."""
        s, t, work = scratch
        (cin, din), (pout, aout) = self.and_in, self.and_out
        kronecker_transform(cp, cin, out=s, work=work)
        s *= self.weight
        s += kronecker_transform(da, din, out=t, work=work)
        s *= self.d
        kronecker_transform(s, pout, out=p, work=work)
        kronecker_transform(s, aout, out=a, work=work)

    def or_half(self, cq, do, q, o, scratch) -> None:
        """(q, o) = the OR half of the projection of (c_q, d_o), written into q and o."""
        xp = namespace(cq)
        s, t, work = scratch
        (cin, din), (qout, oout) = self.or_in, self.or_out
        kronecker_transform(cq, cin, out=s, work=work)
        s *= self.weight
        s -= kronecker_transform(do, din, out=t, work=work)
        s *= self.d
        d0 = do[..., 0, None]  # Ωᵀd's rank-one part (e∅ + e_N)·d_o(∅), then Woodbury's correction, both along DΓᵀ
        ends = xp.matmul(s, self.gamma.T) + d0 * self.k  # (…, 2): (q(∅), q(N)) before the correction
        # rows of (…, 2) times (2, 2ⁿ), written as a matrix (torch's out= takes no 1-D result of a matmul)
        xp.matmul((d0 - xp.matmul(ends, self.w.T)).reshape(-1, 2), self.dgamma, out=t.reshape(-1, t.shape[-1]))
        s += t
        kronecker_transform(s, qout, out=q, work=work)
        kronecker_transform(s, oout, out=o, work=work)
        o *= -1.0  # not a factor −mU: its Kronecker power would carry (−1)ⁿ
        o[..., 0] += q[..., 0] + q[..., -1]

    def __call__(self, cp, cq, da, do):
        """The point (p, q, μp, Ωq) nearest to (c_p, c_q, d_a, d_o), as new arrays."""
        p, q, a, o = (empty(cp.shape, cp) for _ in range(4))
        self.and_half(cp, da, p, a, self.buffers(cp))
        self.or_half(cq, do, q, o, self.buffers(cp))
        return p, q, a, o


class _Splitting:
    """The Douglas–Rachford operator T of the value-form LP on z = (p, q, a, o), with every table it needs
    allocated once: a step writes the reflection r = 2·prox(z) − z and its projection w onto the graphs, and then,
    between checks, Halpern's step into z itself (T(z) = z + w − prox(z))."""

    def __init__(self, problem, rho: float, weight: float = 1.0):
        self.problem = problem
        self._allocate(problem.v, problem.tau, rho, weight)
        from ._andor import _Problem  # here, not at the top: _andor imports this module

        self.matching = _Problem(problem.v[None], [self.tau])
        self.small = 1.0 - problem.free_f  # coalitions of ≤ 1 player

    def _allocate(self, v, tau, rho: float, weight: float) -> None:
        """The tables of z, its anchor z⁰, r and w (p, q, a, o: each of v's shape), the slab's move and scratch."""
        self.rho, self.weight, self.v, self.tau = rho, weight, v, tau
        self.project = _GraphProjection(v, weight)
        self.xp = namespace(v)
        self.z, self.anchor = [v * 0.0 for _ in range(4)], [v * 0.0 for _ in range(4)]
        self.r, self.w = [empty(v.shape, v) for _ in range(4)], [empty(v.shape, v) for _ in range(4)]
        self.slab, self.move = empty(v.shape, v), empty(v.shape, v)
        self.moves = (self.move, self.move)  # what prox(z) adds to z_p and z_q, twice over (r = z + move)
        self.scratch = (self.project.buffers(v), self.project.buffers(v))

    @staticmethod
    def scale_of(problem) -> float:
        """|v(N) − v(∅)|, the unit of ρ in ``_parameters``."""
        return float(abs(problem.v[-1] - problem.v[0]))

    def use_metric(self, rho: float, weight: float) -> None:
        """Run in another metric from here; for a z that every metric reads alike (z = 0 before the first step),
        without allocating the tables again."""
        self.rho, self.weight = rho, weight
        self.project = _GraphProjection(self.v, weight)

    def begin(self) -> None:
        """Before the halves: the slab's move c = clip(s, ±τ) − s at s = z_p + z_q − v, so prox(z)_p = z_p + c/2
        and prox(z)_q = z_q + c/2 (each coalition's (p, q) onto |p + q − v| ≤ τ)."""
        xp, s, c = self.xp, self.slab, self.move
        xp.add(self.z[0], self.z[1], out=s)
        s -= self.v
        xp.clip(s, -self.tau, self.tau, out=c)
        c -= s

    def half(self, which: int, halpern) -> None:
        """The AND (0: p, a) or OR (1: q, o) half of a step: r = 2·prox(z) − z (the value from the slab's move, the
        concepts from soft thresholding: 2·soft(z) − z = z − 2·clip(z, ±1/ρ)), its projection w, and, unless
        ``halpern`` is None, Halpern's step z ← z⁰ + halpern·(2w − r − z⁰)."""
        xp, z, r, w = self.xp, self.z, self.r, self.w
        i, j = which, which + 2
        xp.add(z[i], self.moves[which], out=r[i])
        self.reflect(which, z[j], r[j])
        (self.project.and_half if which == 0 else self.project.or_half)(r[i], r[j], w[i], w[j], self.scratch[which])
        if halpern is not None:
            self.halpern(halpern, (i, j))

    def reflect(self, which: int, z, out) -> None:
        """2·prox(z) − z of the concepts' objective (here ‖·‖₁ / ρ, the same for AND and OR), into ``out``."""
        self.xp.clip(z, -1.0 / self.rho, 1.0 / self.rho, out=out)
        out *= -2.0
        out += z

    def halpern(self, a, parts=(0, 1, 2, 3)) -> None:
        """Halpern's step z ← z⁰ + a·(2w − r − z⁰) on the given parts of z, in place (a: a number, or a device
        scalar in a recorded step)."""
        for k in parts:
            z, anchor = self.z[k], self.anchor[k]
            self.xp.multiply(self.w[k], 2.0, out=z)
            z -= self.r[k]
            z -= anchor
            z *= a
            z += anchor

    def restart(self) -> None:
        """z⁰ = z = T(z) = w + (z − r)/2."""
        for k in range(4):
            self.z[k] -= self.r[k]
            self.z[k] *= 0.5
            self.z[k] += self.w[k]
            self.anchor[k][...] = self.z[k]

    def residual(self) -> float:
        """‖T(z) − z‖ = ‖w − prox(z)‖, prox(z) = (z + r)/2, in the splitting's metric (σ on the value tables)."""
        parts = [_norm(w - 0.5 * (z + r)) ** 2 for w, z, r in zip(self.w, self.z, self.r)]
        return math.sqrt(self.weight * (parts[0] + parts[1]) + parts[2] + parts[3])

    def decomposition(self):
        """A feasible decomposition near the graph point w: its AND and OR concepts (w_a, w_o), those of OR on ≤ 1
        player moved into the AND ones (where they are the same concepts), made to match v within τ on every
        coalition by the size-by-size repair (``_Problem.repair``: where the match is off by more than τ, the
        coalition's own AND concept takes the excess, smallest coalitions first). Returns (x, y, L1).

        w is on the graphs and off the slab by a little; the repair spends only the excess, where it is. Writing
        the same point in dividend form instead (y = w_o, ε = p + q − v clipped, x = μ(v + ε) − μRy) spreads each
        clipped excess over all supersets with alternating signs: on the bench game at n = 16 after 6 000
        iterations that L1 is 173.5 and the repaired one 170.5 (the optimum is 167.7–167.9)."""
        return self.repaired(self.w[2] + self.w[3] * self.small, self.w[3] * self.problem.free_f)

    def repaired(self, x, y):
        """AND and OR concepts (x, y) made to match v within τ by the size-by-size repair: (x, y, L1)."""
        z, _ = self.matching.repair(self.xp.stack((x, y)))
        return z[0], z[1], abs_sum(z[0]) + abs_sum(z[1])

    def plain(self):
        """The decomposition a run starts from and never returns worse than: the better of the Harsanyi dividends
        μv (exact) and the repair of no concepts (the dividends with the slack τ spent greedily, which can cost
        more). Early iterates can repair to far more: in the weighted metric at n = 18, up to 600× the dividends'
        L1 for the first 1 300 iterations."""
        zero = self.v * 0.0
        dividends = subset_moebius(self.v)
        return min((dividends, zero, abs_sum(dividends)), self.repaired(zero, zero), key=lambda item: item[2])

    def duals(self):
        """Two estimates of the signs of the AND concepts (the dividend-form LP's dual w, with |w| ≤ 1 and
        |K̃ᵀw| ≤ 1): the AND block's scaled dual ρ(z_a − prox(z_a)) = clip(ρ·z_a, −1, 1), and the slab's multipliers
        λ = ρσ(prox(z_p) − z_p) = ρσc/2 (σ: the metric's weight on p) taken to the AND signs by ζ⁺ (λ = μᵀw), not
        clipped: ``dual_bound`` scales each into feasibility, so each gives a certified lower bound. Neither is always
        the better one; on the bench game at n = 16 after 3 000 iterations (seventh session) the second gave 119.5
        and the first 98.6; clipping the second instead of scaling it gave 13.7."""
        return (_clip(self.rho * self.z[2], -1.0, 1.0),
                superset_zeta((0.5 * self.rho * self.weight) * self.move))

    # what the loop of ``halpern_splitting`` asks of a splitting: its best results are tuples of tables, saved by
    # these names in a checkpoint
    best_names = ("best_x", "best_y", "best_signs")
    parameters = staticmethod(lambda n, budget=math.inf: _parameters(n, budget))  # the metric, read when called

    def first(self):
        """(the best to start from: ``plain()`` with no dual signs, its L1)."""
        x, y, l1 = self.plain()
        return (x, y, self.v * 0.0), l1

    def bounds(self):
        """(a feasible decomposition near the graph point with the dual signs of the better bound, its L1, that
        certified lower bound)."""
        x, y, objective = self.decomposition()
        lower, signs = max(((self.problem.dual_bound(s), s) for s in self.duals()), key=lambda item: item[0])
        return (x, y, signs), objective, lower

    def identity(self) -> dict:
        """What ties a checkpoint to this problem (with the metric and check_every, which the loop adds)."""
        return {"n": self.problem.n, "tau": float(self.tau), "table": table_digest(self.v)}

    def result(self, best):
        """((OR concepts, noise ε, dual signs), extra stats) of the best decomposition: the runners' first item."""
        x, y, signs = best
        noise = _clip(subset_zeta(x) + or_reconstruct(y) - self.v, -self.tau, self.tau)  # the repaired match
        return (y, noise, signs), {}


class _SharedSplitting(_Splitting):
    """The splitting for the concepts shared by K models (``_andor._Problem``, SPEC §3c), on tables of shape
    (K, 2ⁿ): p_k = ζx_k, q_k = Ry_k and the concepts a_k = μp_k, o_k = Ωq_k of every model at once.

    The graph projection is the single model's, on every row (the models are coupled only through the two proximal
    maps). Value side: per coalition, each model's (p_k, q_k) projected onto |p_k + q_k − v_k| ≤ τ_k and the splits
    γ_k = ½(p_k − q_k) onto a spread of at most 2p over the models (``_project_range``; the shared split γ is then
    their middle). s_k = p_k + q_k and γ_k are orthogonal coordinates of (p_k, q_k), so the two projections are
    independent: p moves by c/2 + δγ and q by c/2 − δγ, with c the slab's move of s and δγ the range's of γ.
    Concept side: the prox of (1 − α)·max_k|·| + α·Σ_k|·| over the models (``_max_sum_prox``), for the AND and OR
    concepts separately. For K = 1 and α = 1 this is the single-model problem (in its row form).

    Bounds: the graph point's concepts, repaired into a match within τ_k and splits within p (``_Problem.repair``),
    and a dual estimate from the value side's multipliers
    n = ρσ(z − prox(z)) (outward normals of the constraints): on the rows of ``_Problem``, w_match = (n_p + n_q)/2 and
    w_split = n_p − n_q, scaled into dual feasibility by ``_Problem.dual_bound`` (a certified lower bound)."""

    best_names = ("best_z", "best_w")
    parameters = staticmethod(lambda n, budget=math.inf: _shared_parameters(n, budget))

    def __init__(self, problem, rho: float, weight: float = 1.0):
        self.problem = problem
        taus = problem.upper[: problem.k, :1] - problem.vs[:, :1]  # (K, 1)
        self._allocate(problem.vs, taus, rho, weight)
        self.moves = (empty(self.v.shape, self.v), empty(self.v.shape, self.v))
        self.split_move = empty(self.v.shape, self.v)
        self.threshold = like(np.full((1, 1), 1.0 / rho), self.v)  # on the device: no copy inside a recorded step

    def use_metric(self, rho: float, weight: float) -> None:
        super().use_metric(rho, weight)
        self.threshold = like(np.full((1, 1), 1.0 / rho), self.v)

    @staticmethod
    def scale_of(problem) -> float:
        """The mean over the models of |v_k(N) − v_k(∅)|."""
        return float(abs(problem.vs[:, -1] - problem.vs[:, 0]).mean())

    def begin(self) -> None:
        """The value side's moves: c = clip(s, ±τ_k) − s at s = z_p + z_q − v, and (K ≥ 2) δγ, the range
        projection's move of γ = (z_p − z_q)/2; r_p = z_p + c + 2δγ, r_q = z_q + c − 2δγ."""
        xp, s, c = self.xp, self.slab, self.move
        xp.add(self.z[0], self.z[1], out=s)
        s -= self.v
        c[...] = _clip(s, -self.tau, self.tau)
        c -= s
        move_p, move_q = self.moves
        if not self.problem.shared:
            move_p[...] = c
            move_q[...] = c
            return
        gamma = 0.5 * (self.z[0] - self.z[1])
        delta = self.split_move
        delta[...] = _project_range(gamma, self.problem.p)
        delta -= gamma
        xp.add(c, 2.0 * delta, out=move_p)
        xp.subtract(c, 2.0 * delta, out=move_q)

    def reflect(self, which: int, z, out) -> None:
        """2·prox(z) − z of the shared objective over the models (AND and OR alike)."""
        self.xp.multiply(_max_sum_prox(z, self.problem.alpha, self.threshold), 2.0, out=out)
        out -= z

    def decomposition(self):
        """The graph point's concepts repaired by ``_Problem.repair``: (z of the LP, its objective)."""
        repaired, _ = self.problem.repair(_concat([self.w[2], self.w[3]] + ([self.v[:1] * 0.0] if self.problem.shared
                                                                             else [])))
        return repaired, self.problem.objective(repaired)

    def duals(self):
        """The value side's multipliers on the rows of ``_Problem`` (see the class): w_match = −ρσc/2 and
        w_split = −2ρσδγ."""
        scale = self.rho * self.weight
        rows = [(-0.5 * scale) * self.move] + ([(-2.0 * scale) * self.split_move] if self.problem.shared else [])
        return (_concat(rows),)

    def first(self):
        z, _ = self.problem.repair(self.problem.start())
        return (z, self.problem.lower * 0.0), self.problem.objective(z)

    def bounds(self):
        z, objective = self.decomposition()
        w = self.duals()[0]
        return (z, w), objective, self.problem.dual_bound(w)

    def identity(self) -> dict:
        problem = self.problem
        return {"method": "shared splitting", "k": problem.k, "n": problem.n,
                "taus": [float(t) for t in to_numpy(self.tau)[:, 0]], "alpha": problem.alpha, "p": problem.p,
                "tables": table_digest(self.v)}

    def result(self, best):
        """(z of the LP, with the splits' excess over p, rounding only, as ``split_violation``)."""
        z, _ = best
        z, violation = self.problem.repair(z)  # already feasible: this measures the excess again
        return z, {"split_violation": violation}


class _GraphedSteps(Recorded):
    """``count`` plain steps of the splitting (both halves, then Halpern's step with a = (k+1)/(k+2)), recorded
    once as a CUDA graph and replayed between checks.

    Launched one by one from Python, a step's few hundred small kernels held it at 1.9 ms (n = 16) to 2.9 ms
    (n = 20) on an H100, whatever the size of the tables (BENCHMARKS.md). The replay runs the same kernels on the
    splitting's own tables, which every step writes in place, so one recording serves every restart and a resumed
    checkpoint; k is a device scalar, and a step multiplies by a as the eager one does: the same iterates.
    """

    def __init__(self, split: _Splitting, count: int):
        import torch

        self.split, self.count = split, count
        self.k = torch.zeros((), dtype=torch.float64, device=split.v.device)
        state = [z.clone() for z in split.z]  # the warm-up before recording takes real steps: z is put back after
        self.graph = cuda_graph_of(self._steps, split.v.device, "the splitting")
        for z, saved in zip(split.z, state):
            z.copy_(saved)

    def _steps(self) -> None:
        for _ in range(self.count):
            a = (self.k + 1.0) / (self.k + 2.0)
            self.split.begin()
            self.split.half(0, a)
            self.split.half(1, a)
            self.k += 1.0

    def __call__(self, k: int) -> None:
        self.k.fill_(k)
        self.graph.replay()


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@contextlib.contextmanager
def _halves(split: _Splitting, n: int):
    """Yields run(halpern): one step's two halves, on two threads for a NumPy table of ≥ ``_THREADED_FROM`` players
    on ≥ 2 cores (NumPy's kernels and BLAS release the GIL; the BLAS is held to its share of the cores meanwhile),
    else one after the other (torch runs its own kernels in parallel, or on the GPU)."""
    cores = _cores()
    if is_torch(split.v) or n < _THREADED_FROM or cores < 2:
        def run(halpern):
            split.begin()
            split.half(0, halpern)
            split.half(1, halpern)

        yield run
        return
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_limits

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="harsanyi-or") as pool, \
            threadpool_limits(limits=max(1, cores // 2), user_api="blas"):
        def run(halpern):
            split.begin()
            other = pool.submit(split.half, 1, halpern)
            split.half(0, halpern)
            other.result()

        yield run


def _step_seconds(split, times: int = 3) -> float:
    """The seconds of one step of ``split`` (eager: a CUDA-graph replay is faster): the fastest of ``times`` after a
    first one, which touches fresh buffers (at n = 18 on two cores 19 ms, then 13 ms); ``z`` is left as it was."""
    seconds = []
    with _halves(split, split.problem.n) as step:
        for _ in range(times + 1):
            begin = time.perf_counter()
            step(None)
            split.residual()  # its norms wait for the device
            seconds.append(time.perf_counter() - begin)
    return min(seconds[1:])


@dataclass
class _Run:
    """Where the loop is: Halpern's counter k since the last restart, the restart criteria's residuals r0 and
    last, the counts, the best decomposition (x, y, dual signs) and the bounds, and the seconds spent before this
    call (a resumed run adds to them)."""

    k: int = 0
    r0: float | None = None
    last: float = math.inf
    restarts: int = 0
    iteration: int = 0
    checks: int = 0
    best_obj: float = math.inf
    best_lower: float = -math.inf
    seconds: float = 0.0
    history: list = field(default_factory=list)

    def scalars(self) -> dict:
        return dataclasses.asdict(self)  # JSON as it is (inf and None included)

    @classmethod
    def of(cls, scalars: dict) -> "_Run":
        return cls(**{**scalars, "history": [tuple(item) for item in scalars["history"]]})


_SAVE_SECONDS = 60.0  # a checkpoint is rewritten at most this often while the splitting runs, and when it stops
_CHECKPOINT_FORMAT = 2  # 2: the metric weight σ joined the identity (fifteenth session)


def table_digest(*tables) -> str:
    """A SHA-256 of value tables (as float64 on the host): what ties a checkpoint to its problem."""
    digest = hashlib.sha256()
    for table in tables:
        digest.update(np.ascontiguousarray(to_numpy(table), dtype=np.float64).tobytes())
    return digest.hexdigest()


class _Checkpoint(Checkpoint):
    """A solver's state in one .npz file (see :class:`harsanyi._files.Checkpoint`); what identifies its problem is,
    for the splitting, n, τ, ρ, σ, check_every and a SHA-256 of the value table.

    The splitting saves its state between two iterations and restores it to the last bit, so a run resumed from a
    save made at one of its regular checks (the periodic saves, and stops at a time limit or at a ``max_iter`` that
    is a multiple of ``check_every``) takes the same iterates as one that was never stopped; a stop at another
    ``max_iter`` adds one check there (its restart test and bounds). Shared-concept PDHG saves at its checks alike."""

    def __init__(self, path, identity: dict, shapes: dict):
        super().__init__(path, {"format": _CHECKPOINT_FORMAT, **identity}, shapes, what="the AND-OR checkpoint",
                         problem="problem", resumes="the same tables with the same settings (τ, check_every, …)",
                         every=_SAVE_SECONDS, example="andor-checkpoint.npz")


class KeptState:
    """A checkpoint held in memory, for a later call in the same process to go on from where the splitting
    stopped (``shared_concepts`` runs a looser splitting first and goes on from it where the simplex after it
    falls short). Passed as ``checkpoint=``, it keeps the last state, copied, unchecked against the problem (the
    caller's own) and saved only when the run stops; like a file, it fixes the metric whatever the time limit."""

    def __init__(self):
        self._saved = None

    def load(self) -> tuple[dict, dict] | None:
        return self._saved

    def due(self) -> bool:
        return False

    def save(self, state: dict, arrays: dict) -> None:
        self._saved = state, {name: np.array(to_numpy(a), dtype=np.float64) for name, a in arrays.items()}


def halpern_splitting(problem, *, tol: float, max_iter: int, time_limit: float | None, check_every: int, bar,
                      rho: float | None = None, weight: float | None = None, checkpoint=None,
                      splitting: type = _Splitting):
    """Restarted Halpern Peaceman–Rachford on ``problem`` (a ``_DividendProblem`` with ``splitting=_Splitting``, a
    shared-concept ``_Problem`` with ``_SharedSplitting``) in the metric of ``splitting.parameters`` (ρ·|v(N) − v(∅)|
    and the value tables' weight σ) unless ``rho`` or ``weight`` is given. The restart criteria and the time are
    checked every ``check_every`` iterations, the bounds (a repaired decomposition, the dual estimates) every
    ``_BOUNDS_EVERY`` checks, on the last iteration and when time is up. A ``time_limit`` that leaves too few
    iterations for the weighted metric (``_parameters``, one step timed first) keeps the plain one. ``checkpoint``:
    a file the state is saved to (every ``_SAVE_SECONDS`` and when the run stops) and resumed from, or a
    :class:`KeptState`; ``max_iter`` then counts the saved iterations too, ``time_limit`` this call's seconds.
    Returns (the splitting's result, the best L1, the best lower bound, stats) like the PDHG runners."""
    start = time.perf_counter()
    given = rho, weight

    scale = splitting.scale_of(problem)

    def metric(budget):
        rho_range, default_weight = splitting.parameters(problem.n, budget)
        return ((rho_range / scale if scale > 0 else 1.0) if given[0] is None else given[0],
                default_weight if given[1] is None else given[1])

    rho, weight = metric(math.inf)
    split = splitting(problem, rho, weight)
    if given == (None, None) and checkpoint is None and time_limit is not None and weight != 1.0:
        # a checkpointed run keeps the metric of its identity, whatever the time limit of each call
        budget = min(max_iter, max(time_limit - (time.perf_counter() - start), 0.0) / _step_seconds(split))
        if metric(budget) != (rho, weight):
            rho, weight = metric(budget)
            split.use_metric(rho, weight)
    best, plain = split.first()
    run = _Run(best_obj=plain)
    names = tuple(f"{part}{i}" for part in ("z", "anchor") for i in range(4)) + split.best_names
    saver = None
    if checkpoint is not None:
        identity = {**split.identity(), "rho": float(rho), "weight": float(weight), "check_every": int(check_every)}
        tables = split.z + split.anchor + list(best)
        saver = checkpoint if isinstance(checkpoint, KeptState) else \
            _Checkpoint(checkpoint, identity, {name: tuple(t.shape) for name, t in zip(names, tables)})
    saved = None if saver is None else saver.load()
    if saved is not None:
        state, arrays = saved
        run = _Run.of(state)
        for table, name in zip(split.z + split.anchor, names):
            table[...] = like(arrays[name], split.v)
        best = tuple(like(arrays[name], split.v) for name in split.best_names)
        bar.update(run.iteration)
    resumed_from, reported = run.iteration, run.iteration
    finished = saved is not None and _gap(run.best_obj, run.best_lower) <= tol  # a converged run is not run on

    def save():
        arrays = dict(zip(names, split.z + split.anchor + list(best)))
        saver.save(dataclasses.replace(run, seconds=run.seconds + time.perf_counter() - start).scalars(), arrays)

    graphed = _GraphedSteps.on_cuda(split, split.v, check_every - 1)
    with _halves(split, problem.n) as step:
        while not finished and run.iteration < max_iter:
            if graphed is not None and run.iteration % check_every == 0 and run.iteration + check_every <= max_iter:
                graphed(run.k)  # the plain steps up to the next check, as one replay
                run.iteration += graphed.count
                run.k += graphed.count
            run.iteration += 1
            check = run.iteration % check_every == 0 or run.iteration == max_iter
            step(None if check else (run.k + 1) / (run.k + 2))
            if not check:
                run.k += 1
                continue
            run.checks += 1
            stop = False
            late = time_limit is not None and time.perf_counter() - start > time_limit
            if run.checks % _BOUNDS_EVERY == 0 or run.iteration == max_iter or late:
                candidate, objective, lower = split.bounds()
                if objective < run.best_obj:
                    best, run.best_obj = candidate, objective
                run.best_lower = max(run.best_lower, lower)
                stop = _checkpoint(run.history, bar, run.iteration, run.best_obj, run.best_lower,
                                   run.iteration - reported, tol, time_limit, start)
                reported = run.iteration
            # the step is finished (a restart, or Halpern's step) before any stop, so a saved state lies between two
            # iterations and a resumed run goes on exactly as this one would have
            residual = split.residual()
            run.r0 = residual if run.r0 is None else run.r0
            if (residual <= _B_SUFF * run.r0 or (residual <= _B_NEC * run.r0 and residual > run.last)
                    or run.k >= _B_ART * run.iteration):
                split.restart()
                run.k, run.r0, run.last = 0, None, math.inf
                run.restarts += 1
            else:
                run.last = residual
                split.halpern((run.k + 1) / (run.k + 2))
                run.k += 1
            if stop:
                break
            if saver is not None and saver.due():
                save()
    if saver is not None and run.iteration > resumed_from:
        save()
    result, extra = split.result(best)
    best_lower = max(run.best_lower, 0.0)
    stats = dict(iterations=run.iteration, restarts=run.restarts, seconds=run.seconds + time.perf_counter() - start,
                 gap=max(_gap(run.best_obj, best_lower), 0.0), history=tuple(run.history), rho=rho,
                 weight=weight, resumed_from=resumed_from, **extra)
    return result, run.best_obj, best_lower, stats
