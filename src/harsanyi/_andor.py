"""AND-OR decomposition (SPEC §3): sparse AND and OR concepts that reproduce v on all 2ⁿ coalitions within τ.

The papers' problem, minimise Σ|I_and| + Σ|I_or| over the split γ and the noise |ε| ≤ τ, is a linear program. In the
interactions themselves it reads

    minimise ‖x‖₁ + ‖y‖₁   subject to   |ζx + Ry − v| ≤ τ   (every coalition S),

where x are the AND interactions, y the OR interactions, ζ the subset-zeta (AND reconstruction) and R the OR
reconstruction (v_or(S) = y(∅) + Σ_{T∩S≠∅} y(T)). ε = ζx + Ry − v is the noise, and v_and = ζx, v_or = Ry give the
papers' γ = (v_and − v_or)/2. An OR concept on at most one player is the same column as the AND concept on the same
players (their "tidy-up"), so y is fixed at 0 there; that changes nothing in the optimum.

We solve it with the primal-dual hybrid gradient method as in PDLP (Applegate et al., "Practical large-scale linear
programming using primal-dual hybrid gradient", NeurIPS 2021): diagonal preconditioning by the row and column sums of
|A| (Pock & Chambolle 2011), restarts to the average iterate when the KKT error has dropped, and an adaptive primal
weight. Every operator is a fast transform: A = [ζ, R] and Aᵀ = [ζ⁺, Rᵀ] cost O(n·2ⁿ); nothing 2ⁿ×2ⁿ is formed.
The dual iterate gives a certified lower bound on the optimum (weak duality), the repaired primal iterate a feasible
upper bound, so the result states how far from optimal it can be at most.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from ._array import is_torch, like, to_numpy
from ._certificate import Certificate, Check, rounding_tolerance
from ._interactions import Interactions
from ._sparsity import KAPPA, Concept, FidelityCurve, fidelity_curve, ranked_concepts, salient_concepts
from ._transforms import (
    masks_of_size,
    or_reconstruct,
    or_reconstruct_adjoint,
    or_transform,
    popcounts,
    subset_moebius,
    subset_zeta,
    superset_zeta,
)
from .exceptions import HarsanyiValueError

__all__ = ["Concepts", "SolverReport", "and_or_decomposition", "QTHRES"]

_B_SUFF, _B_NEC, _B_ART = 0.2, 0.8, 0.36
QTHRES = 0.02  # τ = qthres · |v(N) − v(∅)|, the newer default of the papers' code (SPEC §3)


@dataclass(frozen=True)
class SolverReport:
    """How the L1 problem was solved and how close to optimal the answer is.

    ``l1`` is the L1 norm of the returned concepts (a feasible point); ``lower_bound`` a certified lower bound on the
    optimum from the dual iterate; ``gap`` = (l1 − lower_bound) / l1, so the returned L1 is within ``gap`` of the
    optimum. ``converged``: the gap reached the requested tolerance.
    """

    method: str
    iterations: int
    restarts: int
    seconds: float
    l1: float
    lower_bound: float
    gap: float
    tolerance: float
    converged: bool
    history: tuple = field(default=(), repr=False)  # (iteration, best l1, best lower bound) at each check

    def __str__(self) -> str:
        state = "converged" if self.converged else "stopped before the tolerance"
        return (f"{self.method}: {state} after {self.iterations:,} iterations ({self.restarts} restarts, "
                f"{self.seconds:.2f} s); L1 {self.l1:.6g}, certified lower bound {self.lower_bound:.6g}, "
                f"so within {100 * self.gap:.3g} % of the optimum.")


@dataclass(frozen=True)
class Concepts:
    """The AND-OR decomposition of a value table: sparse AND and OR concepts and the bounded noise.

    For every coalition S: v(S) + ε_S = Σ_{T⊆S} and_(T) + Σ_{T: T∩S≠∅ or T=∅} or_(T), with |ε_S| ≤ τ.
    ``and_``, ``or_``: :class:`Interactions` over all 2ⁿ coalitions (OR concepts of ≤ 1 player are 0: they are AND
    concepts). ``noise``: ε, shape (2ⁿ,). ``certificate``: universal matching within τ on all 2ⁿ coalitions.
    ``l1_before``: Σ|I| of the plain Harsanyi dividends (AND only, ε = 0); ``l1_after``: Σ|I| of these concepts.
    """

    and_: Interactions
    or_: Interactions
    noise: np.ndarray
    tau: float
    certificate: Certificate
    l1_before: float
    l1_after: float
    solver: SolverReport
    values: np.ndarray = field(repr=False, default=None)  # the value table the concepts reproduce
    player_names: tuple[str, ...] | None = None

    @property
    def n_players(self) -> int:
        return self.and_.n_players

    def ranked(self) -> list[Concept]:
        """Every nonzero AND and OR concept of a non-empty coalition, by |value| descending."""
        return ranked_concepts(self.and_.values, self.or_.values, self.player_names)

    def salient(self, kappa: float = KAPPA, *, reference: float | None = None) -> list[Concept]:
        """Concepts with |I| ≥ κ · max |I| over this decomposition's AND and OR concepts (SPEC §3)."""
        return salient_concepts(self.and_.values, self.or_.values, kappa=kappa, player_names=self.player_names,
                                reference=reference)

    def fidelity_curve(self, max_k: int | None = None) -> FidelityCurve:
        """Error over all 2ⁿ masked inputs keeping only the top-k concepts, normalised by |v(N) − v(∅)|."""
        return fidelity_curve(self.values, self.and_.values, self.or_.values, max_k=max_k)

    def __repr__(self) -> str:
        return (f"Concepts(n_players={self.n_players}, L1 {self.l1_before:.4g} → {self.l1_after:.4g}, "
                f"τ={self.tau:.3g}, within {100 * self.solver.gap:.2g} % of optimal, "
                f"certificate {'holds' if self.certificate.passed else 'FAILS'})")


