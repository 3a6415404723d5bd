"""AND-OR decomposition (SPEC §3): sparse AND and OR concepts that reproduce v on all 2ⁿ coalitions within τ.

The papers' problem, minimise Σ|I_and| + Σ|I_or| over the split γ and the noise |ε| ≤ τ, is a linear program. In the
interactions themselves it reads

    minimise ‖x‖₁ + ‖y‖₁   subject to   |ζx + Ry − v| ≤ τ   (every coalition S),

where x are the AND interactions, y the OR interactions, ζ the subset-zeta (AND reconstruction) and R the OR
reconstruction (v_or(S) = y(∅) + Σ_{T∩S≠∅} y(T)). ε = ζx + Ry − v is the noise, and v_and = ζx, v_or = Ry give the
papers' γ = (v_and − v_or)/2. An OR concept on at most one player is the same column as the AND concept on the same
players (their "tidy-up"), so y is fixed at 0 there; that changes nothing in the optimum.

Single model (``and_or``). With y fixed to 0 on coalitions of ≤ 1 player, the matching rows can be solved for x:
x = μ(v + ε) + K̃y (see ``_DividendProblem``), so the LP becomes min ‖μv + K̃y + με‖₁ + ‖y‖₁ over y and the box
|ε| ≤ τ. Every point is then an exact decomposition, and the dual variables are the signs of the AND concepts,
bounded by 1. Small n: HiGHS (scipy) on that LP as a sparse matrix (3ⁿ nonzeros per operator), exact; mid-sized n
with a sparse optimum: the working set (``_activeset``), exact. Any n: restarted Halpern Peaceman–Rachford splitting
in value form, whose linear step is the exact projection onto the graphs of μ and Ω (``_splitting``); or restarted
Halpern PDHG with reflection (Lu & Yang 2024), diagonal preconditioning by the row and column sums of the operator
(Pock & Chambolle 2011), PDLP's restart criteria and adaptive primal weight (Applegate et al. 2021). Their operators
are fast transforms, O(n·2ⁿ) per step; nothing 2ⁿ×2ⁿ is formed. The best iterate is an upper bound on the optimum,
each dual iterate (scaled to feasibility) a certified lower bound, so the result states how far from optimal it can
be at most.

Several models (``shared_concepts``, SPEC §3c) keep the matching rows as constraints (``_Problem``): the shared
split adds rows of its own. Small n: that LP in equality form for HiGHS (``_shared_highs``), exact; any n:
restarted, preconditioned PDHG with averaging, whose infeasible iterates are repaired coalition by coalition
(``_Problem.repair``).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from ._array import is_torch, like, to_numpy
from ._certificate import Certificate, Check, rounding_tolerance
from ._interactions import Interactions
from ._iterate import (
    _B_ART, _B_NEC, _B_SUFF, _checkpoint, _clip, _concat, _max_sum_prox, _norm, _primal_weight, _project_range,
    _soft, Recorded, cuda_graph_of,
)
from ._progress import progress_bar
from ._splitting import KeptState, _Checkpoint, _SharedSplitting, halpern_splitting, table_digest
from ._sparsity import KAPPA, N_GREEDY, Concept, FidelityCurve, fidelity_curve, ranked_concepts, salient_concepts
from ._transforms import (
    masks_of_size,
    or_reconstruct,
    or_reconstruct_adjoint,
    or_transform,
    popcounts,
    subset_moebius,
    subset_zeta,
    superset_moebius,
    superset_zeta,
)
from .exceptions import HarsanyiError, HarsanyiValueError

__all__ = ["Concepts", "SolverReport", "SharedConcepts", "and_or_decomposition", "shared_concepts", "bound_in_words",
           "QTHRES", "METHODS"]

QTHRES = 0.02  # τ = qthres · |v(N) − v(∅)|, the newer default of the papers' code (SPEC §3)
MAX_ITER = 20_000  # iterations of a first-order run (rounds of the working set) when no time_limit bounds it
UNCAPPED = sys.maxsize  # … and with a time_limit: no cap but the limit


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
        restarts = f"{self.restarts} restarts, " if self.restarts else ""
        return (f"{self.method}: {state} after {self.iterations:,} iterations ({restarts}"
                f"{self.seconds:.2f} s); objective {self.l1:.6g}, certified lower bound {self.lower_bound:.6g}, "
                f"so {bound_in_words(self.gap)}.")


def bound_in_words(gap: float) -> str:
    """What a certified gap g = (L1 − lower bound) / L1 says of the L1 against the smallest possible: at most
    g / (1 − g) above it, as a percentage while that is below 100 %, else as a factor."""
    if not gap < 1:
        return "no useful lower bound on the smallest L1 yet"
    excess = max(gap, 0.0) / (1.0 - gap)
    how = ("the smallest L1 possible" if excess == 0 else f"at most {100 * excess:.3g} % above the smallest L1 "
           f"possible" if excess < 1 else f"at most {1 + excess:.3g}× the smallest L1 possible")
    return f"{how} (certified gap {100 * gap:.3g} %)"


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

    def ranked(self, limit: int | None = None) -> list[Concept]:
        """Every nonzero AND and OR concept of a non-empty coalition (the first ``limit``), by |value| descending."""
        return ranked_concepts(self.and_.values, self.or_.values, self.player_names, limit=limit)

    def salient(self, kappa: float = KAPPA, *, reference: float | None = None) -> list[Concept]:
        """Concepts with |I| ≥ κ · max |I| over this decomposition's AND and OR concepts (SPEC §3)."""
        return salient_concepts(self.and_.values, self.or_.values, kappa=kappa, player_names=self.player_names,
                                reference=reference)

    def fidelity_curve(self, max_k: int | None = None, *, order: str = "top-k", n_greedy: int = N_GREEDY,
                       progress: bool | None = None) -> FidelityCurve:
        """Error over all 2ⁿ masked inputs keeping only k concepts, normalised by |v(N) − v(∅)|: the top k by |I|,
        or with ``order="greedy"`` the last k of the lab's greedy backward elimination (see
        :func:`harsanyi.fidelity_curve`)."""
        return fidelity_curve(self.values, self.and_.values, self.or_.values, max_k=max_k, order=order,
                              n_greedy=n_greedy, player_names=self.player_names, progress=progress)

    def __repr__(self) -> str:
        return (f"Concepts(n_players={self.n_players}, L1 {self.l1_before:.4g} → {self.l1_after:.4g}, "
                f"τ={self.tau:.3g}, optimality gap ≤ {100 * self.solver.gap:.2g} %, "
                f"certificate {'holds' if self.certificate.passed else 'FAILS'})")


