"""Pieces shared by the first-order LP solvers (PDHG in ``_andor``, the splitting in ``_splitting``)."""

from __future__ import annotations

import math
import time

import numpy as np

from ._array import is_torch, like, namespace

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


def _sorted_desc(a):
    """|a| sorted in decreasing order along axis 0."""
    if is_torch(a):
        import torch

        return torch.sort(abs(a), dim=0, descending=True).values
    return -np.sort(-abs(a), axis=0)


def _cumsum0(a):
    return a.cumsum(0) if is_torch(a) else np.cumsum(a, axis=0)


_RANKS: dict = {}


def _ranks(k: int, a):
    """The column (1, 2, …, k)ᵀ on ``a``'s backend and device, made once per device: a step recorded as a CUDA
    graph may not copy from the host."""
    if not is_torch(a):
        return np.arange(1, k + 1, dtype=np.float64)[:, None]
    key = (k, str(a.device))
    if key not in _RANKS:
        _RANKS[key] = like(np.arange(1, k + 1, dtype=np.float64)[:, None], a)
    return _RANKS[key]


def _project_l1_ball(a, radius):
    """Projection of every column of a (K, N) onto the ℓ1 ball of the column's radius (Duchi et al. 2008)."""
    s = _sorted_desc(a)
    cs = _cumsum0(s)
    j = _ranks(a.shape[0], a)
    positive = (s - (cs - radius) / j) > 0
    rho = positive.sum(0)  # ≥ 1 whenever the column lies outside the ball
    rho_idx = (rho - 1).clip(min=0) if is_torch(rho) else np.maximum(rho - 1, 0)
    cs_rho = cs.gather(0, rho_idx[None].long())[0] if is_torch(cs) else np.take_along_axis(cs, rho_idx[None], 0)[0]
    theta = _clip((cs_rho - radius[0]) / (rho_idx + 1), 0.0, math.inf)  # 0 inside the ball
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
    nondecreasing and linear between the 2K breakpoints h_k ± width, so c is found by evaluating φ' at the sorted
    breakpoints and interpolating on the segment where it changes sign: O(K²) per column, no iteration. A column
    already within the bound (φ' = 0 on a segment) is left as it is."""
    xp = namespace(h)
    k = int(h.shape[0])
    both = xp.concatenate((h + width, h - width)) if not is_torch(h) else xp.cat((h + width, h - width))
    points = xp.sort(both, axis=0) if not is_torch(h) else xp.sort(both, dim=0).values
    slopes = xp.stack([_clip(e - h - width, 0.0, math.inf).sum(0) - _clip(h - width - e, 0.0, math.inf).sum(0)
                       for e in points])
    after = (slopes < 0).sum(0)  # φ' < 0 at breakpoints 0 … after − 1; ≤ 2K − 1, as φ' ≥ 0 at the last one
    lo = (after - 1).clip(min=0)[None]
    hi = after[None]
    if is_torch(h):
        take = lambda a, i: a.gather(0, i.long())[0]  # noqa: E731
    else:
        take = lambda a, i: np.take_along_axis(a, i, 0)[0]  # noqa: E731
    e_lo, e_hi, s_lo, s_hi = take(points, lo), take(points, hi), take(slopes, lo), take(slopes, hi)
    rise = s_hi - s_lo  # > 0 where φ' changes sign between two distinct breakpoints
    ok = rise > 0
    centre = e_lo - s_lo * (e_hi - e_lo) / xp.where(ok, rise, 1.0 + 0.0 * rise)
    centre = xp.where(ok, centre, e_lo)
    spread = (h.amax(0) - h.amin(0)) if is_torch(h) else (h.max(0) - h.min(0))
    return xp.where(spread > 2.0 * width, _clip(h, centre - width, centre + width), h)  # the others exactly as given


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
