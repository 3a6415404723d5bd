"""Exact pipeline benchmark: the same MLP game timed for harsanyi, the bare model, shapiq and shap, in one process.

    python bench/exact.py                     # n = 8 … 20, peers capped at --cap seconds each
    python bench/exact.py --ns 24 --no-peers  # memory at n = 24 (peak RSS of this process)
    python bench/exact.py --device cuda       # GPU path (when a GPU is lent)

Game: an MLP n → 64 → 64 → 1 (float32, seeded), zero baseline, v(S) = raw output on x_S. Columns:
  bare     the model alone on all 2ⁿ masked inputs (inputs pre-built, same batch size); best of --repeat
  ours     Game.evaluate + Harsanyi dividends (certified) + Shapley values + k-SII of order 2; best of --repeat
  ours/bare  the median over --repeat back-to-back (bare, ours) pairs of their ratio
  idx≤3    every index (SII, BII, STII, FSII, FBII, k-SII) of order 3 from the evaluated table
  sq-Möb   shapiq ExactComputer's Moebius, and its ratio to our Möbius + certificate from the same table
  sq-kSII  shapiq's k-SII of order 2, and its ratio to ours from the same table (skipped once past --cap)
  shap     shap.explainers.Exact Shapley values with one background row (skipped likewise)
"""

from __future__ import annotations

import argparse
import platform
import resource
import time
import warnings

import numpy as np
import torch

from harsanyi import Game


def make_model(n: int, device: str):
    torch.manual_seed(n)
    return torch.nn.Sequential(torch.nn.Linear(n, 64), torch.nn.ReLU(), torch.nn.Linear(64, 64), torch.nn.ReLU(),
                               torch.nn.Linear(64, 1)).to(device).eval()


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def bare_model(model, x, n, batch, device):
    """Time only the forward passes over all 2ⁿ masked inputs (the masks are built beforehand)."""
    idx = torch.arange(1 << n, device=device)
    inputs = ((idx[:, None] >> torch.arange(n, device=device)) & 1).float() * x  # (2^n, n), zero baseline
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    with torch.no_grad():
        out = [model(inputs[i:i + batch]).double().cpu() for i in range(0, 1 << n, batch)]
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start, torch.cat(out)[:, 0].numpy()


def ours(model, x, n, batch, device):
    game = Game.tabular(model, x, baseline="zero", output="raw", device=device)
    table = game.evaluate(batch_size=batch, progress=False)
    dividends = table.harsanyi()
    phi = table.shapley()
    ksii = table.index("k-SII", 2)
    return table, dividends, phi, ksii