# --- the linear program ---------------------------------------------------------------------------------------------
class _Problem:
    """AND-OR concepts of K value tables on the same players, as one linear program (K = 1: SPEC §3; K ≥ 2: §3c).

    Variables, stacked in one array z of shape (2K + G, 2ⁿ): the AND concepts x_k (rows 0 … K−1), the OR concepts
    y_k (rows K … 2K−1) and, for K ≥ 2 (G = 1), the shared split g.

        minimise  Σ_S (1 − α)(max_k |x_k(S)| + max_k |y_k(S)|) + α Σ_k (|x_k(S)| + |y_k(S)|)
        s.t.      |ζx_k + Ry_k − v_k| ≤ τ_k                      (matching, every model and coalition)
                  |½(ζx_k − Ry_k) − g| ≤ p                       (K ≥ 2: each model's split near the shared one)

    For K = 1 the objective is ‖x‖₁ + ‖y‖₁ for any α and there is no g. ½(ζx_k − Ry_k) is the papers' γ_k
    (v_and = ζx, v_or = Ry), g their γ_shared and p = pthres · (mean output).

    y is a variable on every coalition, as the papers' split γ is (SPEC §3): an OR concept on ≤ 1 player reproduces
    the same coalitions as the AND concept of the same players, so for K = 1 it changes nothing (its tidy-up into
    the AND one lowers no optimum), but it moves the split ½(ζx_k − Ry_k) while the match stays. Held at 0, as
    they were before the twenty-second session, they fixed γ_k(∅) = ½(v_k(∅) + ε_k(∅)), and models whose outputs
    at the baseline differ by more than about 4p + 2τ had no feasible split at all.
    """

    def __init__(self, vs, taus, *, alpha: float = 1.0, p: float = math.inf):
        self.vs = vs  # (K, 2^n)
        self.k = int(vs.shape[0])
        n = int(vs.shape[-1]).bit_length() - 1
        self.n, self.alpha, self.p = n, float(alpha), float(p)
        self.shared = self.k >= 2
        pop = popcounts(n).astype(np.float64)
        size = float(1 << n)
        weight = 1.5 if self.shared else 1.0  # x and y also enter the split rows, with coefficient ½
        # column sums of |A|: ζ has 2^{n−|T|} ones in column T; R has 2ⁿ − 2^{n−|T|} (coalitions meeting T), and 2ⁿ
        # in column ∅ (I_or(∅) is in every v_or(S))
        col_x = weight * 2.0 ** (n - pop)
        col_y = weight * np.where(pop >= 1, size - 2.0 ** (n - pop), size)
        # row sums: ζ has 2^{|S|} ones in row S; R has one per T meeting S, 2ⁿ − 2^{n−|S|}, and one for ∅
        row = 2.0 ** pop + size - 2.0 ** (n - pop) + 1.0
        cols = [np.broadcast_to(col_x, (self.k, 1 << n)), np.broadcast_to(col_y, (self.k, 1 << n))]
        rows = [np.broadcast_to(row, (self.k, 1 << n))]
        taus = np.asarray(taus, dtype=np.float64)[:, None]
        lower, upper = [-taus], [taus]
        if self.shared:
            cols.append(np.full((1, 1 << n), float(self.k)))
            rows.append(np.broadcast_to(0.5 * row + 1.0, (self.k, 1 << n)))
            lower.append(np.full((self.k, 1), -self.p))
            upper.append(np.full((self.k, 1), self.p))
        self.step_z = like(1.0 / np.concatenate(cols), vs)
        self.step_w = like(1.0 / np.concatenate(rows), vs)
        offset = _concat([vs] + ([vs * 0.0] if self.shared else []))
        self.lower = offset + like(np.concatenate([np.broadcast_to(b, (self.k, 1 << n)) for b in lower]), vs)
        self.upper = offset + like(np.concatenate([np.broadcast_to(b, (self.k, 1 << n)) for b in upper]), vs)

    # the parts of z and w
    def parts(self, z):
        return z[: self.k], z[self.k: 2 * self.k], z[2 * self.k:]

    def start(self):
        """Warm start: the plain dividends (feasible with ε = 0), no OR concepts, g = γ of the models' mean."""
        x = subset_moebius(self.vs)
        rows = [x, x * 0.0] + ([0.5 * self.vs.mean(0, keepdims=True) if not is_torch(x)
                                else 0.5 * self.vs.mean(0, keepdim=True)] if self.shared else [])
        return _concat(rows)

    def forward(self, z):
        x, y, g = self.parts(z)
        zx, ry = subset_zeta(x), or_reconstruct(y)
        rows = [zx + ry] + ([0.5 * (zx - ry) - g] if self.shared else [])
        return _concat(rows)

    def adjoint(self, w):
        w1, w2 = w[: self.k], w[self.k:]
        if self.shared:
            gx, gy = superset_zeta(w1 + 0.5 * w2), or_reconstruct_adjoint(w1 - 0.5 * w2)
        else:
            gx, gy = superset_zeta(w1), or_reconstruct_adjoint(w1)
        return _concat([gx, gy] + ([-w2.sum(0, keepdims=True) if not is_torch(w2) else -w2.sum(0, keepdim=True)]
                                   if self.shared else []))

    def prox(self, z, steps):
        """prox of the objective with per-coalition steps (``_max_sum_prox``)."""
        x, y, g = self.parts(z)
        tx, ty, _ = self.parts(steps)
        out = [_max_sum_prox(part, self.alpha, t) for part, t in ((x, tx), (y, ty))]
        return _concat(out + ([g] if self.shared else []))

    def objective(self, z) -> float:
        x, y, _ = self.parts(z)
        total = 0.0
        for part in (x, y):
            a = abs(part)
            total += (1.0 - self.alpha) * float(a.max(0)[0].sum() if is_torch(a) else a.max(0).sum())
            total += self.alpha * float(a.sum())
        return total

    def dual_value(self, w) -> float:
        """−h*(w) for the box of the rows: −Σ (upper·w⁺ + lower·w⁻)."""
        return -float((self.upper * _clip(w, 0.0, math.inf)).sum() + (self.lower * _clip(w, -math.inf, 0.0)).sum())

    def dual_infeasibility(self, grad) -> tuple:
        """(the largest dual norm of −Aᵀw over the coalitions (≤ 1 when feasible), ‖the g part‖₂)."""
        x, y, g = self.parts(grad)
        worst = max(_dual_norm(x, self.alpha), _dual_norm(y, self.alpha))
        return worst, (_norm(g) if self.shared else 0.0)

    def dual_bound(self, w) -> float:
        """A certified lower bound on the optimum (weak duality): w made dual feasible, then its dual value.

        The g columns need Σ_k w2_k = 0 exactly (g is free), so that mean is removed first; the rest is scaled by
        1 / max(1, largest dual norm of Aᵀw).
        """
        if self.shared:
            w2 = w[self.k:]
            w = _concat([w[: self.k], w2 - (w2.mean(0, keepdims=True) if not is_torch(w2) else w2.mean(0, keepdim=True))])
        worst, _ = self.dual_infeasibility(self.adjoint(w))
        return self.dual_value(w) / max(1.0, worst)

    def repair(self, z):
        """A point that satisfies the matching rows exactly, near any z; and the split rows' largest violation.

        Matching: the AND concepts take ``match_inside`` of the residual ζx + Ry − v, coalition by coalition, size
        by size, so one pass makes every coalition feasible.

        Split (K ≥ 2): where the models' γ_k(S) = ½(ζx_k − Ry_k)(S) spread by more than 2p, they are moved to their
        nearest point within the bound (``_project_range``) by δ_k(S), taken by the value tables as v_and + δ and
        v_or − δ: x += μδ, y −= Ωδ (every OR concept is a variable, so any v_or is one), which leaves ζx + Ry, the
        match, as it was. g is the middle of the γ_k; what still exceeds p (rounding) is reported.
        """
        x, y, _ = self.parts(z)
        taus = self.upper[: self.k, :1] - self.vs[:, :1]
        x = x + match_inside(subset_zeta(x) + or_reconstruct(y) - self.vs, taus)
        violation = 0.0
        if self.shared:
            gamma = 0.5 * (subset_zeta(x) - or_reconstruct(y))
            move = _project_range(gamma, self.p) - gamma
            if bool((move != 0).any()):
                x, y = x + subset_moebius(move), y - or_transform(move)
                gamma = 0.5 * (subset_zeta(x) - or_reconstruct(y))
        rows = [x, y]
        if self.shared:
            top, bottom = (gamma.max(0)[0], gamma.min(0)[0]) if is_torch(gamma) else (gamma.max(0), gamma.min(0))
            rows.append((0.5 * (top + bottom))[None])
            violation = max(0.0, float((0.5 * (top - bottom)).max()) - self.p)
        return _concat(rows), violation


def match_inside(residual, taus):
    """AND concepts δ that move ``residual`` = ζx + Ry − v inside [−τ, τ] on every coalition (``taus``: τ, or one
    per leading row). Coalitions are visited by size, smallest first; where the residual, with the corrections
    already made below S, leaves the box, the AND concept of S takes the excess. δ(S) moves only the supersets of S,
    visited later, so one pass makes every coalition feasible, and δ is nonzero only on the coalitions that were
    outside (with those corrections): where they are few, δ is sparse (μ of the excess would spread each over
    every superset)."""
    n = int(residual.shape[-1]).bit_length() - 1
    delta = residual * 0.0
    shift = None  # ζδ over the sizes corrected so far
    for size in range(n + 1):
        sel = like(masks_of_size(n, size).copy(), residual)
        current = residual[..., sel] if shift is None else residual[..., sel] + shift[..., sel]
        excess = current - _clip(current, -taus, taus)
        if not bool((excess != 0).any()):
            continue
        delta[..., sel] = -excess
        shift = subset_zeta(delta)
    return delta


def _sorted_desc(a):
    """|a| sorted in decreasing order along axis 0."""
    if is_torch(a):
        import torch

        return torch.sort(abs(a), dim=0, descending=True).values
    return -np.sort(-abs(a), axis=0)


def _cumsum0(a):
    return a.cumsum(0) if is_torch(a) else np.cumsum(a, axis=0)


def dual_norms(s, alpha: float):
    """Per coalition, the dual norm of h = (1−α)‖·‖∞ + α‖·‖₁ over the K models (axis 0 of ``s``):
    h°(s) = max_m (sum of the m largest |s_k|) / ((1 − α) + α·m). A concept whose price Aᵀπ has h° > 1 would
    lower the objective (its K parts set to the signs of the prices where |price| > α)."""
    cs = _cumsum0(_sorted_desc(s))
    m = like(np.arange(1, s.shape[0] + 1, dtype=np.float64)[:, None], s)
    ratio = cs / ((1.0 - alpha) + alpha * m)
    return ratio.max(0)[0] if is_torch(ratio) else ratio.max(0)


def _dual_norm(s, alpha: float) -> float:
    """max over coalitions of :func:`dual_norms`."""
    return float(dual_norms(s, alpha).max())