# --- the linear program ---------------------------------------------------------------------------------------------
class _Problem:
    """min ‖x‖₁ + ‖y‖₁ s.t. |ζx + Ry − v| ≤ τ, with y fixed at 0 on coalitions of ≤ 1 player."""

    def __init__(self, v, tau: float):
        self.v = v
        n = int(v.shape[-1]).bit_length() - 1
        self.n = n
        self.tau = tau
        pop = popcounts(n).astype(np.float64)
        size = float(1 << n)
        self.y_free = like(pop >= 2, v)  # y is a variable only on coalitions of ≥ 2 players
        # column sums of |A|: ζ has 2^{n−|T|} ones in column T; R has 2ⁿ − 2^{n−|T|} (coalitions meeting T)
        col_x = 2.0 ** (n - pop)
        col_y = np.where(pop >= 2, size - col_x, np.inf)
        # row sums: ζ has 2^{|S|} ones in row S; R has one per free T meeting S: 2ⁿ − 2^{n−|S|} − |S|
        row = 2.0 ** pop + np.maximum(size - 2.0 ** (n - pop) - pop, 0.0)
        self.step_x, self.step_y, self.step_w = like(1.0 / col_x, v), like(1.0 / col_y, v), like(1.0 / row, v)
        self.lower, self.upper = v - tau, v + tau

    def forward(self, x, y):
        """A z = ζx + Ry."""
        return subset_zeta(x) + or_reconstruct(y)

    def adjoint(self, w):
        """Aᵀ w = (ζ⁺w, Rᵀw), the y part 0 where y is fixed."""
        gy = or_reconstruct_adjoint(w)
        gy[..., ~self.y_free] = 0.0
        return superset_zeta(w), gy

    def dual_bound(self, w, gx, gy) -> float:
        """A certified lower bound on the optimum: the dual objective −vᵀw̃ − τ‖w̃‖₁ at w̃ = w / max(1, ‖Aᵀw‖∞)
        (the dual is max −vᵀw − τ‖w‖₁ subject to ‖Aᵀw‖∞ ≤ 1; weak duality)."""
        scale = max(1.0, float(abs(gx).max()), float(abs(gy).max()))
        return float(-(self.v * w).sum() - self.tau * abs(w).sum()) / scale

    def repair(self, x, y):
        """A feasible point near any (x, y): returns (x + δ, y, ε) with |ε| ≤ τ everywhere.

        Coalitions are visited by size, smallest first. Where the residual r(S) = (ζx + Ry − v)(S), including the
        corrections already made below S, leaves [−τ, τ], the AND concept of S itself takes the excess: δ(S) =
        −(r(S) − clip(r(S))). δ(S) changes the reconstruction only on supersets of S, which are visited later, so
        one pass makes every coalition feasible, and the L1 grows by no more than the total excess. One zeta
        transform per size that needed a correction.
        """
        residual = subset_zeta(x) + or_reconstruct(y) - self.v
        delta = residual * 0.0
        shift = None  # ζδ over the sizes corrected so far
        for size in range(self.n + 1):
            sel = like(masks_of_size(self.n, size).copy(), residual)
            current = residual[..., sel] if shift is None else residual[..., sel] + shift[..., sel]
            excess = current - _clip(current, -self.tau, self.tau)
            if not bool((excess != 0).any()):
                continue
            delta[..., sel] = -excess
            shift = subset_zeta(delta)
        eps = residual if shift is None else residual + shift
        return x + delta, y, _clip(eps, -self.tau, self.tau)


