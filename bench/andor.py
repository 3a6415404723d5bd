"""AND-OR benchmark: time, peak memory and final L1 of ``ValueTable.and_or`` against a dense-matrix implementation.

    python bench/andor.py                          # n = 8 … 16 on the CPU
    python bench/andor.py --ns 18 20 --device cuda # larger n on a GPU (when one is lent)

Games: a torch MLP (30 → 32 → 2) trained for a second on scikit-learn's breast cancer data; the first n features are
the players, the baseline is the training mean, v = log-odds of the predicted class (one test row). Columns:
  ours      and_or (restarted preconditioned PDHG over fast transforms) with tol and a time limit
  L1        its final L1; before = the L1 of the plain Harsanyi dividends
  gap       its certified optimality gap (L1 − dual lower bound) / L1
  dense     the same algorithm with ζ and R as dense 2ⁿ×2ⁿ matrices (as the papers' code builds them), run while
            the matrices fit in --dense-max GiB: same iterates, so the same L1; only time and memory differ
  LP        scipy HiGHS on the same LP (n ≤ --lp-max), and ours / LP − 1
Peak memory is tracemalloc's peak of NumPy allocations during the call (CPU runs).
"""

from __future__ import annotations

import argparse
import platform
import time
import tracemalloc

import numpy as np
import torch

import harsanyi._andor as andor
from harsanyi import Game, ValueTable


def trained_mlp():
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(30, 32), torch.nn.ReLU(), torch.nn.Linear(32, 2))
    opt = torch.optim.Adam(model.parameters(), 1e-2)
    xt, yt = torch.tensor(X, dtype=torch.float32), torch.tensor(y)
    for _ in range(200):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(xt), yt).backward()
        opt.step()
    return model.eval(), X


def dense_operators(n):
    s = np.arange(1 << n)[:, None]
    t = np.arange(1 << n)[None, :]
    return ((s & t) == t).astype(np.float64), (((s & t) != 0) | (t == 0)).astype(np.float64)


class DenseProblem(andor._Problem):
    """The same LP (one table) with its operators as dense matrix products."""

    def __init__(self, vs, taus, **kwargs):
        super().__init__(vs, taus, **kwargs)
        self.zeta, self.r = dense_operators(self.n)
        self.r[:, ~np.asarray(self.y_free)] = 0.0

    def forward(self, z):
        x, y, _ = self.parts(z)
        return x @ self.zeta.T + y @ self.r.T

    def adjoint(self, w):
        return np.concatenate([w @ self.zeta, w @ self.r])


def measured(fn):
    tracemalloc.start()
    start = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return out, seconds, peak


def lp_optimum(v, tau):
    from scipy.optimize import linprog

    n = v.size.bit_length() - 1
    zeta, r = dense_operators(n)
    free = np.bitwise_count(np.arange(1 << n)) >= 2
    a = np.hstack([zeta, r[:, free]])
    res = linprog(np.ones(2 * a.shape[1]), A_ub=np.vstack([np.hstack([a, -a]), np.hstack([-a, a])]),
                  b_ub=np.concatenate([v + tau, tau - v]), bounds=(0, None), method="highs")
    return res.fun


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ns", type=int, nargs="+", default=[8, 10, 12, 14, 16])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--tol", type=float, default=1e-3)
    parser.add_argument("--max-iter", type=int, default=20_000)
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--dense-max", type=float, default=2.0, help="GiB for the two dense matrices")
    parser.add_argument("--lp-max", type=int, default=8)
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, "
          f"device {args.device}, torch {torch.__version__}; tol {args.tol}, time limit {args.time_limit} s")
    print(f"{'n':>3} {'ours s':>8} {'its':>6} {'peak MiB':>8} {'L1 before':>10} {'L1':>10} {'gap':>8} "
          f"{'dense s':>8} {'dense MiB':>9} {'dense L1':>10} {'LP L1':>10} {'ours/LP-1':>9}")
    model, X = trained_mlp()
    for n in args.ns:
        game = Game.tabular(model, X[0], players=[[i] for i in range(n)], baseline="mean", background=X,
                            device=args.device)
        table = game.evaluate(progress=False)
        v = table.data
        run = dict(tol=args.tol, max_iter=args.max_iter, time_limit=args.time_limit, progress=False)
        concepts, seconds, peak = measured(lambda: ValueTable(v).and_or(**run))
        line = (f"{n:>3} {seconds:>8.2f} {concepts.solver.iterations:>6} {peak / 2**20:>8.1f} "
                f"{concepts.l1_before:>10.4f} {concepts.l1_after:>10.4f} {concepts.solver.gap:>8.2e}")
        if 2 * 8 * 4 ** n <= args.dense_max * 2**30 and args.device == "cpu":
            original = andor._Problem
            andor._Problem = DenseProblem
            try:
                dense, d_seconds, d_peak = measured(lambda: ValueTable(v).and_or(**run))
            finally:
                andor._Problem = original
            line += f" {d_seconds:>8.2f} {d_peak / 2**20:>9.1f} {dense.l1_after:>10.4f}"
        else:
            line += f" {'-':>8} {'-':>9} {'-':>10}"
        if n <= args.lp_max:
            optimum = lp_optimum(table.values, concepts.tau)
            line += f" {optimum:>10.4f} {concepts.l1_after / optimum - 1:>9.2e}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