def _pdhg(problem: _Problem, *, tol: float, max_iter: int, time_limit: float | None, check_every: int, bar,
          checkpoint=None, identity: dict | None = None):
    """Restarted, preconditioned PDHG. Returns the best repaired z, its objective, the best lower bound, stats.

    ``checkpoint``: a file the state is saved to (at most every ``_SAVE_SECONDS``, at a check, and when the run
    stops) and resumed from, on the same iterates; ``identity`` says which problem it belongs to; ``max_iter`` then
    counts the saved iterations too, ``time_limit`` this call's seconds."""
    start = time.perf_counter()
    z = problem.start()
    best, best_violation = problem.repair(z)
    best_obj = problem.objective(best)
    w = problem.lower * 0.0
    best_lower = 0.0
    omega = 1.0
    sum_z, sum_w, count = z * 0.0, w * 0.0, 0
    anchor, anchor_kkt, last_candidate_kkt = (z, w), None, math.inf
    restarts, iteration, since_restart = 0, 0, 0
    history, seconds = [], 0.0
    saver = None
    if checkpoint is not None:
        saver = _Checkpoint(checkpoint, {"method": "shared PDHG", **(identity or {}), "check_every": int(check_every)},
                            {"z": z.shape, "w": w.shape, "sum_z": z.shape, "sum_w": w.shape, "anchor_z": z.shape,
                             "anchor_w": w.shape, "best": z.shape})
        saved = saver.load()
        if saved is not None:  # where the saved run stopped: between two iterations, after a check
            state, arrays = saved
            z, w, sum_z, sum_w, best = (like(arrays[k], problem.vs) for k in ("z", "w", "sum_z", "sum_w", "best"))
            anchor = (like(arrays["anchor_z"], problem.vs), like(arrays["anchor_w"], problem.vs))
            (omega, count, anchor_kkt, last_candidate_kkt, restarts, iteration, since_restart, best_obj,
             best_violation, best_lower, seconds) = (state[k] for k in _PDHG_SCALARS)
            history = [tuple(item) for item in state["history"]]
            bar.update(iteration)
    resumed_from = iteration

    def save():
        scalars = (omega, count, anchor_kkt, last_candidate_kkt, restarts, iteration, since_restart, best_obj,
                   best_violation, best_lower, seconds + time.perf_counter() - start)
        saver.save({**dict(zip(_PDHG_SCALARS, scalars)), "history": history},
                   {"z": z, "w": w, "sum_z": sum_z, "sum_w": sum_w, "anchor_z": anchor[0], "anchor_w": anchor[1],
                    "best": best})

    grad = problem.adjoint(w)
    while iteration < max_iter:
        iteration += 1
        since_restart += 1
        tz, tw = problem.step_z / omega, problem.step_w * omega
        z_new = problem.prox(z - tz * grad, tz)
        p = w + tw * problem.forward(2.0 * z_new - z)
        w = p - tw * _clip(p / tw, problem.lower, problem.upper)
        z = z_new
        grad = problem.adjoint(w)
        sum_z, sum_w, count = sum_z + z, sum_w + w, count + 1
        if iteration % check_every and iteration != max_iter:
            continue
        # --- bounds, restart, stop --------------------------------------------------------------------------------
        average = (sum_z / count, sum_w / count)
        scored = []
        for cz, cw, cgrad in ((z, w, grad), (*average, problem.adjoint(average[1]))):
            az = problem.forward(cz)
            primal_inf = _norm(az - _clip(az, problem.lower, problem.upper))
            worst, g_inf = problem.dual_infeasibility(cgrad)
            p_obj, d_obj = problem.objective(cz), problem.dual_value(cw)
            kkt = math.sqrt(primal_inf ** 2 + max(worst - 1.0, 0.0) ** 2 + g_inf ** 2 + (p_obj - d_obj) ** 2)
            scored.append((kkt, cz, cw, cgrad))
            feasible, violation = problem.repair(cz)
            objective = problem.objective(feasible)
            if objective < best_obj:
                best, best_obj, best_violation = feasible, objective, violation
            best_lower = max(best_lower, problem.dual_bound(cw))
        stop = _checkpoint(history, bar, iteration, best_obj, best_lower, check_every, tol, time_limit, start)
        # the check is finished (a restart or not) before any stop, so a saved state goes on as this run would
        kkt, cz, cw, cgrad = min(scored, key=lambda item: item[0])
        if anchor_kkt is None:
            anchor_kkt = kkt
        restart = (kkt <= 0.2 * anchor_kkt or (kkt <= 0.8 * anchor_kkt and kkt > last_candidate_kkt)
                   or since_restart >= 0.36 * iteration)
        last_candidate_kkt = kkt
        if restart:
            dz, dw = _norm(cz - anchor[0]), _norm(cw - anchor[1])
            omega = _primal_weight(omega, dz, dw)
            z, w, grad = cz, cw, cgrad
            anchor, anchor_kkt = (z, w), kkt
            sum_z, sum_w, count = z * 0.0, w * 0.0, 0
            since_restart, last_candidate_kkt = 0, math.inf
            restarts += 1
        if stop:
            break
        if saver is not None and saver.due():
            save()
    if saver is not None and iteration > resumed_from:
        save()
    gap = (best_obj - best_lower) / best_obj if best_obj > 0 else 0.0
    stats = dict(iterations=iteration, restarts=restarts, seconds=seconds + time.perf_counter() - start,
                 gap=max(gap, 0.0), history=tuple(history), split_violation=best_violation,
                 resumed_from=resumed_from)
    return best, best_obj, best_lower, stats


_PDHG_SCALARS = ("omega", "count", "anchor_kkt", "last_candidate_kkt", "restarts", "iteration", "since_restart",
                 "best_obj", "best_violation", "best_lower", "seconds")


# --- the single-model problem in the interactions themselves ----------------------------------------------------
class _DividendProblem:
    """The single-model LP with the matching rows solved exactly, so that every iterate is a feasible decomposition.

    From ζx + Ry = v + ε with y(∅) = 0: Ry(S) = Σy − (ζy)(N∖S), so x = μ(v + ε) + K̃y, where
    (K̃y)(S) = (−1)^{|S|} Σ_{T⊇S} y(T) for S ≠ ∅ and (K̃y)(∅) = 0 (μ·flip·ζ is the Kronecker power of [[1, 1], [0, −1]]).
    The problem becomes unconstrained but for the box on ε:

        minimise  ‖c + K̃y + με‖₁ + ‖y‖₁   over y (free on coalitions of ≥ 2 players) and |ε| ≤ τ,   c = μv.

    Its dual: maximise ⟨λ, c⟩ − τ‖μᵀλ‖₁ over |λ| ≤ 1 with |K̃ᵀλ(T)| ≤ 1 on the free T. λ are the signs of the AND
    concepts, bounded by 1, so any λ in the box scaled by 1 / max(1, max|K̃ᵀλ|) gives a certified lower bound.
    """

    def __init__(self, v, tau: float):
        n = int(v.shape[-1]).bit_length() - 1
        self.n, self.tau, self.v = n, float(tau), v
        pop = popcounts(n).astype(np.int64)
        self.free = like(pop >= 2, v)
        self.free_f = like((pop >= 2).astype(np.float64), v)  # multiplied, not indexed: no sync inside CUDA graphs
        sign = np.where(pop % 2 == 0, 1.0, -1.0)
        sign[0] = 0.0
        self.sign = like(sign, v)
        self.c = subset_moebius(v)
        # diagonal preconditioning by the column and row sums of |[K̃, μ]| (Pock & Chambolle 2011)
        col_y = np.where(pop >= 2, 2.0 ** pop - 1.0, np.inf)  # K̃ column T: the non-empty subsets of T
        col_e = 2.0 ** (n - pop)  # μ column T: the supersets of T
        row = 2.0 ** (n - pop) - (pop == 1) + 2.0 ** pop  # K̃ row S: free supersets; μ row S: subsets
        row[0] = 1.0
        self.step_y, self.step_e, self.step_w = like(1.0 / col_y, v), like(1.0 / col_e, v), like(1.0 / row, v)

    def forward(self, y, e):
        return self.sign * superset_zeta(y) + subset_moebius(e)

    def adjoint(self, w):
        return subset_zeta(self.sign * w) * self.free_f, superset_moebius(w)

    def and_concepts(self, y, e):
        return self.c + self.forward(y, e)

    def objective(self, y, e) -> float:
        return float(abs(self.and_concepts(y, e)).sum() + abs(y).sum())

    def dual_bound(self, w) -> float:
        """⟨w, c⟩ − τ‖μᵀw‖₁ of w scaled into dual feasibility (|w| ≤ 1 and |K̃ᵀw| ≤ 1): a certified lower bound."""
        gy, ge = self.adjoint(w)
        scale = max(1.0, float(abs(w).max()), float(abs(gy).max()))
        return (float((w * self.c).sum()) - self.tau * float(abs(ge).sum())) / scale

    def step(self, y, e, w, omega: float):
        """One PDHG step T(y, ε, λ) with primal weight ω (a float, or a 0-d tensor on the table's device)."""
        ty, te, tw = self.step_y / omega, self.step_e / omega, self.step_w * omega
        gy, ge = self.adjoint(w)
        y_new = _soft(y - ty * gy, ty) * self.free_f
        e_new = _clip(e - te * ge, -self.tau, self.tau)
        w_new = _clip(w + tw * (self.forward(2.0 * y_new - y, 2.0 * e_new - e) + self.c), -1.0, 1.0)
        return y_new, e_new, w_new

    def distance(self, a, b, omega: float) -> float:
        """‖a − b‖ in the norm of the preconditioned step (primal parts weighted by ω / t, dual by 1 / (ω·t))."""
        (ya, ea, wa), (yb, eb, wb) = a, b
        dy = (ya - yb)[..., self.free]
        total = (omega * (dy * dy / self.step_y[..., self.free]).sum() + omega * ((ea - eb) ** 2 / self.step_e).sum()
                 + ((wa - wb) ** 2 / self.step_w).sum() / omega)
        return math.sqrt(float(total))


def _halpern(problem: _DividendProblem, *, tol: float, max_iter: int, time_limit: float | None, check_every: int,
             bar):
    """Restarted Halpern PDHG with reflection (Lu & Yang, "Restarted Halpern PDHG for linear programming", 2024).

    z ← (k+1)/(k+2) · (2T(z) − z) + 1/(k+2) · z⁰, with z⁰ the last restart point. Restarts when the fixed-point
    residual ‖T(z) − z‖ has dropped enough (the PDLP criteria), and then rebalances the primal weight ω. Every primal
    iterate is feasible, so the best L1 seen is an upper bound and each dual iterate a lower bound.
    """
    start = time.perf_counter()
    zero = problem.c * 0.0
    z = (zero, zero, zero)
    best, best_obj, best_lower = z, problem.objective(z[0], z[1]), -math.inf
    omega, anchor, k, r0, last = 1.0, z, 0, None, math.inf
    restarts, iteration, history = 0, 0, []
    graphed = _GraphedIterations.on_cuda(problem, problem.c, check_every - 1)
    while iteration < max_iter:
        if graphed is not None and iteration % check_every == 0 and iteration + check_every <= max_iter:
            z = graphed(z, anchor, omega, k)  # the plain iterations up to the next checkpoint, as one replay
            iteration, k = iteration + graphed.count, k + graphed.count
        iteration += 1
        t = problem.step(*z, omega)
        if iteration % check_every == 0 or iteration == max_iter:
            objective = problem.objective(t[0], t[1])
            if objective < best_obj:
                best, best_obj = t, objective
            best_lower = max(best_lower, problem.dual_bound(t[2]))
            if _checkpoint(history, bar, iteration, best_obj, best_lower, check_every, tol, time_limit, start):
                break
            residual = problem.distance(t, z, omega)
            r0 = residual if r0 is None else r0
            if (residual <= _B_SUFF * r0 or (residual <= _B_NEC * r0 and residual > last)
                    or k >= _B_ART * iteration):
                dz = math.sqrt(_norm(t[0] - anchor[0]) ** 2 + _norm(t[1] - anchor[1]) ** 2)
                dw = _norm(t[2] - anchor[2])
                omega = _primal_weight(omega, dz, dw)
                z = anchor = t
                k, r0, last = 0, None, math.inf
                restarts += 1
                continue
            last = residual
        a = (k + 1) / (k + 2)
        z = tuple(a * (2.0 * tp - zp) + (1.0 - a) * ap for tp, zp, ap in zip(t, z, anchor))
        k += 1
    best_lower = max(best_lower, 0.0)  # the L1 is never negative
    gap = (best_obj - best_lower) / best_obj if best_obj > 0 else 0.0
    stats = dict(iterations=iteration, restarts=restarts, seconds=time.perf_counter() - start, gap=max(gap, 0.0),
                 history=tuple(history))
    return best, best_obj, best_lower, stats