def run_peers(table, n, x, model, cap, state):
    v = table.values

    def game_fn(coalitions):
        return v[(np.asarray(coalitions, dtype=np.int64) << np.arange(n)).sum(axis=1)]

    results = {}
    if not state.get("shapiq_over"):
        from shapiq.game_theory.exact import ExactComputer

        ec = ExactComputer(game_fn, n_players=n)
        t_eval, _ = timed(ec._evaluate_game)  # shapiq's own pass over the 2^n table, kept out of its index timings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t_moeb, moeb = timed(lambda: ec("Moebius", n))
            t_ksii, ksii = timed(lambda: ec("k-SII", 2))
            t_sv, sv = timed(lambda: ec("SV", 1))
        results["shapiq"] = (t_moeb, t_ksii, t_sv, moeb, ksii, sv)
        state["shapiq_over"] = t_moeb + t_ksii + t_sv > cap
    if not state.get("shap_over"):
        import shap

        w = [p.detach().cpu().double().numpy() for p in model.parameters()]

        def f(X):
            h = np.maximum(X @ w[0].T + w[1], 0)
            h = np.maximum(h @ w[2].T + w[3], 0)
            return (h @ w[4].T + w[5])[:, 0]

        explainer = shap.explainers.Exact(f, shap.maskers.Independent(np.zeros((1, n)), max_samples=1))
        if not state.get("shap_warm"):  # the first call compiles shap's numba kernels; keep that out of the timing
            explainer(x[None, :], silent=True, max_evals=(1 << n) + 2)
            state["shap_warm"] = True
        t, sv = timed(lambda: explainer(x[None, :], silent=True, max_evals=(1 << n) + 2).values[0])
        results["shap"] = (t, sv)
        state["shap_over"] = t > cap
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ns", type=int, nargs="+", default=list(range(8, 21, 2)))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch", type=int, default=1 << 16)
    parser.add_argument("--cap", type=float, default=120.0, help="stop running a peer after a run longer than this")
    parser.add_argument("--no-peers", action="store_true")
    parser.add_argument("--repeat", type=int, default=7, help="runs of bare and ours, alternating")
    args = parser.parse_args()
    torch.set_num_threads(torch.get_num_threads())
    print(f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, "
          f"device {args.device}, torch {torch.__version__}")
    print(f"{'n':>3} {'2^n':>9} {'bare s':>8} {'ours s':>8} {'ours/bare':>9} {'idx<=3 s':>8} {'sq-Möb s':>9} "
          f"{'vs ours':>10} {'sq-kSII s':>9} {'vs ours':>10} {'shap s':>8} {'shap/ours':>9}  check")
    state: dict = {}
    for n in args.ns:
        model = make_model(n, args.device)
        x = np.linspace(-1.0, 1.0, n)
        batch = min(args.batch, 1 << n)
        xt = torch.tensor(x, dtype=torch.float32, device=args.device)
        # bare and ours alternate, so a slow spell of the machine hits both; the ratio is the median of the pairs
        pairs = [(bare_model(model, xt, n, batch, args.device), timed(lambda: ours(model, x, n, batch, args.device)))
                 for _ in range(args.repeat)]
        bare_t, bare_v = min((p[0] for p in pairs), key=lambda r: r[0])
        ours_t, (table, dividends, phi, ksii) = min((p[1] for p in pairs), key=lambda r: r[0])
        ratio = float(np.median([o[0] / b[0] for b, o in pairs]))
        assert np.allclose(table.values, bare_v, rtol=1e-5, atol=1e-5)
        idx_t, _ = timed(lambda: [table.index(name, 3) for name in ("SII", "BII", "STII", "FSII", "FBII", "k-SII")])
        fresh = type(table)(table.values)
        moeb_t, _ = timed(fresh.harsanyi)  # Möbius transform + its certificate, from the table
        ksii_t, _ = timed(lambda: fresh.index("k-SII", 2))
        line = (f"{n:>3} {1 << n:>9,} {bare_t:>8.3f} {ours_t:>8.3f} {ratio:>9.2f} {idx_t:>8.3f}")
        check = f"residual {dividends.certificate.residual:.1e}"
        peers = {} if args.no_peers else run_peers(table, n, x, model, args.cap, state)
        if "shapiq" in peers:
            t_moeb, t_ksii, t_sv, moeb, ksii_ref, sv_ref = peers["shapiq"]
            err = max(abs(ksii[c] - ksii_ref.values[p]) for c, p in ksii_ref.interaction_lookup.items())
            line += f" {t_moeb:>9.2f} {t_moeb / moeb_t:>9.0f}x {t_ksii:>9.2f} {t_ksii / ksii_t:>9.0f}x"
            check += f", |k-SII − shapiq| {err:.1e}"
        else:
            line += f" {'-':>9} {'-':>10} {'-':>9} {'-':>10}"
        if "shap" in peers:
            t, sv = peers["shap"]
            line += f" {t:>8.2f} {t / ours_t:>9.0f}"
            check += f", |SV − shap| {np.abs(sv - phi).max():.1e}"
        else:
            line += f" {'-':>8} {'-':>9}"
        print(line + "  " + check, flush=True)
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB")


if __name__ == "__main__":
    main()
