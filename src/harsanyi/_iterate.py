"""Pieces shared by the first-order LP solvers (PDHG in ``_andor``, the splitting in ``_splitting``)."""

from __future__ import annotations

import math
import time

import numpy as np

from ._array import is_torch, namespace

_B_SUFF, _B_NEC, _B_ART = 0.2, 0.8, 0.36  # PDLP's restart criteria: sufficient, necessary and artificial decay


def _clip(a, lo, hi):
    if is_torch(a):
        import torch

        if not (is_torch(lo) or is_torch(hi)):  # plain bounds: no host-to-device copy (CUDA graphs forbid one)
            return torch.clamp(a, lo, hi)
        lo = lo if is_torch(lo) else torch.as_tensor(lo, dtype=a.dtype, device=a.device)
        hi = hi if is_torch(hi) else torch.as_tensor(hi, dtype=a.dtype, device=a.device)
        return torch.minimum(torch.maximum(a, lo), hi)
    return np.minimum(np.maximum(a, lo), hi)


def _norm(a) -> float:
    return math.sqrt(float((a * a).sum()))


def _soft(a, t):
    """Soft thresholding sign(a)·max(|a| − t, 0), the prox of t‖·‖₁."""
    return a - _clip(a, -t, t)


def _concat(parts):
    if is_torch(parts[0]):
        import torch

        return torch.cat(parts)
    return np.concatenate(parts)


def _project_l1_ball(a, radius):
    """Projection of every column of a (K, N) onto the ℓ1 ball of the column's radius: soft thresholding by θ,
    the threshold of Duchi et al. (2008). Their θ = f(ρ) for f(m) = (sum of the m largest |a_k| − radius) / m, and f
    rises while the next |a| lies above it and falls after, so θ = max_m f(m) (0 inside the ball). Every m is read
    as the number of entries at least as large as one |a_j|, so no sort: O(K²) per column, for the few models
    shared concepts take. (Ties skip an m; the maximiser is never one, since the entry after a tie-broken ρ still
    lies above f.)"""
    mags = abs(a)
    theta = None
    for j in range(int(a.shape[0])):
        above = mags >= mags[j:j + 1]
        candidate = ((mags * above).sum(0) - radius[0]) / above.sum(0)
        theta = candidate if theta is None else namespace(a).maximum(theta, candidate)
    theta = _clip(theta, 0.0, math.inf)
    return a - _clip(a, -theta, theta)


def _max_sum_prox(part, alpha: float, t):
    """The prox of t·((1 − α)·max_k |a_k| + α·Σ_k |a_k|) on every column of ``part`` (K, N), the shared-concept
    objective of one kind of concept over K models (SPEC §3c; α = 1: soft thresholding alone). ``t``: per entry, of
    ``part``'s shape or broadcasting to it with one row. Soft thresholding by α·t, then the ℓ∞ prox by (1 − α)·t
    (the point minus its projection onto the ℓ1 ball of that radius): valid as a composition, since soft
    thresholding keeps the set and the signs of the largest entries."""
    part = _soft(part, alpha * t)
    if alpha < 1.0:
        part = part - _project_l1_ball(part, (1.0 - alpha) * t[:1])
    return part