class _GraphedIterations(Recorded):
    """``count`` plain Halpern iterations, T(z) and then z ← a·(2T(z) − z) + (1 − a)·z⁰ with a = (k+1)/(k+2),
    recorded once as a CUDA graph and replayed between checkpoints.

    A step is about 150 small kernels (4 transforms of n butterfly stages, the proximal maps); launched one by one
    from Python they held a GPU step at 3–4 ms from n = 12 to n = 22 (BENCHMARKS.md). The replay runs the same
    kernels, so the iterates are the eager loop's up to the last digit (ω is a tensor here, and torch divides by a
    float as a product with its reciprocal). The graph reads z, z⁰, ω and k from its own buffers, so one recording
    serves every restart and every primal weight.
    """

    def __init__(self, problem: _DividendProblem, count: int):
        import torch

        self.problem, self.count = problem, count
        self.z = [torch.zeros_like(problem.c) for _ in range(3)]
        self.anchor = [torch.zeros_like(problem.c) for _ in range(3)]
        self.omega = torch.ones((), dtype=torch.float64, device=problem.c.device)
        self.k = torch.zeros((), dtype=torch.float64, device=problem.c.device)
        self.graph = cuda_graph_of(self._iterate, problem.c.device, "PDHG")

    def _iterate(self) -> None:
        for _ in range(self.count):
            t = self.problem.step(*self.z, self.omega)
            a = (self.k + 1.0) / (self.k + 2.0)
            for z, tz, anchor in zip(self.z, t, self.anchor):
                z.copy_(a * (2.0 * tz - z) + (1.0 - a) * anchor)
            self.k += 1.0

    def __call__(self, z, anchor, omega: float, k: int):
        for buffer, value in zip(self.z + self.anchor, (*z, *anchor)):
            buffer.copy_(value)
        self.omega.fill_(omega)
        self.k.fill_(k)
        self.graph.replay()
        return tuple(buffer.clone() for buffer in self.z)


# --- small n: the LP solved exactly by HiGHS ------------------------------------------------------------------------
HIGHS_MAX_PLAYERS = 10  # method="auto" solves n ≤ this as one sparse LP with HiGHS (seconds; 3ⁿ nonzeros)
WORKING_SET_MAX_PLAYERS = 15  # … and n ≤ this on a working set first (exact in seconds when the optimum is sparse)
WORKING_SET_FIRST = 2.0  # seconds "auto" gives the working set from scratch (at most half the time_limit): enough
# for the games it solves at once (0.6–1 s on the demo's rows 1 and 2, 35–41 rounds), before it hands over to the
# splitting. From scratch it needed 2.3–27 s on the sparse games of the trained adult MLP at n = 12, and 40 s and
# more on the dense ones, where the splitting reaches the tolerance in 1.3–14 s (BENCHMARKS.md) …
WORKING_SET_STALL = 20  # … and it hands over sooner when this many rounds in a row have not lowered its best L1
# while a tenth of all concepts are still priced in (_activeset: the runs that never converge)
SEED_MAX = 1200  # the splitting's concepts above 1e-4 of the largest, at most, that the working set starts from
# (a sparse optimum: 230–700 on the bench and adult games at n = 12–15, which it then solves exactly in 0.1–2.6 s,
# and 1 150 on the bench game at n = 16, in about 55 s; a dense one: 1 400–2 700 on the demo's and adult games, whose
# LPs did not finish within twice the splitting's time)
SEED_ROWS = 2048  # … and the coalitions, at most (the bench game at n = 16: 1 611 within 1 % of τ; with the 1 200
# nearest, the working set took twice as long)
SEEDED_ADD = 256  # rows and concepts it adds a round from there (its LP is large from the start, so each re-solve
# is slow: the bench MLP at n = 16 took 55 s with 256, 107 s with the 32 of a working set from scratch)
SEEDED_TIME = 2.0  # × the splitting's seconds it may take at most


def _kron_power(block, n: int):
    import scipy.sparse as sparse

    out = sparse.csr_matrix(np.ones((1, 1)))
    for _ in range(n):
        out = sparse.kron(block, out, format="csr")  # bit 0 the rightmost factor, as in the transforms
    return out


def _highs(problem: _DividendProblem, time_limit: float | None = None):
    """The dividend-form LP in equality form for scipy's HiGHS (interior point):

        x⁺ − x⁻ − K̃(y⁺ − y⁻) − με = c,   x±, y± ≥ 0,   |ε| ≤ τ,   minimise Σx⁺ + Σx⁻ + Σy⁺ + Σy⁻.

    One row per coalition and 3ⁿ + 2ⁿ⁺¹ nonzeros (about 2.5 × faster than the same LP written with |·| bounded by
    inequality rows). Returns (y, ε, λ, iterations) with λ the duals of the rows, so the lower bound is recomputed
    from them, not taken on trust."""
    import scipy.sparse as sparse
    from scipy.optimize import linprog

    n, size = problem.n, 1 << problem.n
    free = np.flatnonzero(to_numpy(problem.free))
    k = _kron_power(sparse.csr_matrix([[1.0, 1.0], [0.0, -1.0]]), n).tolil()
    k[0, :] = 0.0
    k = k.tocsr()[:, free]
    mu = _kron_power(sparse.csr_matrix([[1.0, 0.0], [-1.0, 1.0]]), n)
    m, eye = len(free), sparse.identity(size, format="csr")
    rows = sparse.hstack([eye, -eye, -k, k, -mu]).tocsc()
    cost = np.concatenate([np.ones(2 * size + 2 * m), np.zeros(size)])
    bounds = [(0, None)] * (2 * size + 2 * m) + [(-problem.tau, problem.tau)] * size
    options = {} if time_limit is None else {"time_limit": float(time_limit)}
    res = linprog(cost, A_eq=rows, b_eq=to_numpy(problem.c), bounds=bounds, method="highs-ipm", options=options)
    if res.status == 1:
        raise HarsanyiError(f"HiGHS stopped at time_limit={time_limit} s before solving the AND-OR LP (n = {n}): "
                            f"raise time_limit, or use method=\"splitting\", which returns its best certified "
                            f"decomposition when the time is up.")
    if res.status != 0:  # pragma: no cover - the LP is always feasible and bounded (y = 0, ε = 0 is feasible)
        raise RuntimeError(f"HiGHS did not solve the AND-OR LP: {res.message}")
    y = np.zeros(size)
    y[free] = res.x[2 * size:2 * size + m] - res.x[2 * size + m:2 * size + 2 * m]
    w = np.clip(res.eqlin.marginals, -1.0, 1.0)  # ∂(optimum)/∂c: the signs of the AND concepts
    return y, res.x[2 * size + 2 * m:], w, int(getattr(res, "nit", 0))


