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

``polish_shared`` does the same for the shared-concept LP of several models (SPEC §3c), started from the concepts
a first-order solution uses: a concept joins for every model at once, priced by the dual norm of its K prices
(the objective takes the largest part over the models and their sum); ``shared_concepts`` takes its vertex where
its L1 is lower than the splitting's.

HiGHS runs on the CPU through ``highspy``; tables on a GPU are copied to the host.
"""

from __future__ import annotations

import ctypes
import math
import os
import sys
import time
from dataclasses import dataclass

import numpy as np

from ._transforms import or_reconstruct, or_reconstruct_adjoint, popcounts, subset_moebius, subset_zeta, superset_zeta

_AND, _OR, _SLACK, _TOTAL = 0, 1, 2, 3
_DUAL, _PRIMAL = 1, 4  # HiGHS's simplex_strategy values
_ADD = 32  # rows and columns added per round (16 took 1.3× as long at n = 14, 64 no faster)
_IDLE = 5  # rounds a row (non-binding, zero dual) or a concept (zero) stays before it is dropped
_PENALTY = 1e4  # cost of an elastic slack: a working row that the working concepts cannot match gets its own concept
_LP_SECONDS = 0.1  # the least time limit HiGHS gets for one LP
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


def _time_limit(highs, seconds: float | None) -> None:
    """Stop HiGHS's next run ``seconds`` from now (None: never), ``_LP_SECONDS`` at least, so that a small LP always
    finishes. HiGHS's own limit counts the time of every run of the instance so far (until HiGHS 2.0), so it is set
    past the run time already spent."""
    import highspy

    highs.setOptionValue("time_limit", highspy.kHighsInf if seconds is None
                         else highs.getRunTime() + max(float(seconds), _LP_SECONDS))


def _price_in(highs, time_limit: float | None) -> None:
    """Re-optimise after concepts were added and before rows are: the basis stays primal feasible, so the primal
    simplex takes it from there, then the dual simplex is set back for the rows. ``time_limit``: seconds, or None."""
    highs.setOptionValue("simplex_strategy", _PRIMAL)
    _time_limit(highs, time_limit)
    highs.run()
    highs.setOptionValue("simplex_strategy", _DUAL)


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
        self.optimal = highspy.HighsModelStatus.kOptimal
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

    def price_in(self, time_limit: float | None = None) -> int:
        """``_price_in`` (1.4× faster at n = 14 than one dual simplex run after both); returns its iterations."""
        _price_in(self.highs, time_limit)
        return int(self.highs.getInfo().simplex_iteration_count)

    def solve(self, size: int, time_limit: float | None = None):
        """Re-solve (dual simplex: the rows just added are what the basis violates); returns the concepts x, y and
        the duals π as full tables, the rows whose slack is used, and the number of simplex iterations; or None where
        ``time_limit`` (seconds) ran out first (the elastic slacks make every working LP feasible and bounded)."""
        _time_limit(self.highs, time_limit)
        self.highs.run()
        if self.highs.getModelStatus() != self.optimal:
            return None
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
                      stall_rounds: int | None = None, seed=None, add: int | None = None):
    """Column-and-row generation for the AND-OR LP of the table ``v`` (NumPy float64). Returns the best feasible
    decomposition (x, y), its L1, the best certified lower bound and the run's statistics. With ``stall_rounds``, it
    also stops once that many rounds in a row have not lowered the best L1 while more than a tenth of the concepts
    outside the working set would still lower it (``stats["stalled"]``). ``seed``: (AND concepts, OR concepts,
    coalitions) as bitmasks, in the working set from the start besides the singletons and the coalitions of ≤ 1 and
    ≥ n − 1 players that it always starts with (``auto`` passes a splitting's support). ``add``: the rows and the
    concepts added a round, at most (None: ``_ADD``). ``time_limit`` also bounds each LP (HiGHS stops inside it);
    where it runs out in the first, the result is the plain dividends (exact, an upper bound) with lower bound 0."""
    from ._andor import match_inside

    add = _ADD if add is None else add
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
    best = (subset_moebius(v), np.zeros(size))  # the plain dividends, should time run out in the first LP
    best_obj, best_lower = float(np.abs(best[0]).sum()), -math.inf
    history, rounds, pivots, since_better, stalled = [], 0, 0, 0, False

    def left():
        return None if time_limit is None else time_limit - (time.perf_counter() - start)

    while True:
        solution = lp.solve(size, left())
        if solution is None:
            break  # time ran out inside HiGHS
        rounds += 1
        x, y, pi, slack_rows, steps = solution
        pivots += steps
        residual = subset_zeta(x) + or_reconstruct(y) - v
        repaired = x + match_inside(residual, tau)  # the violated coalitions put back inside the box
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
        if gap <= tol or rounds >= max_rounds or stalled or (time_limit is not None and left() <= 0):
            break
        rows_out, and_out, or_out = lp.drop_idle()
        working["rows"][rows_out] = False
        working[_AND][and_out] = False
        working[_OR][or_out] = False
        price_and = np.where(working[_AND], 0.0, np.abs(price_and))
        price_or = np.where(working[_OR], 0.0, np.abs(price_or))
        priced = _top(np.concatenate([price_and, price_or]), add, 1.0 + 1e-9)
        new_and = np.union1d(slack_rows[~working[_AND][slack_rows]], priced[priced < size])
        new_or = priced[priced >= size] - size
        new_rows = _top(np.where(working["rows"], -np.inf, violation), add, feasibility)
        if not (len(new_and) or len(new_or) or len(new_rows)):
            break  # nothing left to add: the working LP's optimum is the whole LP's (up to its tolerances)
        for kind, new in ((_AND, new_and), (_OR, new_or)):
            lp.add_concepts(new, kind)
            working[kind][new] = True
        if len(new_rows) and (len(new_and) or len(new_or)):
            pivots += lp.price_in(left())
        lp.add_rows(new_rows)
        working["rows"][new_rows] = True
    best_lower = max(best_lower, 0.0)
    gap = max((best_obj - best_lower) / best_obj, 0.0) if best_obj > 0 else 0.0
    stats = dict(iterations=rounds, restarts=pivots, seconds=time.perf_counter() - start, gap=gap, stalled=stalled,
                 history=tuple(history), rows=len(lp.row_mask),
                 concepts=int(np.isin(lp.col_kind, (_AND, _OR)).sum() // 2))
    return best, best_obj, best_lower, stats


_POLISH_ADD = 256  # per round of the shared polish: violated rows added per model, and concepts priced in
_POLISH_FIRST = 2048  # rows per model it starts from at most: those nearest their bound (τ = 0 puts all at it)
_MAX, _SPLIT, _SPLIT_SLACK = 4, 5, 6  # column kinds of the shared LP besides _AND, _OR, _SLACK (a value row's) and
# _TOTAL: a concept's largest part over the models, the shared split g(S), a split row's elastic slack
_VALUE_ROW, _SPLIT_ROW, _TOTAL_ROW, _MAX_ROW = 0, 1, 2, 3


def _value_coefficients(rows: np.ndarray, masks: np.ndarray, kinds: np.ndarray, signs: np.ndarray) -> np.ndarray:
    """The coefficients of columns (``masks``, ``kinds``, ``signs``) in the value rows ζx(S) + Ry(S) of ``rows``,
    with Ry(S) = y(∅) + t − Σ_{∅≠T, T∩S=∅} y(T): [T ⊆ S] for an AND concept, −[T ∩ S = ∅] for an OR one (1 for
    the OR concept of ∅, which is in every v_or(S)), 1 for the total t, 0 for the others."""
    out = _incidence(rows, masks, kinds)
    out[:, (kinds == _OR) & (masks == 0)] = 1.0
    out[:, kinds == _TOTAL] = 1.0
    out[:, (kinds != _AND) & (kinds != _OR) & (kinds != _TOTAL)] = 0.0
    return out * signs


class _SupportLP:
    """The shared-concept LP of ``_andor._Problem`` (SPEC §3c) over a growing set of concepts and rows, in one HiGHS
    model (its interior point method first, then the simplex warm-started as concepts and rows are added).

    Columns, per model k: the parts x⁺, x⁻ of its AND concepts and y⁺, y⁻ of its OR concepts (cost α; 1 for one
    model) and its free total t_k = Σ_{T≠∅} y_k(T); for K ≥ 2, per concept the largest part over the models,
    s ≥ x⁺_k + x⁻_k (and the same for the OR ones; cost 1 − α), and per split row's coalition the free shared
    split g(S). Rows: the totals, the maxima, the value rows v_k(S) − τ_k ≤ ζx_k(S) + Ry_k(S) ≤ v_k(S) + τ_k with
    Ry(S) = y(∅) + t − Σ_{∅≠T, T∩S=∅} y(T), and the split rows |½(ζx_k − Ry_k)(S) − g(S)| ≤ p. A concept joins
    for all the models at once. Each value and split row has two elastic slacks (cost ``_PENALTY``), so that the
    LP is feasible over any concepts: where one is used, the row's coalition lacks a concept.
    """

    def __init__(self, vs: np.ndarray, taus: np.ndarray, p: float, alpha: float):
        import highspy

        self.optimal = highspy.HighsModelStatus.kOptimal
        self.solved = False
        self.vs, self.taus, self.p = vs, taus, p
        self.k, self.shared = vs.shape[0], vs.shape[0] >= 2
        self.cost = alpha if self.shared else 1.0
        self.highs = _silent_highs(highspy)
        self.highs.setOptionValue("simplex_strategy", _DUAL)
        self.inf = highspy.kHighsInf
        size = vs.shape[1]
        self.col_model, self.col_kind = np.zeros(0, np.int64), np.zeros(0, np.int64)
        self.col_mask, self.col_sign = np.zeros(0, np.int64), np.zeros(0)
        self.row_model, self.row_kind, self.row_mask = (np.zeros(0, np.int64) for _ in range(3))
        self.concepts = {_AND: np.zeros(size, bool), _OR: np.zeros(size, bool)}
        self.g_column = np.full(size, -1, np.int64)  # the column of g(S), −1 while S has no split row
        models = np.arange(self.k)
        self.total_column = self._add_columns(models, _TOTAL, np.zeros(self.k, np.int64), 1.0, 0.0, -self.inf)
        self._add_rows(models, _TOTAL_ROW, np.zeros(self.k, np.int64), np.zeros(self.k), np.zeros(self.k),
                       np.arange(self.k), self.total_column, np.ones(self.k))

    def _add_columns(self, model, kind: int, masks, sign: float, cost: float, lower: float, entries=None):
        """Columns without entries, or with ``entries`` = (column, row, value) triples; returns their indices."""
        m, first = len(masks), len(self.col_kind)
        if entries is None:
            starts, rows, vals = np.zeros(m, np.int32), np.zeros(0, np.int32), np.zeros(0)
        else:
            col, rows, vals = entries
            order = np.argsort(col, kind="stable")
            col, rows, vals = col[order], rows[order], vals[order]
            starts = np.searchsorted(col, np.arange(m)).astype(np.int32)
        self.highs.addCols(m, np.full(m, cost), np.full(m, lower), np.full(m, self.inf), len(rows), starts,
                           rows.astype(np.int32), vals.astype(np.float64))
        self.col_model = np.concatenate([self.col_model, np.broadcast_to(model, (m,))])
        self.col_kind = np.concatenate([self.col_kind, np.full(m, kind)])
        self.col_mask = np.concatenate([self.col_mask, masks])
        self.col_sign = np.concatenate([self.col_sign, np.full(m, sign)])
        return first + np.arange(m)

    def _add_rows(self, model, kind: int, masks, low, high, row, col, val) -> None:
        """Rows with (row, column, value) triples, ``row`` counted from the first of these."""
        m = len(masks)
        order = np.argsort(row, kind="stable")
        row, col, val = row[order], col[order], val[order]
        starts = np.searchsorted(row, np.arange(m)).astype(np.int32)
        self.highs.addRows(m, low, high, len(col), starts, col.astype(np.int32), val.astype(np.float64))
        self.row_model = np.concatenate([self.row_model, np.broadcast_to(model, (m,))])
        self.row_kind = np.concatenate([self.row_kind, np.full(m, kind)])
        self.row_mask = np.concatenate([self.row_mask, masks])

    def add_concepts(self, masks: np.ndarray, kind: int) -> None:
        """The AND or OR concepts of ``masks`` for every model, in the value, split and total rows there are."""
        masks = masks[~self.concepts[kind][masks]]
        if not len(masks):
            return
        self.concepts[kind][masks] = True
        m, parts = len(masks), []
        for k in range(self.k):
            mine = np.flatnonzero((self.row_model == k) & (self.row_kind != _MAX_ROW))
            rows, row_kind = self.row_mask[mine], self.row_kind[mine]
            block = _value_coefficients(rows, masks, np.full(m, kind), np.ones(m))
            if kind == _OR:
                block[row_kind == _SPLIT_ROW] *= -1.0
            block[row_kind == _SPLIT_ROW] *= 0.5
            block[row_kind == _TOTAL_ROW] = -1.0 * (masks != 0) if kind == _OR else 0.0
            r, c = np.nonzero(block)
            for sign in (1.0, -1.0):
                parts.append(self._add_columns(k, kind, masks, sign, self.cost, 0.0,
                                               (c, mine[r], sign * block[r, c])))
        if self.shared:  # s_T − x⁺_k(T) − x⁻_k(T) ≥ 0 for every model
            top = self._add_columns(-1, _MAX, masks, 1.0, 1.0 - self.cost, 0.0)
            idx = np.arange(m)
            for k in range(self.k):
                plus, minus = parts[2 * k], parts[2 * k + 1]
                self._add_rows(k, _MAX_ROW, masks, np.zeros(m), np.full(m, self.inf), np.repeat(idx, 3),
                               np.stack([top, plus, minus], axis=1).ravel(), np.tile([1.0, -1.0, -1.0], m))

    def _row_block(self, k: int, masks: np.ndarray, split: bool):
        """(row, column, value) of the value rows (``split``: the split rows, without g) of model k at ``masks``."""
        cols = np.flatnonzero((self.col_model == k) & np.isin(self.col_kind, (_AND, _OR, _TOTAL)))
        block = _value_coefficients(masks, self.col_mask[cols], self.col_kind[cols], self.col_sign[cols])
        if split:  # ½(ζx − Ry)
            block *= np.where(self.col_kind[cols] == _AND, 0.5, -0.5)
        r, c = np.nonzero(block)
        return r, cols[c], block[r, c]

    def _add_slacks(self, k: int, kind: int, masks: np.ndarray) -> None:
        """The elastic slacks, ±1, of the rows just added (the last ``len(masks)``)."""
        m = len(masks)
        rows = len(self.row_kind) - m + np.arange(m)
        for sign in (1.0, -1.0):
            self._add_columns(k, kind, masks, sign, _PENALTY, 0.0, (np.arange(m), rows, np.full(m, sign)))

    def add_value_rows(self, k: int, masks: np.ndarray) -> None:
        if len(masks):
            tau = self.taus[k]
            self._add_rows(k, _VALUE_ROW, masks, self.vs[k, masks] - tau, self.vs[k, masks] + tau,
                           *self._row_block(k, masks, split=False))
            self._add_slacks(k, _SLACK, masks)

    def add_split_rows(self, masks: np.ndarray) -> None:
        """|½(ζx_k − Ry_k)(S) − g(S)| ≤ p for every model, with a new g(S) for the coalitions that have none."""
        new = masks[self.g_column[masks] < 0]
        if len(new):
            self.g_column[new] = self._add_columns(-1, _SPLIT, new, 1.0, 0.0, -self.inf)
        if not len(masks):
            return
        m, g = len(masks), self.g_column[masks]
        for k in range(self.k):
            r, c, v = self._row_block(k, masks, split=True)
            self._add_rows(k, _SPLIT_ROW, masks, np.full(m, -self.p), np.full(m, self.p),
                           np.concatenate([r, np.arange(m)]), np.concatenate([c, g]),
                           np.concatenate([v, np.full(m, -1.0)]))
            self._add_slacks(k, _SPLIT_SLACK, masks)

    def solve(self, size: int, time_limit: float | None):
        """Re-solve; returns (x, y) as full (K, 2ⁿ) tables, the duals w in ``_Problem``'s layout (its value rows,
        then for K ≥ 2 its split rows; HiGHS's row duals negated, zero on the rows not here) and the coalitions of
        the value rows and the split rows whose slack is used; or None where HiGHS stopped at the time limit (the
        slacks keep the LP feasible and bounded). The first solve is HiGHS's interior point method, then a
        crossover to a basis (at n = 14: 5 s where the dual simplex from scratch took 20 s); the later ones are the
        simplex from the last basis."""
        _time_limit(self.highs, time_limit)
        self.highs.setOptionValue("solver", "simplex" if self.solved else "ipm")
        self.highs.run()
        self.solved = True
        if self.highs.getModelStatus() != self.optimal:
            return None
        solution = self.highs.getSolution()
        value, dual = np.asarray(solution.col_value), np.asarray(solution.row_dual)
        x, y = np.zeros((self.k, size)), np.zeros((self.k, size))
        for kind, out in ((_AND, x), (_OR, y)):
            part = self.col_kind == kind
            np.add.at(out, (self.col_model[part], self.col_mask[part]), value[part] * self.col_sign[part])
        w = np.zeros(((2 if self.shared else 1) * self.k, size))
        for kind, first in ((_VALUE_ROW, 0), (_SPLIT_ROW, self.k)):
            part = self.row_kind == kind
            w[first + self.row_model[part], self.row_mask[part]] = -dual[part]
        used = value > 1e-9
        slack_rows = [np.unique(self.col_mask[used & (self.col_kind == kind)]) for kind in (_SLACK, _SPLIT_SLACK)]
        return x, y, w, *slack_rows


@dataclass(frozen=True)
class Polished:
    """What ``polish_shared`` ends with: the last LP's concepts ``x``, ``y`` ((K, 2ⁿ) each, feasible on the whole
    table where ``optimal``), the best certified ``lower`` bound of the rounds (weak duality, in the units of the
    tables), the ``rounds``, and whether the last LP left no row violated and priced no concept in (``optimal``:
    its vertex is an optimum of the whole LP)."""

    x: np.ndarray
    y: np.ndarray
    lower: float
    rounds: int
    optimal: bool


def polish_shared(problem, x: np.ndarray, y: np.ndarray, *, time_limit: float | None, relative: float = 1e-4,
                  max_concepts: int | None = None, bar=None) -> Polished | None:
    """Column-and-row generation for the shared-concept LP (``problem``: an ``_andor._Problem`` of NumPy tables),
    started from the concepts a first-order solution (x, y) uses: its AND and OR concepts above ``relative`` of
    the largest in any model (and the OR concepts on ≤ 1 player, which move the split) are the first columns, the
    coalitions where its noise or split is within 1 % of its bound the first rows. Each round adds the
    ``_POLISH_ADD`` rows per model most violated on the whole table (fast transforms) and the ``_POLISH_ADD``
    concepts best priced by the duals, lifted to every coalition: a concept T lowers the objective where the dual
    norm h° of its prices Aᵀπ over the models exceeds 1 (``_andor.dual_norms``; for one model, |price| > 1). The
    duals, scaled into dual feasibility, give a certified lower bound each round. A row whose elastic slack is
    used brings in the AND concept of its coalition (and the OR one, for a split row). When nothing is violated,
    no slack used and nothing priced in, the vertex is optimal. Where the optimum is degenerate a first-order
    method stops inside a face of it, its mass spread over concepts a vertex leaves out.

    Returns :class:`Polished`, or None where ``time_limit`` (seconds) ran out before an LP was solved or the first
    concepts are more than ``max_concepts`` (a dense optimum, whose LP is slow). ``bar``: a progress bar, updated
    every round."""
    from ._andor import dual_norms

    vs = problem.vs
    k, size = vs.shape
    n = size.bit_length() - 1
    taus = problem.upper[:k, 0] - vs[:, 0]
    pop = popcounts(n)
    start = time.perf_counter()
    top = max(float(np.abs(x).max()), float(np.abs(y).max()), 1e-300)
    and_masks = np.flatnonzero((np.abs(x) > relative * top).any(0) | (np.arange(size) == 0))
    or_masks = np.flatnonzero((np.abs(y) > relative * top).any(0) | (pop <= 1))
    if max_concepts is not None and len(and_masks) + len(or_masks) > max_concepts:
        return None
    lp = _SupportLP(vs, taus, problem.p, problem.alpha)
    lp.add_concepts(and_masks, _AND)
    lp.add_concepts(or_masks, _OR)
    shared = k >= 2
    feasibility = 1e-9 * max(float(taus.max()), float(np.abs(vs).max()) * 1e-6, 1e-300)

    def excess(x, y):
        zx, ry = subset_zeta(x), or_reconstruct(y)
        over = np.abs(zx + ry - vs) - taus[:, None]
        gamma = 0.5 * (zx - ry)
        spread = gamma.max(0) - gamma.min(0) - 2.0 * problem.p if shared else np.full(size, -np.inf)
        return over, spread

    def left():
        return None if time_limit is None else time_limit - (time.perf_counter() - start)

    over, spread = excess(x, y)
    rows = [_top(over[i], _POLISH_FIRST, -1e-2 * taus[i] - 1e-300) for i in range(k)]
    splits = _top(spread, _POLISH_FIRST, -2e-2 * problem.p - 1e-300) if shared else np.zeros(0, np.int64)
    in_rows, in_splits = np.zeros((k, size), bool), np.zeros(size, bool)
    best, lower, rounds, optimal = None, 0.0, 0, False
    while left() is None or left() > 0:
        for i in range(k):
            lp.add_value_rows(i, rows[i])
            in_rows[i, rows[i]] = True
        if shared:
            lp.add_split_rows(splits)
            in_splits[splits] = True
        solution = lp.solve(size, left())
        if solution is None:
            break
        rounds += 1
        *best, w, value_slack, split_slack = solution
        lower = max(lower, problem.dual_bound(w))
        over, spread = excess(*best)
        rows = [_top(np.where(in_rows[i], -np.inf, over[i]), _POLISH_ADD, feasibility) for i in range(k)]
        splits = (_top(np.where(in_splits, -np.inf, spread), _POLISH_ADD, feasibility) if shared
                  else np.zeros(0, np.int64))
        grad = problem.adjoint(w)
        price = np.concatenate([np.where(lp.concepts[_AND], 0.0, dual_norms(grad[:k], problem.alpha)),
                                np.where(lp.concepts[_OR], 0.0, dual_norms(grad[k:2 * k], problem.alpha))])
        priced = _top(price, _POLISH_ADD, 1.0 + 1e-9)
        if bar is not None:
            bar.update(1)
            bar.set_postfix_str(f"rows {int(in_rows.sum() + k * in_splits.sum()):,}, concepts "
                                f"{int(lp.concepts[_AND].sum() + lp.concepts[_OR].sum()):,}", refresh=False)
        new_rows = sum(len(r) for r in rows) + len(splits)
        new_and = np.union1d(np.union1d(value_slack, split_slack), priced[priced < size])
        new_or = np.union1d(split_slack, priced[priced >= size] - size)
        new_and, new_or = new_and[~lp.concepts[_AND][new_and]], new_or[~lp.concepts[_OR][new_or]]
        if not (new_rows or len(new_and) or len(new_or)):
            optimal = not (len(value_slack) or len(split_slack))
            break
        lp.add_concepts(new_and, _AND)
        lp.add_concepts(new_or, _OR)
        if (len(new_and) or len(new_or)) and new_rows:
            _price_in(lp.highs, left())
    if best is None:
        return None
    return Polished(best[0], best[1], lower, rounds, optimal)
