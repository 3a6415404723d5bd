"""AND-OR benchmark: time, peak memory and final L1 of ``ValueTable.and_or`` against a dense-matrix implementation.

    python bench/andor.py                          # n = 8 … 16 on the CPU
    python bench/andor.py --ns 18 20 --device cuda # larger n on a GPU (when one is lent)
    python bench/andor.py --ns 16 --first-order splitting --ws-max 0 --lp-max 0 --dense-max 0  # one column

Games: a torch MLP (30 → 32 → 2) trained for a second on scikit-learn's breast cancer data; the first n features are
the players, the baseline is the training mean, v = log-odds of the predicted class (one test row). Columns:
  method    one line per first-order method of --first-order, each with tol and a time limit:
            splitting = and_or(method="splitting"), restarted Halpern Peaceman–Rachford over exact graph projections;
            pdhg = and_or(method="pdhg"), restarted Halpern PDHG; both over fast transforms
  L1        its final L1; before = the L1 of the plain Harsanyi dividends
  gap       its certified optimality gap (L1 − dual lower bound) / L1
  dense     (pdhg lines) the same algorithm with K̃ and μ as dense 2ⁿ×2ⁿ matrices (as the papers' code builds its
            transforms), run while they fit in --dense-max GiB: same iterates, same L1; only time and memory differ
  ws        and_or(method="working-set"): the LP on a working set of coalitions and concepts (column-and-row
            generation with highspy), same tol and time limit: its time, L1 and certified gap
  LP        the exact optimum, and_or(method="highs") (scipy HiGHS on the sparse LP, n ≤ --lp-max; what the default
            method="auto" runs up to n = 10): its time, its L1, and the last first-order L1 / LP − 1
Peak memory is tracemalloc's peak of NumPy allocations in a separate 64-iteration run (CPU; tracing slows the
solvers, so the timed runs are not traced), torch's peak on a GPU.
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
    """K̃ (rows ∅ zeroed, columns of < 2 players zeroed) and μ as dense 2ⁿ×2ⁿ matrices."""
    s = np.arange(1 << n)[:, None]
    t = np.arange(1 << n)[None, :]
    pop = np.bitwise_count(np.arange(1 << n)).astype(np.int64)
    k = np.where((s & t) == s, np.where(pop[:, None] % 2 == 0, 1.0, -1.0), 0.0)  # (−1)^{|S|} [S ⊆ T]
    k[0, :] = 0.0
    k[:, pop < 2] = 0.0
    mu = np.where((s & t) == t, np.where((pop[:, None] - pop[None, :]) % 2 == 0, 1.0, -1.0), 0.0)
    return k, mu


class DenseProblem(andor._DividendProblem):
    """The same LP with its operators as dense matrix products."""

    def __init__(self, v, tau):
        super().__init__(v, tau)
        self.k, self.mu = dense_operators(self.n)

    def forward(self, y, e):
        return self.k @ y + self.mu @ e

    def adjoint(self, w):
        return w @ self.k, w @ self.mu


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def peak_of(fn):
    """tracemalloc's peak of NumPy allocations during fn(), in a run of its own: tracing every allocation slowed a
    solver that allocated a few dozen tables a step (PDHG; the splitting before it kept its tables) by up to 3×, so
    the timed runs are not traced."""
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ns", type=int, nargs="+", default=[8, 10, 12, 14, 16])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--tol", type=float, default=1e-3)
    parser.add_argument("--max-iter", type=int, default=None, help="default: the library's, no cap but --time-limit")
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--dense-max", type=float, default=2.0, help="GiB for the two dense matrices")
    parser.add_argument("--lp-max", type=int, default=12)
    parser.add_argument("--ws-max", type=int, default=16, help="largest n for the working-set column (CPU)")
    parser.add_argument("--first-order", nargs="+", default=["pdhg", "splitting"], choices=["splitting", "pdhg"])
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, "
          f"device {args.device}, torch {torch.__version__}; tol {args.tol}, time limit {args.time_limit} s")
    print(f"{'n':>3} {'method':>9} {'s':>8} {'its':>6} {'peak MiB':>8} {'L1 before':>10} {'L1':>10} {'gap':>8} "
          f"{'dense s':>8} {'dense MiB':>9} {'dense L1':>10} {'ws s':>7} {'ws L1':>10} {'ws gap':>8} {'LP s':>7} "
          f"{'LP L1':>10} {'ours/LP-1':>9}")
    model, X = trained_mlp()
    for n in args.ns:
        game = Game.tabular(model, X[0], players=[[i] for i in range(n)], baseline="mean", background=X,
                            device=args.device)
        table = game.evaluate(progress=False)
        v = table.data if args.device == "cpu" else torch.as_tensor(table.values, device=args.device)  # solve there
        for method in args.first_order:
            run = dict(tol=args.tol, max_iter=args.max_iter, time_limit=args.time_limit, progress=False, method=method)
            if args.device.startswith("cuda"):
                torch.cuda.reset_peak_memory_stats()
            concepts, seconds = timed(lambda: ValueTable(v).and_or(**run))
            if args.device.startswith("cuda"):
                peak = torch.cuda.max_memory_allocated()
            else:  # memory does not grow with the iterations: 64 of them show the peak
                peak = peak_of(lambda: ValueTable(v).and_or(**{**run, "max_iter": 64, "time_limit": None}))
            line = (f"{n:>3} {method:>9} {seconds:>8.2f} {concepts.solver.iterations:>6} {peak / 2**20:>8.1f} "
                    f"{concepts.l1_before:>10.4f} {concepts.l1_after:>10.4f} {concepts.solver.gap:>8.2e}")
            if method == "pdhg" and 2 * 8 * 4 ** n <= args.dense_max * 2**30 and args.device == "cpu":
                original = andor._DividendProblem
                andor._DividendProblem = DenseProblem
                try:
                    dense, d_seconds = timed(lambda: ValueTable(v).and_or(**run))
                    d_peak = peak_of(lambda: ValueTable(v).and_or(**{**run, "max_iter": 64, "time_limit": None}))
                finally:
                    andor._DividendProblem = original
                line += f" {d_seconds:>8.2f} {d_peak / 2**20:>9.1f} {dense.l1_after:>10.4f}"
            else:
                line += f" {'-':>8} {'-':>9} {'-':>10}"
            if method != args.first_order[-1]:
                print(line, flush=True)
        if args.device == "cpu" and n <= args.ws_max:
            ws, ws_seconds = timed(lambda: ValueTable(v).and_or(**{**run, "method": "working-set"}))
            line += f" {ws_seconds:>7.2f} {ws.l1_after:>10.4f} {ws.solver.gap:>8.2e}"
        else:
            line += f" {'-':>7} {'-':>10} {'-':>8}"
        if n <= args.lp_max:
            exact, lp_seconds = timed(lambda: ValueTable(table.values).and_or(method="highs"))
            optimum = exact.l1_after
            line += f" {lp_seconds:>7.2f} {optimum:>10.4f} {concepts.l1_after / optimum - 1:>9.2e}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