def _shared_highs(problem: _Problem, taus, time_limit: float | None = None):
    """The AND-OR LP of K tables (``_Problem``, K ≥ 1) solved exactly by scipy's HiGHS (interior point), in
    equality form with 3ⁿ nonzeros per transform. Per model: x = x⁺ − x⁻ and y = y⁺ − y⁻ (every coalition), the
    total t = Σ_{T≠∅} y(T), the noise ε ∈ [−τ_k, τ_k] and, for K ≥ 2, the split's slack δ ∈ [−p, p]; for K ≥ 2
    also the shared split g and the per-coalition maxima s ≥ x⁺ + x⁻, u ≥ y⁺ + y⁻ over the models:

        ζx + Dy + t − ε = v                 (matching: Ry(S) = y(∅) + t − Σ_{∅≠T⊆N∖S} y(T), so no dense R;
        t − Σ_{T≠∅} y(T) = 0                 D = −(ζ·)(N∖·) on the non-empty T, +1 on ∅)
        ½(ζx − Dy − t) − g − δ = 0          (K ≥ 2: the split ½(ζx − Ry) within p of g)

    minimising α Σ_k (Σx± + Σy±) + (1 − α)(Σs + Σu) (K = 1: Σx± + Σy±), with ``taus`` the models' τ_k (the same
    numbers ``problem`` was made with). Returns z as ``_Problem`` stacks it and
    the rows' multipliers w (matching, then split), so that the lower bound is recomputed from them."""
    import scipy.sparse as sparse
    from scipy.optimize import linprog

    k, n, shared = problem.k, problem.n, problem.shared
    size = 1 << n
    vs = np.ascontiguousarray(to_numpy(problem.vs), dtype=np.float64)
    taus = [float(tau) for tau in taus]
    zeta = _kron_power(sparse.csr_matrix([[1.0, 0.0], [1.0, 1.0]]), n)
    # D: −(ζy)(N∖S) over the non-empty T; column ∅ of ζ read at the complement is all ones, so adding 2 there
    # turns it into y(∅)'s own +1
    empty_column = sparse.csr_matrix((np.full(size, 2.0), (np.arange(size), np.zeros(size, dtype=int))),
                                     shape=(size, size))
    d_y = (-zeta[::-1] + empty_column).tocsr()
    nonempty = np.ones((1, size))
    nonempty[0, 0] = 0.0
    eye, ones = sparse.identity(size, format="csr"), np.ones((size, 1))
    per = 4 * size + 1 + size + (size if shared else 0)  # x±, y±, t, ε, δ
    g0 = k * per
    width = g0 + (3 * size if shared else 0)

    def rows(parts, height):
        """One block row of the constraint matrix from (first column, block) pairs, zeros between them."""
        blocks, at = [], 0
        for col, block in sorted(parts, key=lambda part: part[0]):
            blocks += [sparse.csr_matrix((height, col - at))] if col > at else []
            blocks.append(sparse.csr_matrix(block))
            at = col + block.shape[1]
        blocks += [sparse.csr_matrix((height, width - at))] if width > at else []
        return sparse.hstack(blocks, format="csr")

    equal, rhs, upper_rows = [], [], []
    for i in range(k):
        xp, xm, yp, ym = i * per, i * per + size, i * per + 2 * size, i * per + 3 * size
        t, e, d = ym + size, ym + size + 1, ym + 2 * size + 1
        equal.append(rows([(xp, zeta), (xm, -zeta), (yp, d_y), (ym, -d_y), (t, ones), (e, -eye)], size))
        rhs.append(vs[i])
        equal.append(rows([(yp, -nonempty), (ym, nonempty), (t, np.ones((1, 1)))], 1))
        rhs.append(np.zeros(1))
        if shared:
            equal.append(rows([(xp, 0.5 * zeta), (xm, -0.5 * zeta), (yp, -0.5 * d_y), (ym, 0.5 * d_y),
                               (t, -0.5 * ones), (d, -eye), (g0, -eye)], size))
            rhs.append(np.zeros(size))
            upper_rows.append(rows([(xp, eye), (xm, eye), (g0 + size, -eye)], size))
            upper_rows.append(rows([(yp, eye), (ym, eye), (g0 + 2 * size, -eye)], size))
    cost, bounds = np.zeros(width), []
    for i in range(k):
        cost[i * per:i * per + 4 * size] = problem.alpha if shared else 1.0
        bounds += [(0, None)] * (4 * size) + [(None, None)] + [(-taus[i], taus[i])] * size
        bounds += [(-problem.p, problem.p)] * size if shared else []
    if shared:
        cost[g0 + size:] = 1.0 - problem.alpha
        bounds += [(None, None)] * size + [(0, None)] * (2 * size)
    a_ub = sparse.vstack(upper_rows).tocsc() if upper_rows else None
    options = {} if time_limit is None else {"time_limit": float(time_limit)}
    res = linprog(cost, A_ub=a_ub, b_ub=None if a_ub is None else np.zeros(a_ub.shape[0]),
                  A_eq=sparse.vstack(equal).tocsc(), b_eq=np.concatenate(rhs), bounds=bounds, method="highs-ipm",
                  options=options)
    if res.status == 1:
        raise HarsanyiError(f"HiGHS stopped at time_limit={time_limit} s before solving the shared AND-OR LP "
                            f"(n = {n}, K = {k}): raise time_limit, or use method=\"splitting\", which returns its "
                            f"best certified decomposition when the time is up.")
    if res.status != 0:  # pragma: no cover - always feasible (the dividends split alike in every model) and bounded
        raise RuntimeError(f"HiGHS did not solve the shared AND-OR LP: {res.message}")
    z = np.zeros((2 * k + (1 if shared else 0), size))
    w = np.zeros((2 * k if shared else k, size))
    marginals, row = res.eqlin.marginals, 0
    for i in range(k):
        xp, yp = i * per, i * per + 2 * size
        z[i] = res.x[xp:xp + size] - res.x[xp + size:xp + 2 * size]
        z[k + i] = res.x[yp:yp + size] - res.x[yp + size:yp + 2 * size]
        w[i] = -marginals[row:row + size]  # ∂(optimum)/∂v is −w in _Problem's sign convention
        row += size + 1
        if shared:
            w[k + i] = -marginals[row:row + size]
            row += size
    if shared:
        z[2 * k] = res.x[g0:g0 + size]
    return like(z, problem.vs), like(w, problem.vs), int(getattr(res, "nit", 0))


def _exact_report(objective: float, lower: float, iterations: int, start: float, tol: float) -> SolverReport:
    """The report of an LP solved by HiGHS: its L1 and the lower bound recomputed from its multipliers."""
    lower = max(lower, 0.0)
    gap = max((objective - lower) / objective, 0.0) if objective > 0 else 0.0
    return SolverReport("HiGHS (scipy), the LP solved exactly", iterations, 0, time.perf_counter() - start, objective,
                        lower, gap, tol, gap <= tol, ((iterations, objective, lower),))


def _check_tau(tau, qthres, scale: float) -> float:
    if tau is None:
        if not (isinstance(qthres, (int, float)) and math.isfinite(qthres) and qthres >= 0):
            raise HarsanyiValueError(f"Expected qthres ≥ 0 (τ = qthres · |v(N) − v(∅)|); received {qthres!r}.")
        return float(qthres) * scale
    if not (isinstance(tau, (int, float)) and math.isfinite(tau) and tau >= 0):
        raise HarsanyiValueError(f"Expected tau ≥ 0 (the bound on |ε|, in the units of v); received {tau!r}.")
    return float(tau)


def _check_solver_args(tol, max_iter, time_limit) -> int:
    """Checks the stopping rules and returns the cap on iterations: ``max_iter``, or where it is None,
    :data:`MAX_ITER` for a run no time limit bounds and no cap (the limit stops the run) for one it does."""
    if not (isinstance(tol, (int, float)) and 0 < tol < 1):
        raise HarsanyiValueError(f"Expected tol in (0, 1), the relative optimality gap to reach; received {tol!r}.")
    if time_limit is not None and (isinstance(time_limit, bool) or not isinstance(time_limit, numbers.Real)
                                   or not time_limit > 0):
        raise HarsanyiValueError(f"Expected time_limit to be a number of seconds > 0, or None for no limit; received "
                                 f"{time_limit!r}.")
    if max_iter is None:
        return MAX_ITER if time_limit is None or math.isinf(time_limit) else UNCAPPED
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
        raise HarsanyiValueError(f"Expected max_iter to be a positive integer, or None (the default: {MAX_ITER:,} "
                                 f"without a time_limit, no cap with one); received {max_iter!r}.")
    return int(max_iter)


def _unit(vs) -> float:
    """The power of two just above the spread of the values, max |v(S) − v(∅)| (else max |v|, else 1). The solvers
    work on v / unit, where HiGHS's absolute tolerances and the first-order methods' step sizes fit; a power of two
    scales every number exactly, so the concepts scaled back are those of v itself."""
    hi, lo = (vs.amax(-1), vs.amin(-1)) if is_torch(vs) else (vs.max(-1), vs.min(-1))  # per table, no 2ⁿ temporary
    first = vs[..., 0]
    spread = float(max((hi - first).max(), (first - lo).max()))
    if not spread > 0:
        spread = float(max(abs(hi).max(), abs(lo).max()))
    return math.ldexp(1.0, math.frexp(spread)[1]) if spread > 0 and math.isfinite(spread) else 1.0


def _in_units(report: SolverReport, unit: float) -> SolverReport:
    """A report of the problem solved on v / unit, in the units of v (the gap is a ratio and stays)."""
    return dataclasses.replace(report, l1=report.l1 * unit, lower_bound=report.lower_bound * unit,
                               history=tuple((it, l1 * unit, lower * unit) for it, l1, lower in report.history))


def _solve(problem, *, tol, max_iter, time_limit, check_every, progress, n, runner=None, method=None):
    runner = runner or _pdhg
    if progress is None:
        progress = n >= 14
    total = None if max_iter == UNCAPPED else max_iter
    with progress_bar(total=total, disable=not progress, unit="it", desc=f"AND-OR, n={n}") as bar:
        z, objective, lower, stats = runner(problem, tol=tol, max_iter=int(max_iter), time_limit=time_limit,
                                            check_every=int(check_every), bar=bar)
    report = SolverReport(method or "restarted preconditioned PDHG", stats["iterations"], stats["restarts"],
                          stats["seconds"], objective, lower, stats["gap"], tol, stats["gap"] <= tol,
                          stats["history"])
    return z, report, stats


def _concepts(v, x, y, tau: float, report: SolverReport, player_names) -> Concepts:
    n = int(v.shape[-1]).bit_length() - 1
    certificate = matching_certificate(v, x, y, tau)
    l1_before = float(abs(subset_moebius(v)).sum())
    common = dict(player_names=player_names, baseline_value=float(v[0]), certificate=certificate, max_order=n)
    values = to_numpy(v).copy()
    values.flags.writeable = False
    eps = to_numpy(subset_zeta(x) + or_reconstruct(y) - v).copy()
    l1 = float(abs(x).sum() + abs(y).sum())
    return Concepts(Interactions(to_numpy(x).copy(), index="AND", **common),
                    Interactions(to_numpy(y).copy(), index="OR", **common), eps, tau, certificate, l1_before, l1,
                    report, values, player_names)


METHODS = ("auto", "splitting", "pdhg", "highs", "working-set")


