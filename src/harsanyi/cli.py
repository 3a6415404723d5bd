"""The ``harsanyi`` command line."""

from __future__ import annotations

import argparse
import contextlib
import re
import sys
import warnings
from pathlib import Path

import numpy as np

__all__ = ["main"]

# Breast cancer (scikit-learn's bundled copy of the UCI WDBC data): 30 features = 10 cell-nucleus measurements × (mean,
# standard error, worst). A player is a measurement (its mean and worst values together), plus the standard errors in
# four groups: 14 players, 2^14 = 16,384 masked inputs.
MEASUREMENTS = ["radius", "texture", "perimeter", "area", "smoothness", "compactness", "concavity",
                "concave points", "symmetry", "fractal dimension"]
ERROR_GROUPS = {
    "size errors": ["radius error", "perimeter error", "area error"],
    "texture/smoothness errors": ["texture error", "smoothness error"],
    "shape errors": ["compactness error", "concavity error", "concave points error"],
    "symmetry/fractal errors": ["symmetry error", "fractal dimension error"],
}


def _demo_players() -> dict[str, list[str]]:
    players = {m: [f"mean {m}", f"worst {m}"] for m in MEASUREMENTS}
    players.update(ERROR_GROUPS)
    return players


def train_demo_model(seed: int = 0):
    """A 30 → 32 → 32 → 2 torch MLP trained on standardised breast-cancer data (a few seconds on a CPU)."""
    import torch
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    data = load_breast_cancer()
    X_train, X_test, y_train, y_test = train_test_split(data.data, data.target, test_size=0.25, random_state=seed,
                                                        stratify=data.target)
    mean, std = X_train.mean(0), X_train.std(0)
    X_train, X_test = (X_train - mean) / std, (X_test - mean) / std
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(30, 32), torch.nn.ReLU(), torch.nn.Linear(32, 32), torch.nn.ReLU(),
                                torch.nn.Linear(32, 2))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2, weight_decay=1e-4)
    Xt, yt = torch.tensor(X_train, dtype=torch.float32), torch.tensor(y_train)
    for _ in range(300):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(Xt), yt).backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        accuracy = (model(torch.tensor(X_test, dtype=torch.float32)).argmax(1).numpy() == y_test).mean()
    return model, X_train, X_test, y_test, list(data.feature_names), list(data.target_names), float(accuracy)


def _fmt_coalition(coalition) -> str:
    return "{" + ", ".join(coalition) + "}" if coalition else "∅"


def demo(args) -> int:
    from . import Game
    from ._cli_explain import check_writable
    from .exceptions import HarsanyiValueError

    check_writable(Path(args.out_dir), "--out-dir", folder=True)  # before the training, not after the work

    print("Training a 30→32→32→2 MLP on the breast-cancer data (scikit-learn's bundled UCI WDBC) …")
    model, X_train, X_test, y_test, features, classes, accuracy = train_demo_model(args.seed)
    print(f"  test accuracy {accuracy:.3f} on {len(y_test)} held-out tumours\n")
    i = args.index
    if i >= len(y_test):
        raise HarsanyiValueError(f"--index {i} is out of range: the test split has tumours 0 … {len(y_test) - 1}.")
    game = Game.tabular(model, X_test[i], feature_names=features, players=_demo_players(), baseline="mean",
                        background=X_train, output="log-odds")
    n = game.n_players
    target = game.info["target"]
    print(f"Explaining test tumour #{i} (true class: {classes[y_test[i]]}); the model predicts '{classes[target]}'.")
    print(f"  players: {n} groups of features; absent players take the training mean; v(S) = log-odds of "
          f"'{classes[target]}'.")
    table = game.evaluate(batch_size=args.batch_size, progress=True)
    print(f"  evaluated all 2^{n} = {len(table):,} masked inputs: v(∅) = {table.v_empty:.3f}, "
          f"v(N) = {table.v_full:.3f}\n")

    dividends = table.harsanyi()
    print("Top Harsanyi (AND) concepts — the model's output on every masked input is the sum of the concepts it contains:")
    for coalition, value in dividends.top(args.top):
        print(f"  {value:+9.4f}  {_fmt_coalition(coalition)}")
    print("\nShapley values (they sum to v(N) − v(∅)):")
    phi = table.shapley()
    for j in np.argsort(-np.abs(phi))[: args.top]:
        print(f"  {phi[j]:+9.4f}  {table.player_names[j]}")
    pairs = table.index("k-SII", 2)
    print("\nStrongest pairwise interactions (2-SII):")
    for coalition, value in pairs.top(args.top, order=2):
        print(f"  {value:+9.4f}  {_fmt_coalition(coalition)}")

    cert = dividends.certificate
    salient = int((np.abs(dividends.values[1:]) >= 0.05 * np.abs(dividends.values[1:]).max()).sum())
    print("\nCertificate:")
    print(f"  The {len(table):,} Harsanyi dividends reproduce the model's log-odds on all {len(table):,} masked inputs "
          f"to within {cert.residual:.1e} ({cert.relative_residual:.1e} of |v(N) − v(∅)| = {cert.scale:.3f}); "
          f"{'PASSED' if cert.passed else 'FAILED'}.")
    eff = pairs.certificate.check("efficiency (k-SII)")
    print(f"  Shapley values and 2-SII are exact (no sampling); 2-SII efficiency gap {eff.residual:.1e}.")
    print(f"  {salient:,} of {len(table) - 1:,} non-empty concepts have |I| ≥ 5 % of the largest.")

    from . import explain
    from ._andor import bound_in_words
    from .report import write_report

    print(f"\nAND-OR concepts (at most {args.time_limit:g} s) and the report …")
    explanation = explain(game, table=table, time_limit=args.time_limit, progress=False)
    print(f"  {explanation.certificate_sentence()}")
    solver = explanation.solver
    print(f"  L1 of the concepts {explanation.l1_after:,.4g} (plain Harsanyi dividends: {explanation.l1_before:,.4g}): "
          f"{bound_in_words(solver['gap'])}; {solver['method']}, {solver['seconds']:.1f} s.")
    out = Path(args.out_dir)
    result = explanation.save(out / "demo.npz")
    report = write_report(explanation, out / "demo.html", title=f"harsanyi demo: breast-cancer tumour #{i}")
    print(f"  result: {result}\n  report: {report.resolve()}")
    return 0 if cert.passed and explanation.andor_certificate.passed else 1