def _project_range(h, width: float):
    """The nearest point to every column of ``h`` (K, N) whose entries all lie within ``width`` of one centre c,
    that is, whose spread max − min is at most 2·width: clip(h, c − width, c + width), with c the minimiser of
    φ(c) = Σ_k dist(h_k, [c − width, c + width])². φ'(c)/2 = Σ_k (c − width − h_k)⁺ − (h_k − width − c)⁺ is
    nondecreasing and linear between the 2K breakpoints h_k ± width, and strictly increasing where the spread
    exceeds 2·width (some entry is clipped at every c). So c lies between the last breakpoint where φ' < 0 and the
    first where φ' ≥ 0, on the line through them: O(K²) per column, no sort, no iteration. A column already within
    the bound is returned as it is."""
    xp = namespace(h)

    def slope(e):
        return _clip(e - h - width, 0.0, math.inf).sum(0) - _clip(h - width - e, 0.0, math.inf).sum(0)

    first, last = (h.amin(0), h.amax(0)) if is_torch(h) else (h.min(0), h.max(0))
    e_lo, e_hi = first - width, last + width  # the first and last breakpoints: φ' ≤ 0 at one, ≥ 0 at the other
    s_lo, s_hi = slope(e_lo), slope(e_hi)
    for e in [*(h + width), *(h - width)]:
        s = slope(e)
        below = s < 0  # φ' is monotone: the largest e below 0 has the largest φ' there, and so on
        e_lo, s_lo = xp.where(below, xp.maximum(e_lo, e), e_lo), xp.where(below, xp.maximum(s_lo, s), s_lo)
        e_hi, s_hi = xp.where(below, e_hi, xp.minimum(e_hi, e)), xp.where(below, s_hi, xp.minimum(s_hi, s))
    rise = s_hi - s_lo
    ok = rise > 0
    centre = xp.where(ok, e_lo - s_lo * (e_hi - e_lo) / xp.where(ok, rise, 1.0 + 0.0 * rise), e_lo)
    return xp.where(last - first > 2.0 * width, _clip(h, centre - width, centre + width), h)  # the others as given


def _gap(upper: float, lower: float) -> float:
    """(upper − lower) / upper, the relative gap the runs stop at (0 when upper ≤ 0; inf before any upper bound)."""
    if math.isinf(upper):
        return math.inf
    return (upper - lower) / upper if upper > 0 else 0.0


def _checkpoint(history, bar, iteration, best_obj, best_lower, advanced, tol, time_limit, start) -> bool:
    """Record the bounds, show them (the bar moved on by ``advanced`` iterations), and say whether to stop (gap
    reached, or out of time)."""
    history.append((iteration, best_obj, best_lower))
    gap = _gap(best_obj, best_lower)
    bar.set_postfix_str(f"certified gap {100 * gap:.3g} %", refresh=False)  # the L1 itself is in the solver's units
    bar.update(advanced)
    return gap <= tol or (time_limit is not None and time.perf_counter() - start > time_limit)


def _primal_weight(omega: float, dz: float, dw: float) -> float:
    """PDLP's primal weight after a restart: the geometric mean of the old one and the dual/primal movement."""
    if dz > 1e-10 and dw > 1e-10:
        return math.exp(0.5 * math.log(dw / dz) + 0.5 * math.log(omega))
    return omega


def cuda_graph_of(record, device, what: str):
    """``record()`` run once eagerly on a side stream (the warm-up that torch.cuda.graph asks for, which also fills
    the transforms' caches of factor matrices on the device) and then recorded as a CUDA graph; returns the graph,
    or None with a RuntimeWarning where this torch build or driver cannot record one (``what`` then runs its steps
    one by one: slower, the same result)."""
    import warnings

    import torch

    try:
        side = torch.cuda.Stream(device=device)
        side.wait_stream(torch.cuda.current_stream(device))
        with torch.cuda.stream(side):
            record()
        torch.cuda.current_stream(device).wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            record()
        return graph
    except RuntimeError as error:
        warnings.warn(f"CUDA graph capture failed ({error}); {what} launches its steps one by one (slower, same "
                      f"result).", RuntimeWarning, stacklevel=4)
        return None


class Recorded:
    """Plain steps recorded as a CUDA graph: a subclass is made as ``cls(owner, count)`` and sets ``self.graph``
    (None where recording failed)."""

    graph = None

    @classmethod
    def on_cuda(cls, owner, table, count: int):
        """Made for ``owner`` where ``table`` is on a CUDA device and there are steps to record, else None (the
        eager loop)."""
        if count < 1 or not (is_torch(table) and table.is_cuda):
            return None
        made = cls(owner, count)
        return made if made.graph is not None else None
