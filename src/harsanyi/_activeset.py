"""The single-model AND-OR LP solved exactly on a working set of coalitions (column-and-row generation).

The LP in value form: minimise Σ|x| + Σ|y| subject to |ζx(S) + Ry(S) − v(S)| ≤ τ on all 2ⁿ coalitions S, with x the
AND concepts (every coalition) and y the OR concepts (coalitions of ≥ 2 players). Its optimum is often sparse (on
the trained MLP of bench/andor.py at n = 14: about 500 concepts and as many coalitions where |ε| = τ, out of 2ⁿ
each; on the demo's MLP it is not, and this solver stalls there: see ``stall_rounds``). Where it is, a small LP over
a working set of concepts (columns) and coalitions (rows) has the same optimum once the working set holds them, and
the whole problem is needed only to check that it does:

* the rows left out: the reconstruction ζx + Ry on all 2ⁿ coalitions (fast transforms) shows which are violated;
* the columns left out: the duals π of the working rows, lifted to all coalitions, price every concept at once:
  ζᵀπ for the AND ones and Rᵀπ for the OR ones (fast transforms again); a concept with |price| > 1 would lower the
  L1 and joins the working set.

Each round drops the rows and concepts idle for a few rounds, adds the best-priced concepts and re-optimises with
HiGHS's primal simplex (the basis is still primal feasible), then adds the most violated coalitions and re-solves
with the dual simplex, both from the previous basis. Every round yields certified bounds: repairing the
violated coalitions into the AND concepts gives a feasible decomposition (an upper bound), and π scaled into dual
feasibility gives vᵀπ − τ‖π‖₁ as a lower bound. When nothing is violated and nothing is priced in, they meet.

HiGHS runs on the CPU through ``highspy``; tables on a GPU are copied to the host.
"""

from __future__ import annotations

import ctypes
import math
import os
import sys
import time

import numpy as np

from ._transforms import or_reconstruct, or_reconstruct_adjoint, popcounts, subset_moebius, subset_zeta, superset_zeta

_AND, _OR, _SLACK, _TOTAL = 0, 1, 2, 3
_DUAL, _PRIMAL = 1, 4  # HiGHS's simplex_strategy values
_ADD = 32  # rows and columns added per round (16 took 1.3× as long at n = 14, 64 no faster)
_IDLE = 5  # rounds a row (non-binding, zero dual) or a concept (zero) stays before it is dropped
_PENALTY = 1e4  # cost of an elastic slack: a working row that the working concepts cannot match gets its own concept
_STALLED_PRICED = 0.1  # a stall also needs this share of the 2ⁿ⁺¹ concepts outside the set to be priced in (see below)


def _incidence(rows: np.ndarray, concepts: np.ndarray, kinds: np.ndarray) -> np.ndarray:
    """The working LP's coefficients of concepts T in rows S, shape (rows, concepts): [T ⊆ S] for AND concepts and
    −[T ∩ S = ∅] for OR concepts (an OR concept is 1 on every row but those it misses; the 1s are carried by the
    total t, see :class:`_WorkingLP`)."""
    both = rows[:, None] & concepts[None, :]
    return np.where(kinds[None, :] == _AND, both == concepts[None, :], -1.0 * (both == 0))


def _csr(block: np.ndarray):
    """(starts, indices, values) of a dense block, row by row, as HiGHS takes them."""
    r, c = np.nonzero(block)
    starts = np.searchsorted(r, np.arange(block.shape[0])).astype(np.int32)
    return starts, c.astype(np.int32), block[r, c].astype(np.float64)


def _silent_highs(highspy):
    """A HiGHS instance with its output off. highspy ≥ 1.16 prints its banner from C++ while the instance is being
    made, before ``output_flag`` can be set, so that runs with the process's stdout (file descriptor 1) on the null
    device; C's buffered output is flushed before it is restored, so the banner cannot surface later."""
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no file descriptor 1 (an embedded interpreter): nothing to hide the banner from
        saved = None
    if saved is not None:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.close(null)
    try:
        highs = highspy.Highs()
        highs.setOptionValue("output_flag", False)
    finally:
        if saved is not None:
            _flush_c_stdout()
            os.dup2(saved, 1)
            os.close(saved)
    return highs


def _flush_c_stdout() -> None:
    try:
        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError, TypeError):  # no C library to reach (Windows): its buffers flush at exit
        pass