def and_or_decomposition(table, *, qthres: float = QTHRES, tau: float | None = None, tol: float = 1e-3,
                         max_iter: int | None = None, time_limit: float | None = None, check_every: int = 16,
                         method: str = "auto", progress: bool | None = None, checkpoint=None,
                         player_names=None) -> Concepts:
    """See :meth:`harsanyi.ValueTable.and_or`. ``check_every``: iterations of the splitting or PDHG between two
    checks of the restart criteria and the time (PDHG also checks its bounds there, the splitting every fourth
    time), the same on every device so that CPU and GPU follow the same iterates (64 would give PDHG on a GPU 30 %
    more iterations per second at n = 16, but restarts at other times)."""
    original = table
    n = int(original.shape[-1]).bit_length() - 1
    tau_original = _check_tau(tau, qthres, abs(float(original[-1]) - float(original[0])))
    cap = _check_solver_args(tol, max_iter, time_limit)
    chosen = _resolve_method(method, n)
    if checkpoint is not None and chosen != "splitting":
        raise HarsanyiValueError(
            f"checkpoint= saves and resumes the splitting, the method for long runs; method={method!r} runs "
            f"{chosen!r} for n = {n}, which keeps no state to resume. Pass method=\"splitting\" with the checkpoint, "
            f"or no checkpoint.")
    unit = _unit(original)  # the solvers below see v and τ in this unit; the concepts are scaled back at the end
    v, tau = (original, tau_original) if unit == 1.0 else (original / unit, tau_original / unit)
    problem = _DividendProblem(v, tau)

    def first_order(limit, name):
        if name == "splitting":
            runner = functools.partial(halpern_splitting, checkpoint=checkpoint)
            label = "restarted Halpern Peaceman–Rachford splitting"
        else:
            runner, label = _halpern, "restarted Halpern PDHG"
        (y, e, _), report, stats = _solve(problem, tol=tol, max_iter=cap, time_limit=limit,
                                          check_every=check_every, progress=progress, n=n, runner=runner,
                                          method=label)
        if stats.get("resumed_from"):
            report = dataclasses.replace(report, method=f"{label}, resumed from iteration {stats['resumed_from']:,}")
        return y, e, report

    if chosen == "highs":
        start = time.perf_counter()
        # "auto" takes HiGHS only where it takes seconds, and does not hold it to a limit it might just miss on a
        # slow machine; an explicit "highs" is held to time_limit
        y, e, w, iterations = _highs(problem, time_limit if method == "highs" else None)
        y, e, w = like(y, v), like(e, v), like(w, v)
        report = _exact_report(problem.objective(y, e), problem.dual_bound(w), iterations, start, tol)
    elif chosen == "working-set":
        y, e, report = _working_set(v, tau, tol=tol, max_iter=cap, time_limit=time_limit, progress=progress,
                                    n=n)
    elif chosen in ("pdhg", "splitting"):
        began = time.perf_counter()
        y, e, report = first_order(time_limit, chosen)
        if chosen == "splitting" and method == "auto" and _importable("highspy"):  # n > 15: then its concepts exact
            spent = time.perf_counter() - began  # this call's, not report.seconds (a resumed checkpoint's count there)
            runs = [(y, e, report)]
            label = _from_support(problem, runs, report.method, tol=tol, cap=cap, progress=progress, n=n,
                                  left=None if time_limit is None else time_limit - spent)
            y, e, report = _best_run(runs, label, tol)
    else:  # "auto" for mid-sized n: the working set briefly, then the splitting, then the working set again from
        # the splitting's concepts where they are few (an exact, sparse vertex); the best certified result of the runs
        start = time.perf_counter()

        def left():
            return None if time_limit is None else max(time_limit - (time.perf_counter() - start), 0.0)

        first = WORKING_SET_FIRST if time_limit is None else min(WORKING_SET_FIRST, time_limit * 0.5)
        y, e, report = _working_set(v, tau, tol=tol, max_iter=cap, time_limit=first, progress=progress, n=n,
                                    stall_rounds=WORKING_SET_STALL)
        runs = [(y, e, report)]
        if not report.converged:
            runs.append(first_order(left(), "splitting"))
            label = _from_support(problem, runs, f"{report.method}, then {runs[1][2].method}", tol=tol, cap=cap,
                                  progress=progress, n=n, left=left())
            y, e, report = _best_run(runs, label, tol)
    # x = c + K̃y + με is exact in exact arithmetic; in float64 it carries the rounding of c = μv, which can be far
    # larger than the L1 of the concepts. One size-by-size pass (as in _Problem.repair) moves that rounding back
    # inside the box, so the certificate is judged at the scale of the concepts themselves.
    z, _ = _Problem(v[None], [tau]).repair(_concat([problem.and_concepts(y, e)[None], y[None]]))
    return _concepts(original, z[0] * unit, z[1] * unit, tau_original, _in_units(report, unit), player_names)