def _clip(a, lo, hi):
    if is_torch(a):
        import torch

        lo = lo if is_torch(lo) else torch.as_tensor(lo, dtype=a.dtype, device=a.device)
        hi = hi if is_torch(hi) else torch.as_tensor(hi, dtype=a.dtype, device=a.device)
        return torch.minimum(torch.maximum(a, lo), hi)
    return np.minimum(np.maximum(a, lo), hi)


def _norm(a) -> float:
    return math.sqrt(float((a * a).sum()))


def _soft(a, t):
    """Soft thresholding sign(a)·max(|a| − t, 0), the prox of t‖·‖₁."""
    return a - _clip(a, -t, t)


def _pdhg(problem: _Problem, *, tol: float, max_iter: int, time_limit: float | None, check_every: int, bar):
    """Restarted, preconditioned PDHG. Returns the best feasible (x, y, ε), its L1, the best lower bound, stats."""
    v = problem.v
    start = time.perf_counter()
    x = subset_moebius(v)  # warm start: the plain dividends are feasible (ε = 0)
    y = v * 0.0
    w = v * 0.0
    best = (x, y, v * 0.0)
    best_l1 = float(abs(x).sum())
    best_lower = 0.0
    omega = 1.0
    sum_x, sum_y, sum_w, count = x * 0.0, y * 0.0, w * 0.0, 0
    anchor = (x, y, w)
    anchor_kkt = None
    last_candidate_kkt = math.inf
    restarts, iteration = 0, 0
    since_restart = 0
    history = []
    gx, gy = problem.adjoint(w)
    while iteration < max_iter:
        iteration += 1
        since_restart += 1
        tx, ty, tw = problem.step_x / omega, problem.step_y / omega, problem.step_w * omega
        x_new = _soft(x - tx * gx, tx)
        y_new = _soft(y - ty * gy, ty)
        az_bar = problem.forward(2.0 * x_new - x, 2.0 * y_new - y)
        p = w + tw * az_bar
        w = p - tw * _clip(p / tw, problem.lower, problem.upper)
        x, y = x_new, y_new
        gx, gy = problem.adjoint(w)
        sum_x, sum_y, sum_w, count = sum_x + x, sum_y + y, sum_w + w, count + 1
        if iteration % check_every and iteration != max_iter:
            continue
        # --- bounds, restart, stop --------------------------------------------------------------------------------
        candidates = [(x, y, w, gx, gy), (sum_x / count, sum_y / count, sum_w / count)]
        candidates[1] = (*candidates[1], *problem.adjoint(candidates[1][2]))
        scored = []
        for cx, cy, cw, cgx, cgy in candidates:
            az = problem.forward(cx, cy)
            primal_inf = _norm(_clip(abs(az - v) - problem.tau, 0.0, math.inf))
            dual_inf = math.sqrt(_norm(_clip(abs(cgx) - 1.0, 0.0, math.inf)) ** 2
                                 + _norm(_clip(abs(cgy) - 1.0, 0.0, math.inf)) ** 2)
            p_obj = float(abs(cx).sum() + abs(cy).sum())
            d_obj = float(-(v * cw).sum() - problem.tau * abs(cw).sum())
            kkt = math.sqrt(primal_inf ** 2 + dual_inf ** 2 + (p_obj - d_obj) ** 2)
            scored.append((kkt, cx, cy, cw, cgx, cgy))
            fx, fy, feps = problem.repair(cx, cy)
            l1 = float(abs(fx).sum() + abs(fy).sum())
            if l1 < best_l1:
                best, best_l1 = (fx, fy, feps), l1
            best_lower = max(best_lower, problem.dual_bound(cw, cgx, cgy))
        history.append((iteration, best_l1, best_lower))
        gap = (best_l1 - best_lower) / best_l1 if best_l1 > 0 else 0.0
        bar.set_postfix_str(f"L1 {best_l1:.6g}, gap {100 * gap:.3g} %", refresh=False)
        bar.update(check_every)
        if gap <= tol or (time_limit is not None and time.perf_counter() - start > time_limit):
            break
        kkt, cx, cy, cw, cgx, cgy = min(scored, key=lambda s: s[0])
        if anchor_kkt is None:
            anchor_kkt = kkt
        restart = (kkt <= _B_SUFF * anchor_kkt or (kkt <= _B_NEC * anchor_kkt and kkt > last_candidate_kkt)
                   or since_restart >= _B_ART * iteration)
        last_candidate_kkt = kkt
        if restart:
            dz = math.sqrt(_norm(cx - anchor[0]) ** 2 + _norm(cy - anchor[1]) ** 2)
            dw = _norm(cw - anchor[2])
            if dz > 1e-10 and dw > 1e-10:
                omega = math.exp(0.5 * math.log(dw / dz) + 0.5 * math.log(omega))
            x, y, w, gx, gy = cx, cy, cw, cgx, cgy
            anchor, anchor_kkt = (x, y, w), kkt
            sum_x, sum_y, sum_w, count = x * 0.0, y * 0.0, w * 0.0, 0
            since_restart, last_candidate_kkt = 0, math.inf
            restarts += 1
    gap = (best_l1 - best_lower) / best_l1 if best_l1 > 0 else 0.0
    stats = dict(iterations=iteration, restarts=restarts, seconds=time.perf_counter() - start, gap=max(gap, 0.0),
                 history=tuple(history))
    return best, best_l1, best_lower, stats