class _WorkingLP:
    """The LP over the working set, kept in one HiGHS model that rows and columns are added to and deleted from.

    Columns: each working concept twice (its positive and negative part, cost 1), each working row's two elastic
    slacks (cost ``_PENALTY``) and the free total t = Σ y of the OR concepts. Rows: the definition of t (row 0,
    t − Σ y = 0), then v(S) − τ ≤ Σ_{T ⊆ S} x_T + t − Σ_{T ∩ S = ∅} y_T + slacks ≤ v(S) + τ: the same as Ry(S) =
    Σ_{T ∩ S ≠ ∅} y_T, but an OR column is now nonzero on at most a quarter of the rows (|T| ≥ 2) instead of at least
    three quarters. A dense basis made each simplex step cost ~1 ms at a few hundred rows.
    """

    def __init__(self, v: np.ndarray, tau: float):
        import highspy

        self.v, self.tau = v, tau
        self.highs = _silent_highs(highspy)
        self.highs.setOptionValue("simplex_strategy", _DUAL)
        self.inf = highspy.kHighsInf
        self.col_mask = np.zeros(1, np.int64)  # the concept's coalition (the row's, for a slack)
        self.col_kind = np.full(1, _TOTAL)
        self.col_sign = np.ones(1)
        self.col_idle = np.zeros(1, np.int64)
        self.row_mask = np.zeros(0, np.int64)  # the value rows, HiGHS's rows 1, 2, …
        self.row_idle = np.zeros(0, np.int64)
        self.highs.addRows(1, np.zeros(1), np.zeros(1), 0, np.zeros(1, np.int32), np.zeros(0, np.int32), np.zeros(0))
        self.highs.addCols(1, np.zeros(1), np.full(1, -self.inf), np.full(1, self.inf), 1, np.zeros(1, np.int32),
                           np.zeros(1, np.int32), np.ones(1))

    def _add_columns(self, masks, kind: int, sign: float, cost: float, block: np.ndarray) -> None:
        k = len(masks)
        starts, idx, val = _csr(block)
        self.highs.addCols(k, np.full(k, cost), np.zeros(k), np.full(k, self.inf), len(idx), starts, idx, val)
        self.col_mask = np.concatenate([self.col_mask, masks])
        self.col_kind = np.concatenate([self.col_kind, np.full(k, kind)])
        self.col_sign = np.concatenate([self.col_sign, np.full(k, sign)])
        self.col_idle = np.concatenate([self.col_idle, np.zeros(k, np.int64)])

    def add_concepts(self, masks: np.ndarray, kind: int) -> None:
        if len(masks):
            block = np.empty((len(masks), 1 + len(self.row_mask)))
            block[:, 0] = -1.0 if kind == _OR else 0.0  # t − Σ y = 0
            block[:, 1:] = _incidence(self.row_mask, masks, np.full(len(masks), kind)).T
            for sign in (1.0, -1.0):
                self._add_columns(masks, kind, sign, 1.0, sign * block)

    def add_rows(self, masks: np.ndarray) -> None:
        if not len(masks):
            return
        m, concept = len(masks), (self.col_kind == _AND) | (self.col_kind == _OR)
        block = np.zeros((m, len(self.col_mask)))
        block[:, concept] = _incidence(masks, self.col_mask[concept], self.col_kind[concept]) * self.col_sign[concept]
        block[:, self.col_kind == _TOTAL] = 1.0
        starts, idx, val = _csr(block)
        self.highs.addRows(m, self.v[masks] - self.tau, self.v[masks] + self.tau, len(idx), starts, idx, val)
        first = len(self.row_mask)
        self.row_mask = np.concatenate([self.row_mask, masks])
        self.row_idle = np.concatenate([self.row_idle, np.zeros(m, np.int64)])
        slack = np.zeros((m, 1 + len(self.row_mask)))
        slack[np.arange(m), 1 + first + np.arange(m)] = 1.0
        for sign in (1.0, -1.0):
            self._add_columns(masks, _SLACK, sign, _PENALTY, sign * slack)

    def drop_idle(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Delete the rows and concepts idle for ``_IDLE`` rounds; returns the dropped rows, AND and OR concepts."""
        rows = self.row_idle >= _IDLE
        concept = (self.col_kind == _AND) | (self.col_kind == _OR)
        cols = concept & (self.col_idle >= _IDLE)
        key = self.col_mask * 2 + (self.col_kind == _OR)
        cols &= ~np.isin(key, key[concept & ~cols])  # a concept leaves with both of its parts
        cols |= (self.col_kind == _SLACK) & np.isin(self.col_mask, self.row_mask[rows])
        dropped = (self.row_mask[rows], np.unique(self.col_mask[cols & (self.col_kind == _AND)]),
                   np.unique(self.col_mask[cols & (self.col_kind == _OR)]))
        if cols.any():
            idx = np.flatnonzero(cols).astype(np.int32)
            self.highs.deleteCols(len(idx), idx)
            keep = ~cols
            self.col_mask, self.col_kind = self.col_mask[keep], self.col_kind[keep]
            self.col_sign, self.col_idle = self.col_sign[keep], self.col_idle[keep]
        if rows.any():
            idx = 1 + np.flatnonzero(rows).astype(np.int32)
            self.highs.deleteRows(len(idx), idx)
            self.row_mask, self.row_idle = self.row_mask[~rows], self.row_idle[~rows]
        return dropped

    def price_in(self) -> int:
        """Re-optimise after concepts were added and before rows are: the basis stays primal feasible, so the primal
        simplex takes it from there (1.4× faster at n = 14 than one dual simplex run after both); returns its
        iterations."""
        self.highs.setOptionValue("simplex_strategy", _PRIMAL)
        self.highs.run()
        self.highs.setOptionValue("simplex_strategy", _DUAL)
        return int(self.highs.getInfo().simplex_iteration_count)

    def solve(self, size: int):
        """Re-solve (dual simplex: the rows just added are what the basis violates); returns the concepts x, y and
        the duals π as full tables, the rows whose slack is used, and the number of simplex iterations."""
        self.highs.run()
        solution, info = self.highs.getSolution(), self.highs.getInfo()
        value = np.asarray(solution.col_value)
        dual = np.asarray(solution.row_dual)[1:]
        activity = np.asarray(solution.row_value)[1:]
        x, y = np.zeros(size), np.zeros(size)
        signed = value * self.col_sign
        for kind, out in ((_AND, x), (_OR, y)):
            part = self.col_kind == kind
            np.add.at(out, self.col_mask[part], signed[part])
        pi = np.zeros(size)
        pi[self.row_mask] = dual
        slack_rows = np.unique(self.col_mask[(self.col_kind == _SLACK) & (value > 1e-9)])
        tight = np.abs(np.abs(activity - self.v[self.row_mask]) - self.tau) <= 1e-9 * max(self.tau, 1e-12)
        self.row_idle = np.where((np.abs(dual) > 1e-12) | tight, 0, self.row_idle + 1)
        self.col_idle = np.where(value > 1e-12, 0, self.col_idle + 1)
        return x, y, pi, slack_rows, int(info.simplex_iteration_count)


def _top(scores: np.ndarray, k: int, above: float) -> np.ndarray:
    """Indices of the (at most) k largest scores that exceed ``above``."""
    k = min(k, scores.size)
    if k == 0:
        return np.zeros(0, np.int64)
    best = np.argpartition(-scores, k - 1)[:k]
    return np.sort(best[scores[best] > above])


def _priced_in(price_and: np.ndarray, price_or: np.ndarray, working: dict) -> int:
    """How many concepts outside the working set would lower the L1 (|price| > 1)."""
    return int(((np.abs(price_and) > 1.0 + 1e-9) & ~working[_AND]).sum()
               + ((np.abs(price_or) > 1.0 + 1e-9) & ~working[_OR]).sum())


def solve_working_set(v: np.ndarray, tau: float, *, tol: float, max_rounds: int, time_limit: float | None, bar,
                      stall_rounds: int | None = None, seed=None):
    """Column-and-row generation for the AND-OR LP of the table ``v`` (NumPy float64). Returns the best feasible
    decomposition (x, y), its L1, the best certified lower bound and the run's statistics. With ``stall_rounds``, it
    also stops once that many rounds in a row have not lowered the best L1 while more than a tenth of the concepts
    outside the working set would still lower it (``stats["stalled"]``). ``seed``: (AND concepts, OR concepts,
    coalitions) as bitmasks, in the working set from the start besides the singletons and the coalitions of ≤ 1 and
    ≥ n − 1 players that it always starts with (``auto`` passes a splitting's support)."""
    n = int(v.size).bit_length() - 1
    size, pop = 1 << n, popcounts(n).astype(np.int64)
    free = pop >= 2
    start = time.perf_counter()
    feasibility = 1e-9 * max(tau, float(np.abs(v).max()) * 1e-6, 1e-300)
    lp = _WorkingLP(v, tau)
    working = {_AND: np.zeros(size, bool), _OR: np.zeros(size, bool), "rows": np.zeros(size, bool)}
    first_concepts, first_rows = np.flatnonzero(pop <= 1), np.flatnonzero((pop <= 1) | (pop >= n - 1))
    first_or = np.zeros(0, np.int64)
    if seed is not None:
        first_concepts = np.union1d(first_concepts, seed[0])
        first_or = np.setdiff1d(seed[1], np.flatnonzero(~free))
        first_rows = np.union1d(first_rows, seed[2])
    lp.add_concepts(first_concepts, _AND)
    working[_AND][first_concepts] = True
    lp.add_concepts(first_or, _OR)
    working[_OR][first_or] = True
    lp.add_rows(first_rows)
    working["rows"][first_rows] = True
    best, best_obj, best_lower = None, math.inf, -math.inf
    history, rounds, pivots, since_better = [], 0, 0, 0
    while True:
        rounds += 1
        x, y, pi, slack_rows, steps = lp.solve(size)
        pivots += steps
        residual = subset_zeta(x) + or_reconstruct(y) - v
        excess = residual - np.clip(residual, -tau, tau)
        repaired = x - subset_moebius(excess)  # the violated coalitions put back inside the box by AND concepts
        objective = float(np.abs(repaired).sum() + np.abs(y).sum())
        since_better = 0 if objective < best_obj * (1 - 1e-6) else since_better + 1
        if objective < best_obj:
            best, best_obj = (repaired, y), objective
        price_and, price_or = superset_zeta(pi), or_reconstruct_adjoint(pi)
        price_or[~free] = 0.0
        scale = max(1.0, float(np.abs(price_and).max()), float(np.abs(price_or).max()))
        best_lower = max(best_lower, (float(v @ pi) - tau * float(np.abs(pi).sum())) / scale, 0.0)
        gap = (best_obj - best_lower) / best_obj if best_obj > 0 else 0.0
        history.append((rounds, best_obj, best_lower))
        bar.update(1)
        bar.set_postfix_str(f"certified gap {100 * gap:.3g} %, rows {len(lp.row_mask)}", refresh=False)
        violation = np.abs(residual) - tau
        # Stalled: no better L1 for stall_rounds rounds while the duals still price in a large share of all concepts.
        # Where the optimum is sparse that share falls to a few % within a few dozen rounds, even while the repaired
        # L1 still sits on a plateau (the bench MLP at n = 15: 35 rounds, then exact in 90); on the demo's MLP it
        # stays at 25–75 %.
        stalled = (stall_rounds is not None and since_better >= stall_rounds
                   and _priced_in(price_and, price_or, working) > _STALLED_PRICED * 2 * size)
        if (gap <= tol or rounds >= max_rounds or stalled
                or (time_limit is not None and time.perf_counter() - start >= time_limit)):
            break
        rows_out, and_out, or_out = lp.drop_idle()
        working["rows"][rows_out] = False
        working[_AND][and_out] = False
        working[_OR][or_out] = False
        price_and = np.where(working[_AND], 0.0, np.abs(price_and))
        price_or = np.where(working[_OR], 0.0, np.abs(price_or))
        priced = _top(np.concatenate([price_and, price_or]), _ADD, 1.0 + 1e-9)
        new_and = np.union1d(slack_rows[~working[_AND][slack_rows]], priced[priced < size])
        new_or = priced[priced >= size] - size
        new_rows = _top(np.where(working["rows"], -np.inf, violation), _ADD, feasibility)
        if not (len(new_and) or len(new_or) or len(new_rows)):
            break  # nothing left to add: the working LP's optimum is the whole LP's (up to its tolerances)
        for kind, new in ((_AND, new_and), (_OR, new_or)):
            lp.add_concepts(new, kind)
            working[kind][new] = True
        if len(new_rows) and (len(new_and) or len(new_or)):
            pivots += lp.price_in()
        lp.add_rows(new_rows)
        working["rows"][new_rows] = True
    gap = max((best_obj - best_lower) / best_obj, 0.0) if best_obj > 0 else 0.0
    stats = dict(iterations=rounds, restarts=pivots, seconds=time.perf_counter() - start, gap=gap, stalled=stalled,
                 history=tuple(history), rows=len(lp.row_mask),
                 concepts=int(np.isin(lp.col_kind, (_AND, _OR)).sum() // 2))
    return best, best_obj, best_lower, stats