def _importable(module: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package missing, or a module set to None in sys.modules
        return False


def _support(problem, y, e, tau: float):
    """What the working set starts from after the splitting, or None where the splitting's concepts are many (a
    dense optimum) or τ = 0: the AND and OR concepts above 1e-4 of the largest, and the coalitions whose noise is
    within 1 % of the bound τ (those the optimum's rows are among), the SEED_ROWS nearest to it at most."""
    x, y, e = (to_numpy(a) for a in (problem.and_concepts(y, e), y, e))
    top = max(float(abs(x).max()), float(abs(y).max()), 1e-300)
    and_masks, or_masks = np.flatnonzero(abs(x) > 1e-4 * top), np.flatnonzero(abs(y) > 1e-4 * top)
    if and_masks.size + or_masks.size > SEED_MAX or not tau > 0:  # (τ = 0: every coalition is at the bound)
        return None
    rows = np.flatnonzero(abs(e) >= (1 - 1e-2) * tau)
    return and_masks, or_masks, rows[np.argsort(-abs(e[rows]), kind="stable")[:SEED_ROWS]]


def _from_support(problem: _DividendProblem, runs: list, method: str, *, tol, cap, progress, n,
                  left: float | None) -> str:
    """The working set from the largest concepts of the splitting (the last of ``runs``, (y, ε, report) each),
    exact where they are few: ``SEEDED_ADD`` rows and concepts a round, for at most ``SEEDED_TIME`` × the
    splitting's seconds (1 s at least) and ``left`` seconds. Its run is added to ``runs`` where it ran (not where
    the splitting's concepts are many or no time is left); returns ``method`` (what ran so far) with what it did."""
    y, e, report = runs[-1]
    budget = _after_splitting(report.seconds, left, SEEDED_TIME)
    seed = None if budget <= 0 else _support(problem, y, e, problem.tau)
    if seed is None:
        return method
    run = _working_set(problem.v, problem.tau, tol=min(tol, 1e-9), max_iter=cap, progress=progress, n=n, seed=seed,
                       time_limit=budget, add=SEEDED_ADD)
    method += ", then the working set from its largest concepts"
    if not run[2].l1 < min(earlier[2].l1 for earlier in runs):
        method += f" (no lower L1 in its {run[2].seconds:.3g} s)"
    runs.append(run)
    return method


def _after_splitting(seconds: float, left: float | None, factor: float = 1.0) -> float:
    """The seconds an exact solver gets after the splitting: ``factor`` × the splitting's ``seconds`` (those of
    every call a checkpoint resumed included, so that a resumed run gets what a whole one would), 1 s at least, and
    no more than ``left`` of this call's time limit (None: no limit); ≤ 0: none."""
    budget = max(1.0, factor * seconds)
    return budget if left is None else min(budget, left)


def _best_run(runs, method: str, tol: float):
    """y, ε and the report of the lowest L1 among ``runs`` ((y, ε, report) each), with the best lower bound of all
    of them: the report of the runs taken together (the one run's own where there is one)."""
    if len(runs) == 1:
        return runs[0]
    y, e, best = min(runs, key=lambda run: run[2].l1)
    l1, lower = best.l1, max(run[2].lower_bound for run in runs)
    gap = max((l1 - lower) / l1, 0.0) if l1 > 0 else 0.0
    reports = [run[2] for run in runs]
    return y, e, SolverReport(method, sum(r.iterations for r in reports), sum(r.restarts for r in reports),
                              sum(r.seconds for r in reports), l1, lower, gap, tol, gap <= tol,
                              sum((r.history for r in reports), ()))


def _working_set(v, tau: float, *, tol, max_iter, time_limit, progress, n, stall_rounds=None, seed=None,
                 add=None):
    """The working-set solver (``_activeset``) on the host, from scratch or from ``seed`` (AND concepts, OR
    concepts, coalitions); returns y and ε in the table's backend and the report."""
    from ._activeset import solve_working_set

    host = np.ascontiguousarray(to_numpy(v), dtype=np.float64)
    with progress_bar(total=None, disable=not (n >= 14 if progress is None else progress), unit="round",
                      desc=f"AND-OR working set, n={n}") as bar:
        (x, y), objective, lower, stats = solve_working_set(host, tau, tol=tol, max_rounds=int(max_iter),
                                                            time_limit=time_limit, bar=bar, stall_rounds=stall_rounds,
                                                            seed=seed, add=add)
    noise = np.clip(subset_zeta(x) + or_reconstruct(y) - host, -tau, tau)  # ε of the returned decomposition
    method = "working set (column-and-row generation, HiGHS simplex)"
    if stats["stalled"]:
        method += f", stalled: no better L1 in {stall_rounds} rounds"
    report = SolverReport(method, stats["iterations"], 0,
                          stats["seconds"], objective, lower, stats["gap"], tol, stats["gap"] <= tol,
                          stats["history"])
    return like(y, v), like(noise, v), report


SHARED_HIGHS_MAX_PLAYERS = 8  # shared_concepts(method="auto") solves n ≤ this exactly with HiGHS (seconds)
SHARED_POLISH_MAX = 2000  # … and beyond it polishes the splitting's point where it uses at most this many concepts
# (AND and OR, above 1e-4 of the largest in any model; 110–750 on the bench's three MLPs at n = 8–14)
SHARED_LOOSE = 1e-2  # "auto" stops the splitting at this gap first (for a smaller tol; see _shared_splitting)
SHARED_LOOSE_POLISH = 4.0  # … and gives the polish after it this many times the splitting's seconds
SHARED_BOUND_SHARE = 0.25  # … where at most this share of the coalitions has its noise at the bound τ there
SHARED_METHODS = ("auto", "splitting", "pdhg", "highs")


def _resolve_shared_method(method, n: int) -> str:
    if method not in SHARED_METHODS:
        raise HarsanyiValueError(
            f"Expected method in {SHARED_METHODS}; received {method!r}. \"auto\" takes HiGHS for "
            f"n ≤ {SHARED_HIGHS_MAX_PLAYERS} (scipy), else the splitting.")
    if method == "auto":
        return "highs" if n <= SHARED_HIGHS_MAX_PLAYERS and _importable("scipy.optimize") else "splitting"
    if method == "highs":
        if n > 10:
            raise HarsanyiValueError(
                f"method=\"highs\" builds the shared LP as a sparse matrix with about 4·K·3ⁿ nonzeros, practical up "
                f"to n = 10 (46 s for three models); these tables have n = {n}. Use method=\"splitting\" (or "
                f"\"auto\").")
        if not _importable("scipy.optimize"):
            raise HarsanyiValueError('method="highs" needs scipy: pip install scipy, or use method="splitting".')
    return method


def _resolve_method(method, n: int) -> str:
    if method not in METHODS:
        raise HarsanyiValueError(
            f"Expected method in {METHODS}; received {method!r}. \"auto\" takes HiGHS for n ≤ {HIGHS_MAX_PLAYERS} "
            f"(scipy), the working set for n ≤ {WORKING_SET_MAX_PLAYERS} (highspy), else the splitting.")
    if method == "auto":
        if n <= HIGHS_MAX_PLAYERS and _importable("scipy.optimize"):
            return "highs"
        if n <= WORKING_SET_MAX_PLAYERS and _importable("highspy"):
            return "working-set, then splitting"
        return "splitting"
    if method == "highs":
        if n > 12:
            raise HarsanyiValueError(
                f"method=\"highs\" builds the LP as a sparse matrix with 2·3ⁿ nonzeros, practical up to n = 12; this "
                f"table has n = {n}. Use method=\"working-set\" or \"splitting\" (or \"auto\")."
            )
        if not _importable("scipy.optimize"):
            raise HarsanyiValueError('method="highs" needs scipy: pip install scipy, or use method="splitting".')
    if method == "working-set" and not _importable("highspy"):
        raise HarsanyiValueError('method="working-set" needs highspy: pip install "harsanyi[lp]" (or highspy), or '
                                 'use method="splitting".')
    return method


def matching_certificate(v, x, y, tau: float) -> Certificate:
    """Universal matching of AND-OR concepts: max_S |v(S) − (ζx + Ry)(S)| ≤ τ (plus float64 rounding)."""
    n = int(v.shape[-1]).bit_length() - 1
    recon = subset_zeta(x) + or_reconstruct(y)
    residual = float(abs(recon - v).max())
    magnitude = max(float(abs(x).sum() + abs(y).sum()), float(abs(v).max()))
    check = Check("universal matching (AND-OR, |ε| ≤ τ)", residual, tau + rounding_tolerance(n, magnitude), 1 << n)
    scale = abs(float(v[-1]) - float(v[0]))
    return Certificate((check,), scale, n).raise_if_failed()


PTHRES, ALPHA = 0.5, 0.1  # the shared-split bound and the weight of the sum in the shared objective (SPEC §3c)


@dataclass(frozen=True)
class SharedConcepts:
    """AND-OR concepts of K models on the same input and players, pushed to use the same coalitions (SPEC §3c).

    ``concepts``: one :class:`Concepts` per model (each certified on its own table). ``shared``: the concepts
    (kind, coalition) salient in every model. ``overlap``: |salient in all| / |salient in any| for this joint
    decomposition, ``overlap_independent`` the same for K separate ``and_or`` runs (None if not computed).
    ``split_violation``: by how much the models' AND/OR splits γ_k exceed p = ``p`` around the shared split at the
    worst coalition, measured before the tidy-up (0 when the bound holds everywhere; every solver's result is
    repaired into the bound, so only rounding is left).
    """

    concepts: tuple
    shared: list
    overlap: float
    overlap_independent: float | None
    kappa: float
    p: float
    alpha: float
    split_violation: float
    solver: SolverReport

    def __repr__(self) -> str:
        other = "" if self.overlap_independent is None else f" (independent AND-OR: {self.overlap_independent:.2f})"
        return (f"SharedConcepts({len(self.concepts)} models, {len(self.shared)} concepts salient in all, overlap "
                f"{self.overlap:.2f}{other})")


def _resumed(report: SolverReport, stats: dict) -> SolverReport:
    """The report of a run that went on from a checkpoint says from which iteration."""
    if not stats.get("resumed_from"):
        return report
    return dataclasses.replace(report, method=f"{report.method}, resumed from iteration {stats['resumed_from']:,}")


def _shared_splitting(problem: _Problem, *, tol: float, cap: int, time_limit: float | None, check_every: int,
                      progress: bool | None, checkpoint, polish: bool):
    """``shared_concepts`` with the splitting: (z, report, stats). With ``polish`` ("auto" where highspy is
    installed), HiGHS's column-and-row generation from its concepts follows (``_polish_shared``).

    Without a checkpoint, that splitting stops first at the looser gap ``SHARED_LOOSE``, and the polish gets
    ``SHARED_LOOSE_POLISH`` × its seconds: about what the rest of the splitting would take (2.4–5.3× on the
    bench's three MLPs at n = 10–14), and it reached the exact optimum within that everywhere there. It does so
    only where few coalitions have their noise at the bound τ there (``SHARED_BOUND_SHARE``; ``_share_at_bound``):
    those are the rows the polish starts from, and where they are many its simplex is slow from any point (a
    gradient-boosted ensemble, a dense optimum). Where the polish falls short of ``tol``, where the coalitions
    at the bound are many, or where ``time_limit`` leaves less than the budget, the splitting goes on from its
    kept state to ``tol`` (the same iterates as one run) and the polish runs after it, as it would have after
    one run. A checkpoint keeps the state of one splitting to ``tol``."""
    began = time.perf_counter()
    loose = polish and checkpoint is None and tol < SHARED_LOOSE

    def left():
        return None if time_limit is None else time_limit - (time.perf_counter() - began)

    def split(to):
        runner = functools.partial(halpern_splitting, splitting=_SharedSplitting, checkpoint=kept)
        return _solve(problem, tol=to, max_iter=cap, time_limit=left(), check_every=check_every, progress=progress,
                      n=problem.n, runner=runner, method="restarted Halpern Peaceman–Rachford splitting")

    kept = KeptState() if loose else checkpoint
    z, report, stats = split(SHARED_LOOSE if loose else tol)
    report = _resumed(report, stats)
    if not polish:
        return z, report, stats
    if loose and report.gap <= SHARED_LOOSE:  # (not stopped before it by the time limit or max_iter)
        budget = _after_splitting(report.seconds, None, SHARED_LOOSE_POLISH)
        if (left() is None or left() >= budget) and _share_at_bound(problem, z) <= SHARED_BOUND_SHARE:
            split_only = dataclasses.replace(report, method=f"{report.method} to a {SHARED_LOOSE:g} gap",
                                             tolerance=tol, converged=report.gap <= tol)
            first = _polish_shared(problem, z, split_only, stats, time_limit, progress, began, SHARED_LOOSE_POLISH)
            if first[1].converged:
                return first
            z, report, stats = split(tol)  # on from the kept state
            report = dataclasses.replace(report, method=f"{first[1].method}, then the splitting on to a {tol:g} gap")
            return _after_two_polishes(first, split_only, _polish_shared(problem, z, report, stats, time_limit,
                                                                        progress, began), tol)
        z, report, stats = split(tol)  # no time for the polish yet: on from the kept state, as one run
    return _polish_shared(problem, z, report, stats, time_limit, progress, began)


def _share_at_bound(problem: _Problem, z) -> float:
    """The share of the coalitions whose noise is within 1 % of its bound τ_k at z (the mean over the models): the
    value rows a polish from z starts with. On the bench's games at the 1e-2 gap: 0.02–0.11 for MLPs, whose
    polish took seconds; 0.48 for gradient boosting and 0.72–0.96 for planted games with noise, whose polish did
    not finish within four times the splitting's seconds from there (BENCHMARKS.md). τ = 0: 1."""
    k = problem.k
    taus = problem.upper[:k, :1] - problem.vs[:, :1]
    noise = abs(subset_zeta(z[:k]) + or_reconstruct(z[k:2 * k]) - problem.vs)
    return float(to_numpy(noise >= (1 - 1e-2) * taus).mean())


def _after_two_polishes(first, split_only: SolverReport, second, tol: float):
    """(z, report, stats) of the looser splitting and its polish (``first``; ``split_only``: the splitting's own
    report) and then the splitting on to ``tol`` and its polish (``second``): the lower L1 of the two, the better
    lower bound, and every iteration (the splitting's once) and second."""
    z, report, stats = second
    if first[1].l1 < report.l1:
        z, stats = first[0], first[2]
    l1, lower = min(first[1].l1, report.l1), max(first[1].lower_bound, report.lower_bound)
    gap = max((l1 - lower) / l1, 0.0) if l1 > 0 else 0.0
    return z, dataclasses.replace(report, iterations=report.iterations + first[1].iterations - split_only.iterations,
                                  seconds=report.seconds + first[1].seconds - split_only.seconds, l1=l1,
                                  lower_bound=lower, gap=gap, converged=gap <= tol), stats


def _polish_shared(problem: _Problem, z, report: SolverReport, stats: dict, time_limit: float | None,
                   progress: bool | None, began: float, factor: float = 1.0):
    """``shared_concepts(method="auto")`` after the splitting: column-and-row generation with HiGHS's simplex from
    the concepts the splitting uses (``_activeset.polish_shared``), for ``_after_splitting`` of the splitting's
    seconds (× ``factor``) and what ``time_limit`` leaves of this call (``began``: when it started, by
    ``time.perf_counter``). Its vertex, repaired, replaces the splitting's point where its L1 is lower; the lower
    bound is the better of the two runs'."""
    from ._activeset import polish_shared

    spent = time.perf_counter() - began  # this call's, not report.seconds (a resumed checkpoint's count there)
    budget = _after_splitting(report.seconds, None if time_limit is None else time_limit - spent, factor)
    if budget <= 0:
        return z, report, stats
    start = time.perf_counter()
    host = to_numpy(z)
    k = problem.k
    if is_torch(problem.vs):  # HiGHS and the pricing run on the host
        taus = to_numpy(problem.upper[:k, 0] - problem.vs[:, 0])
        on_host = _Problem(np.ascontiguousarray(to_numpy(problem.vs), dtype=np.float64), taus, alpha=problem.alpha,
                           p=problem.p)
    else:
        on_host = problem
    with progress_bar(total=None, disable=not (problem.n >= 14 if progress is None else progress), unit="round",
                      desc=f"shared AND-OR, simplex from the splitting's concepts, n={problem.n}") as bar:
        out = polish_shared(on_host, host[:k], host[k:2 * k], time_limit=budget, max_concepts=SHARED_POLISH_MAX,
                            bar=bar)
    seconds = time.perf_counter() - start
    if out is None:
        return z, dataclasses.replace(report, seconds=report.seconds + seconds), stats
    candidate, violation = problem.repair(like(np.concatenate([out.x, out.y, host[2 * k:]]), problem.vs))
    l1, lower = problem.objective(candidate), max(report.lower_bound, out.lower)
    label = ("an optimal vertex" if out.optimal else "stopped before the optimum") if l1 < report.l1 else \
        f"no lower L1 in its {seconds:.3g} s"
    if not l1 < report.l1:
        candidate, l1, violation = z, report.l1, stats["split_violation"]
    gap = max((l1 - lower) / l1, 0.0) if l1 > 0 else 0.0
    report = dataclasses.replace(report, method=f"{report.method}, then HiGHS's simplex from its concepts, with "
                                                f"concepts and rows generated ({label})",
                                 iterations=report.iterations + out.rounds, seconds=report.seconds + seconds, l1=l1,
                                 lower_bound=lower, gap=gap, converged=gap <= report.tolerance)
    return candidate, report, {**stats, "split_violation": violation}


def _salient_keys(concepts: Concepts, kappa: float) -> set:
    return {(c.kind, c.mask) for c in concepts.salient(kappa)}


def _overlap(decompositions, kappa: float) -> tuple[list, float]:
    sets = [_salient_keys(c, kappa) for c in decompositions]
    common, either = set.intersection(*sets), set.union(*sets)
    return sorted(common, key=lambda key: (key[1].bit_count(), key[1], key[0])), (len(common) / len(either)
                                                                                   if either else 1.0)


def shared_concepts(tables, *, qthres: float = QTHRES, pthres: float = PTHRES, alpha: float = ALPHA,
                    p: float | None = None, kappa: float = KAPPA, compare: bool = True, tol: float = 1e-3,
                    max_iter: int | None = None, time_limit: float | None = None, check_every: int = 16,
                    method: str = "auto", progress: bool | None = None, checkpoint=None) -> SharedConcepts:
    """AND-OR concepts shared by several models on the same input and players (SPEC §3c).

    ``tables``: K ≥ 1 :class:`~harsanyi.ValueTable` of the same players. Per coalition the loss is
    (1 − α)(max_k |I_and,k| + max_k |I_or,k|) + α Σ_k (|I_and,k| + |I_or,k|), which pushes the models onto the same
    coalitions (the max is taken over the models for AND and OR separately, so for K = 1 this is exactly the
    single-model objective of :meth:`ValueTable.and_or`). Each model keeps its own noise, |ε_k| ≤ τ_k =
    qthres·|v_k(N) − v_k(∅)|, and its split stays within p of a shared one, |γ_k − γ_shared| ≤ p with
    p = pthres · the mean over the models of |v_k(N)| unless ``p`` is given. ``compare``: also run K independent
    ``and_or`` to report their overlap.

    Every OR concept is a variable during the solve, as in the papers (on ∅ and single players too: they move the
    split while the match stays); the tidy-up of SPEC §3 then moves those on ≤ 1 player into the AND concepts of
    the same players. ``split_violation`` is measured before it.

    ``method``: "highs" solves the LP exactly with scipy's HiGHS (n ≤ 10; three models: 1.8 s at n = 8, 46 s at
    n = 10 on two cores), held to ``time_limit``; "splitting" runs restarted Halpern Peaceman–Rachford splitting
    (any n, CPU or GPU; three models to a 1e-3 gap: 2 s at n = 8, 7 s at n = 10) and "pdhg" restarted,
    preconditioned PDHG (slower: still 2 % off after a minute at n = 10, 13 % at n = 12), each until the gap is
    below ``tol``, ``max_iter`` (None: 20 000 without a ``time_limit``, no cap with one) or ``time_limit``;
    "auto" (default) takes HiGHS for n ≤ 8 where scipy is installed, else the splitting and then, where highspy is
    installed, column-and-row generation with HiGHS's simplex from the concepts the splitting uses: its vertex where
    that has a lower L1, and the better lower bound of the two. The splitting first stops at a 1e-2 gap (for a
    ``tol`` below it), and where at most a quarter of the coalitions have their noise at the bound τ there, the
    simplex gets four times its seconds from that point. Where that leaves the gap above ``tol``, where more
    coalitions are at the bound (they are the simplex's first rows, and where they are many it is slow from any
    point: gradient boosting 0.48, planted games with noise 0.72–0.96, MLPs 0.02–0.11), or where the ``time_limit``
    leaves less than that budget, the splitting goes on to ``tol`` (on the same iterates) and the simplex runs after
    it, for as long as the splitting took, within what the limit leaves. On the bench's three MLPs the first simplex
    reached the exact optimum (gap ≤ 3e-8) at every n from 10 to 14: 7.6 s in all at n = 10, 7.2 s at n = 12 and 109
    s at n = 14, where the splitting to 1e-3 and the simplex after it took 7.7, 20.7 and 193 s; the splitting alone
    leaves 5 800 to 97 000 concepts, the vertex 690 to 1 700. With a ``checkpoint`` the splitting runs to ``tol`` at
    once. The LP's optimum is often not unique, and a first-order method stops inside a face of it; which concepts
    are salient in all the models depends on the point (at n = 10: 6 for the splitting, 15 for this vertex, 18 for
    HiGHS's own vertex on the whole LP, the same L1). ``checkpoint``: a file the splitting or PDHG saves its state
    to (every minute and when it stops); the same call again goes on from it on the same iterates, ``max_iter``
    counting every call's.
    """
    from ._values import ValueTable

    if isinstance(tables, ValueTable):
        raise HarsanyiValueError("Expected a list of ValueTable objects, one per model; received one ValueTable. For "
                                 "one model use table.and_or(); for several, shared_concepts([table_1, table_2, …]).")
    tables = list(tables)
    if not tables:
        raise HarsanyiValueError("Expected a non-empty list of ValueTable objects, one per model; received none.")
    wrong = next((k for k, t in enumerate(tables) if not isinstance(t, ValueTable)), None)
    if wrong is not None:
        raise HarsanyiValueError(f"Expected a list of ValueTable objects, one per model; item {wrong} is "
                                 f"{type(tables[wrong]).__name__}. Wrap a table of values as ValueTable(values).")
    sizes = [t.n_players for t in tables]
    if len(set(sizes)) != 1:
        raise HarsanyiValueError(
            f"Expected every model's table over the same players; received tables for {sizes} players. Build each "
            f"game from the same input with the same players."
        )
    names = tables[0].player_names
    if not (isinstance(alpha, (int, float)) and 0 <= alpha <= 1):
        raise HarsanyiValueError(f"Expected alpha in [0, 1]; received {alpha!r}.")
    cap = _check_solver_args(tol, max_iter, time_limit)
    all_torch = all(is_torch(t.data) for t in tables)
    data = [t.data if all_torch else t.values for t in tables]
    if all_torch:
        import torch

        vs = torch.stack([d.to(data[0].device) for d in data])
    else:
        vs = np.stack(data)
    taus = [_check_tau(None, qthres, t.scale) for t in tables]
    if p is None:
        if not (isinstance(pthres, (int, float)) and 0 <= pthres < math.inf):
            raise HarsanyiValueError(f"Expected a finite pthres ≥ 0; received {pthres!r}.")
        p = float(pthres) * float(np.mean([abs(t.v_full) for t in tables]))
    elif not (isinstance(p, (int, float)) and 0 <= p < math.inf):
        raise HarsanyiValueError(f"Expected a finite p ≥ 0 (the bound on |γ_k − γ_shared|); received {p!r}. For "
                                 f"splits bounded only loosely, pass a large p (say 100 times the outputs).")
    n = sizes[0]
    chosen = _resolve_shared_method(method, n)
    unit = _unit(vs)  # one unit for all the models, which share the split and its bound p
    scaled_taus = [tau / unit for tau in taus]
    problem = _Problem(vs / unit, scaled_taus, alpha=alpha if len(tables) > 1 else 1.0, p=p / unit)
    if checkpoint is not None and chosen == "highs":
        raise HarsanyiValueError(
            f"checkpoint= saves and resumes the splitting or PDHG; method={method!r} runs HiGHS for n = {n}, which "
            f"keeps no state to resume. Pass method=\"splitting\" with the checkpoint, or no checkpoint.")
    if chosen == "highs":
        start = time.perf_counter()
        exact, w, iterations = _shared_highs(problem, scaled_taus, time_limit if method == "highs" else None)
        z, violation = problem.repair(exact)  # HiGHS's own feasibility tolerance, moved back inside the box
        report = _exact_report(problem.objective(z), problem.dual_bound(w), iterations, start, tol)
        stats = {"split_violation": violation}
    elif chosen == "splitting":
        z, report, stats = _shared_splitting(problem, tol=tol, cap=cap, time_limit=time_limit,
                                             check_every=check_every, progress=progress, checkpoint=checkpoint,
                                             polish=method == "auto" and _importable("highspy"))
    else:
        identity = None if checkpoint is None else {"k": problem.k, "n": n, "taus": scaled_taus,
                                                    "alpha": problem.alpha, "p": problem.p,
                                                    "tables": table_digest(problem.vs)}
        runner = functools.partial(_pdhg, checkpoint=checkpoint, identity=identity)
        z, report, stats = _solve(problem, tol=tol, max_iter=cap, time_limit=time_limit,
                                  check_every=check_every, progress=progress, n=n, runner=runner)
        report = _resumed(report, stats)
    k, report = len(tables), _in_units(report, unit)
    small = like((popcounts(n) <= 1).astype(np.float64), vs)  # the tidy-up (SPEC §3): OR concepts on ≤ 1 player
    decompositions = tuple(_concepts(vs[i], (z[i] + z[k + i] * small) * unit, z[k + i] * (1.0 - small) * unit,
                                     taus[i], report, names) for i in range(k))  # are AND ones: the match stays
    shared, overlap = _overlap(decompositions, kappa)
    independent = None
    if compare and k > 1:
        solo = [t.and_or(qthres=qthres, tol=tol, max_iter=max_iter, time_limit=time_limit, progress=False)
                for t in tables]
        independent = _overlap(solo, kappa)[1]
    return SharedConcepts(decompositions, [(kind, mask) for kind, mask in shared], overlap, independent, kappa,
                          float(p), float(alpha), stats["split_violation"] * unit, report)