def build_parser() -> argparse.ArgumentParser:
    from ._cli_explain import add_explain_commands, count, seconds

    parser = argparse.ArgumentParser(
        prog="harsanyi",
        description="Exact, certified interaction explanations of a model: Harsanyi dividends (AND concepts), "
        "AND-OR concepts, Shapley values and interaction indices computed from all 2^n masked inputs. "
        "Commands: demo (a bundled example), explain (your model and input → result + HTML report), "
        "report (a saved result → HTML).",
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"harsanyi {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    d = sub.add_parser(
        "demo",
        help="train a small MLP on a bundled dataset and explain one prediction exactly",
        description="Trains a torch MLP on scikit-learn's breast-cancer data in seconds, explains one test "
        "prediction with 14 players (groups of features) over all 16,384 masked inputs, and prints the prediction, "
        "top Harsanyi concepts, Shapley values, top 2-SII pairs and the certificate.",
    )
    d.add_argument("--index", type=count(3, least=0), default=0, help="which test tumour to explain (default 0)")
    d.add_argument("--seed", type=int, default=0, help="seed of the split and the training (default 0)")
    d.add_argument("--top", type=count(8), default=8, help="how many concepts / players / pairs to print (default 8)")
    d.add_argument("--batch-size", type=count(256), default=None, help="masked inputs per model call (default: auto)")
    d.add_argument("--time-limit", type=seconds, default=15.0, help="seconds for the AND-OR solver (default 15)")
    d.add_argument("--out-dir", default="harsanyi-demo", help="where the result and the report go")
    d.set_defaults(func=demo)
    add_explain_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    if args.command == "demo":
        try:
            import torch  # noqa: F401
            import sklearn  # noqa: F401
        except ImportError:
            print("harsanyi demo needs torch and scikit-learn: pip install 'harsanyi[demo]'", file=sys.stderr)
            return 2
    from .exceptions import HarsanyiError

    try:
        with _plain_warnings(f"harsanyi {args.command}"):
            return args.func(args)
    except HarsanyiError as err:
        print(f"harsanyi {args.command}: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # a full disk, a path that cannot be written after all: one line, not a traceback
        where = f" at {str(err.filename)!r}" if err.filename else ""
        print(f"harsanyi {args.command}: the file system refused{where}: {err.strerror or err}. Check the path, its "
              f"permissions and the free space; no file was half-written.", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\nharsanyi {args.command}: interrupted; no result file was written. With --cache, run the same "
              f"command again to resume.", file=sys.stderr)
        return 130


@contextlib.contextmanager
def _plain_warnings(prefix: str):
    """Warnings as plain lines on stderr, ``PREFIX: warning: TEXT``, not Python's file, line and source line; a
    warning that differs from one shown before only in its numbers (the same warning on another row of --rows) is
    counted, not shown again, and the count is said at the end. Written through tqdm, so a progress bar stays
    whole."""
    from tqdm.auto import tqdm

    shown: dict[tuple, list] = {}  # the warning's kind and text without its numbers → [its first text, repeats]

    def show(message, category, filename, lineno, file=None, line=None):
        text = str(message)
        key = (category, re.sub(r"\d[\d,.]*", "#", text))
        if key in shown:
            shown[key][1] += 1
            return
        shown[key] = [text, 0]
        tqdm.write(f"{prefix}: warning: {text}", file=sys.stderr)

    saved = warnings.showwarning
    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = saved
        for first, more in shown.values():
            if more:
                start = first if len(first) <= 60 else first[:60].rsplit(" ", 1)[0] + " …"
                print(f"{prefix}: the warning \"{start}\" came {more} more time{'s' if more > 1 else ''}, with "
                      f"other numbers", file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
