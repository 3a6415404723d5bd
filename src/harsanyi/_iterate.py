"""Pieces shared by the first-order LP solvers (PDHG in ``_andor``, the splitting in ``_splitting``)."""

from __future__ import annotations

import math
import time

import numpy as np

from ._array import is_torch

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