def and_or_decomposition(table, *, qthres: float = QTHRES, tau: float | None = None, tol: float = 1e-3,
                         max_iter: int = 20_000, time_limit: float | None = None, check_every: int = 64,
                         progress: bool | None = None, player_names=None) -> Concepts:
    """See :meth:`harsanyi.ValueTable.and_or`."""
    v = table
    n = int(v.shape[-1]).bit_length() - 1
    scale = abs(float(v[-1]) - float(v[0]))
    if tau is None:
        if not (isinstance(qthres, (int, float)) and math.isfinite(qthres) and qthres >= 0):
            raise HarsanyiValueError(f"Expected qthres ≥ 0 (τ = qthres · |v(N) − v(∅)|); received {qthres!r}.")
        tau = float(qthres) * scale
    elif not (isinstance(tau, (int, float)) and math.isfinite(tau) and tau >= 0):
        raise HarsanyiValueError(f"Expected tau ≥ 0 (the bound on |ε|, in the units of v); received {tau!r}.")
    tau = float(tau)
    if not (isinstance(tol, (int, float)) and 0 < tol < 1):
        raise HarsanyiValueError(f"Expected tol in (0, 1), the relative optimality gap to reach; received {tol!r}.")
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
        raise HarsanyiValueError(f"Expected max_iter to be a positive integer; received {max_iter!r}.")
    problem = _Problem(v, tau)
    if progress is None:
        progress = n >= 14
    from tqdm.auto import tqdm

    with tqdm(total=max_iter, disable=not progress, unit="it", desc=f"AND-OR, n={n}") as bar:
        (x, y, eps), l1, lower, stats = _pdhg(problem, tol=tol, max_iter=int(max_iter), time_limit=time_limit,
                                              check_every=int(check_every), bar=bar)
    report = SolverReport("restarted preconditioned PDHG", stats["iterations"], stats["restarts"],
                          stats["seconds"], l1, lower, stats["gap"], tol, stats["gap"] <= tol, stats["history"])
    certificate = matching_certificate(v, x, y, tau)
    l1_before = float(abs(subset_moebius(v)).sum())
    x_np, y_np = to_numpy(x).copy(), to_numpy(y).copy()
    common = dict(player_names=player_names, baseline_value=float(v[0]), certificate=certificate, max_order=n)
    values = to_numpy(v).copy()
    values.flags.writeable = False
    return Concepts(Interactions(x_np, index="AND", **common), Interactions(y_np, index="OR", **common),
                    to_numpy(eps).copy(), tau, certificate, l1_before, l1, report, values, player_names)


def matching_certificate(v, x, y, tau: float) -> Certificate:
    """Universal matching of AND-OR concepts: max_S |v(S) − (ζx + Ry)(S)| ≤ τ (plus float64 rounding)."""
    n = int(v.shape[-1]).bit_length() - 1
    recon = subset_zeta(x) + or_reconstruct(y)
    residual = float(abs(recon - v).max())
    magnitude = max(float(abs(x).sum() + abs(y).sum()), float(abs(v).max()))
    check = Check("universal matching (AND-OR, |ε| ≤ τ)", residual, tau + rounding_tolerance(n, magnitude), 1 << n)
    scale = abs(float(v[-1]) - float(v[0]))
    return Certificate((check,), scale, n).raise_if_failed()
