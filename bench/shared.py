"""Concepts shared by several models: shared_concepts with HiGHS (exact, n ≤ 10), the splitting, "auto" (beyond
n = 8: the splitting, then HiGHS's simplex over its concepts) and restarted PDHG on the same tables.

    python bench/shared.py                 # three MLPs trained with seeds 0, 1, 2; n = 8, 10, 12 and 14
    python bench/shared.py --ns 8 --time-limit 30 --methods highs splitting

Models: 30 → 32 → 2 MLPs trained for 200 Adam steps on scikit-learn's breast cancer data (seeds 0 … K−1), or with
--family scikit-learn's MLPClassifier (32 hidden), GradientBoostingClassifier (subsample 0.8) or
RandomForestClassifier (100 trees, leaves of ≥ 5 samples); the first n features are the players, the baseline is
the training mean, v = log-odds of the predicted class, one row (--row, 0).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from sklearn.datasets import load_breast_cancer

from harsanyi import Game, _andor, shared_concepts


def _torch_mlp(X, y, seed: int):
    xt, yt = torch.tensor(X, dtype=torch.float32), torch.tensor(y)
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(30, 32), torch.nn.ReLU(), torch.nn.Linear(32, 2))
    opt = torch.optim.Adam(model.parameters(), 1e-2)
    for _ in range(200):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(xt), yt).backward()
        opt.step()
    return model.eval()


def _sklearn_mlp(X, y, seed: int):
    from sklearn.neural_network import MLPClassifier

    return MLPClassifier((32,), max_iter=300, random_state=seed).fit(X, y)


def _gbm(X, y, seed: int):
    from sklearn.ensemble import GradientBoostingClassifier

    return GradientBoostingClassifier(n_estimators=100, subsample=0.8, random_state=seed).fit(X, y)


def _forest(X, y, seed: int):
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(n_estimators=100, min_samples_leaf=5, random_state=seed).fit(X, y)


FAMILIES = {"torch-mlp": _torch_mlp, "sklearn-mlp": _sklearn_mlp, "gbm": _gbm, "forest": _forest}


def tables(n: int, k: int, family: str = "torch-mlp", row: int = 0):
    X, y = load_breast_cancer(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    out = []
    for seed in range(k):
        model = FAMILIES[family](X, y, seed)
        game = Game.tabular(model, X[row], players=[[i] for i in range(n)], baseline="mean", background=X)
        out.append(game.evaluate(progress=False))
    return out


def used(result) -> int:
    """The concepts (AND and OR, all models) above 1e-9 of the largest: how sparse the decomposition is."""
    parts = [part.values for c in result.concepts for part in (c.and_, c.or_)]
    top = max(float(np.abs(part).max()) for part in parts)
    return sum(int((np.abs(part) > 1e-9 * top).sum()) for part in parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ns", type=int, nargs="+", default=[8, 10, 12, 14])
    parser.add_argument("--models", type=int, default=3)
    parser.add_argument("--family", default="torch-mlp", choices=sorted(FAMILIES),
                        help="the models: torch MLPs (default), scikit-learn MLPs, gradient boosting or random "
                             "forests, seeds 0 … K−1")
    parser.add_argument("--row", type=int, default=0, help="the explained row of the data")
    parser.add_argument("--methods", nargs="+", default=["highs", "splitting", "auto", "pdhg"],
                        choices=["highs", "splitting", "auto", "pdhg"], help="HiGHS runs only for n ≤ 10")
    parser.add_argument("--time-limit", type=float, default=60.0, help="for the splitting and PDHG (HiGHS runs "
                                                                       "to the end); 0: none (then the first-order "
                                                                       "methods stop at the 1e-3 gap or 20 000 "
                                                                       "iterations)")
    parser.add_argument("--bound-share", type=float, default=None,
                        help="auto's SHARED_BOUND_SHARE for this run (default: the library's): 1 polishes from the "
                             "1e-2 point wherever the time allows, -1 never (the splitting runs to the 1e-3 gap first)")
    args = parser.parse_args()
    if args.bound_share is not None:
        _andor.SHARED_BOUND_SHARE = args.bound_share
    print(f"{'n':>3} {'method':>9} {'s':>7} {'iterations':>10} {'L1':>10} {'lower':>10} {'gap':>9} {'in all':>6} "
          f"{'overlap':>7} {'concepts':>8}")
    for n in args.ns:
        ts = tables(n, args.models, args.family, args.row)
        for method in [m for m in args.methods if m != "highs" or n <= 10]:
            start = time.perf_counter()
            result = shared_concepts(ts, method=method, compare=False, progress=False,
                                     time_limit=None if method == "highs" or args.time_limit <= 0
                                     else args.time_limit)
            s = result.solver
            print(f"{n:>3} {method:>9} {time.perf_counter() - start:>7.1f} {s.iterations:>10,} {s.l1:>10.3f} "
                  f"{s.lower_bound:>10.3f} {s.gap:>9.2e} {len(result.shared):>6} {result.overlap:>7.2f} "
                  f"{used(result):>8,}", flush=True)


if __name__ == "__main__":
    main()
