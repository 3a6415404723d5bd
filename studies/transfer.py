"""Do a trained network's concepts recur across inputs, keep their sign, and reappear in other trained networks?

The sparsity study (studies/sparsity.py) asks whether one input's explanation is sparse. The lab's claim that the
concepts are *symbolic* (Li & Zhang, ICML 2023) says more: on the inputs of one class the same few concepts recur
(a small dictionary explains new inputs), each pushes the output the same way wherever it appears, and networks
trained from other seeds use the same ones. This study tests those three statements against untrained networks of
the same architecture, for the two modalities whose players mean the same on every input:

    python studies/transfer.py                        # 2 modalities × 3 seeds × 2 classes × 50 inputs, both models
    python studies/transfer.py --inputs 10 --seeds 2  # a quick look

  tabular  UCI adult, the MLP and 8 attributes of studies/sparsity.py; classes: income ≤ 50K and > 50K
  image    MNIST 5k, the CNN and 8 central cells of a 7 × 7 grid of studies/sparsity.py; classes: digits 0 and 1
Text is left out: the words of different sentences are different players.

Per input the AND-OR concepts (qthres 0.02, the exact LP at n = 8) and the plain Harsanyi dividends of
v = log-odds of the input's true class; concepts are salient at |I| ≥ κ · max (κ = 0.05). Per modality × model:

  coverage   ρ(k): the dictionary of the k most frequent concepts of the first half of a class's inputs, measured on
             the second half (held out), on the first half itself (in-sample), and on the held-out inputs of the
             other class (is the dictionary specific to its class?); mean of the per-input shares, 95 % bootstrap CI
             and the ceiling, what a dictionary holding each held-out input's own concepts would reach: mean of
             min(k, |Ω_x|) / |Ω_x| (a model with many salient concepts cannot reach a high ρ(10))
  β          discrimination power, the frequency-weighted mean of max(m⁺, m⁻) / (m⁺ + m⁻) (1: every concept always
             pushes the same way); mean over seeds × classes, with its range, and what random signs would give
  agreement  γ = |Ω¹ ∩ Ω²| / |Ω¹| between two seeds on the same inputs, and its lift over a random set of concepts

Outputs (in --out, default studies/results/transfer): one .npz of concepts per modality × model × seed × class (the
run resumes from them; 7 MB in all, so not kept in git: four minutes on two cores make them again), transfer.csv,
transfer.png; docs/findings.md says what they show.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from sparsity import IMAGE_CELLS, TABULAR_PLAYERS, _mnist_cnn, bootstrap_ci  # noqa: E402  (a script beside this one)

from harsanyi import Game, concept_statistics, zoo  # noqa: E402

CLASSES = {"tabular": (0, 1), "image": (0, 1)}
KINDS = ("andor", "dividends")
K_CURVE = 30  # the coverage curve is drawn for k = 1 … 30
K_TABLE = (5, 10, 20)


def tabular_model(seed: int, trained: bool):
    """The model of one seed, and a function giving the games of the first inputs of a class."""
    train, test = zoo.adult("train"), zoo.adult("test")
    model = zoo.train_mlp(train["X"], train["y"], seed=seed, steps=200 if trained else 0)
    players = {name: train["players"][name] for name in TABULAR_PLAYERS[8]}

    def games(label: int, inputs: int):
        return [Game.tabular(model, test["X"][i], players=players, baseline="mean", background=train["X"],
                             target=label) for i in np.flatnonzero(test["y"] == label)[:inputs]]
    return games


def image_model(seed: int, trained: bool):
    X, y = zoo.mnist()
    shuffled = np.random.default_rng(1234).permutation(len(X))  # the split of studies/sparsity.py
    train_idx, test_idx = shuffled[:4000], shuffled[4000:]
    cnn = _mnist_cnn(seed, trained, X[train_idx], y[train_idx])
    blank = np.full((1, 28, 28), (0.0 - 0.1307) / 0.3081, dtype=np.float32)

    def games(label: int, inputs: int):
        return [Game.image(cnn, X[i], grid=(7, 7), cells=IMAGE_CELLS[8], baseline=blank, target=label)
                for i in test_idx[y[test_idx] == label][:inputs]]
    return games


MODELS = {"tabular": tabular_model, "image": image_model}


def explain_cell(path: Path, games) -> None:
    """The concepts of every input of one cell, written at once (a half-written cell is never left behind)."""
    and_, or_, dividends, gaps = [], [], [], []
    for game in games:
        table = game.evaluate(progress=False)
        concepts = table.and_or(progress=False)
        and_.append(concepts.and_.values)
        or_.append(concepts.or_.values)
        dividends.append(table.harsanyi().values)
        gaps.append(concepts.solver.gap)
    partial = path.with_suffix(".partial.npz")
    np.savez(partial, and_=np.array(and_), or_=np.array(or_), dividends=np.array(dividends), gap=np.array(gaps))
    partial.replace(path)


def load_cell(path: Path, kind: str):
    data = np.load(path)
    if kind == "andor":
        return list(zip(data["and_"], data["or_"]))
    return [(d, None) for d in data["dividends"]]


def analyse(out: Path, modalities, seeds: int, inputs: int, kappa: float) -> list[dict]:
    half = inputs // 2
    rows, curves = [], {}
    for modality, model, kind in itertools.product(modalities, ("trained", "untrained"), KINDS):
        cells = {(seed, label): load_cell(out / f"{modality}_{model}_{seed}_{label}.npz", kind)
                 for seed in range(seeds) for label in CLASSES[modality]}
        held, inside, other, betas, beta_chances, ceilings = [], [], [], [], [], []
        for (seed, label), results in cells.items():
            first = concept_statistics(results[:half], kappa=kappa)
            rest = concept_statistics(results[half:], kappa=kappa)
            other_label = next(c for c in CLASSES[modality] if c != label)
            foreign = concept_statistics(cells[(seed, other_label)][half:], kappa=kappa)
            held.append(first.coverage(K_CURVE, on=rest, per_input=True))
            inside.append(first.coverage(K_CURVE, per_input=True))
            other.append(first.coverage(K_CURVE, on=foreign, per_input=True))
            discrimination = concept_statistics(results, kappa=kappa).discrimination_by_frequency()
            betas.append(discrimination["weighted"])
            beta_chances.append(discrimination["weighted_chance"])
            ceilings.append(rest.ceiling(K_CURVE) * np.count_nonzero(rest.salient_counts))
        shares, chances = [], []
        for label in CLASSES[modality]:
            stats = {seed: concept_statistics(cells[(seed, label)], kappa=kappa) for seed in range(seeds)}
            for a, b in itertools.permutations(range(seeds), 2):
                agreement = stats[a].agreement(stats[b])
                shares.append(agreement.share)
                chances.append(agreement.chance)
        row = {"modality": modality, "model": model, "concepts": kind, "seeds": seeds, "inputs_per_class": inputs,
               "kappa": kappa}
        for name, parts in (("heldout", held), ("insample", inside), ("otherclass", other)):
            shares_k = np.concatenate(parts)
            shares_k = shares_k[~np.isnan(shares_k[:, 0])]
            curves[(modality, model, kind, name)] = shares_k.mean(axis=0)
            for k in K_TABLE:
                mean, lo, hi = bootstrap_ci(shares_k[:, k - 1])
                row.update({f"coverage{k}_{name}": mean, f"coverage{k}_{name}_lo": lo, f"coverage{k}_{name}_hi": hi})
        # what a dictionary holding each held-out input's own concepts would reach, over all the held-out inputs
        ceiling = np.sum(ceilings, axis=0) / sum(np.count_nonzero(~np.isnan(part[:, 0])) for part in held)
        curves[(modality, model, kind, "ceiling")] = ceiling
        for k in K_TABLE:
            row[f"coverage{k}_ceiling"] = float(ceiling[k - 1])
        row.update({"beta": float(np.mean(betas)), "beta_min": float(np.min(betas)), "beta_max": float(np.max(betas)),
                    "beta_chance": float(np.mean(beta_chances))})
        share = np.concatenate(shares)
        chance = np.concatenate(chances)[~np.isnan(share)]
        share = share[~np.isnan(share)]
        mean, lo, hi = bootstrap_ci(share)
        row.update({"agreement": mean, "agreement_lo": lo, "agreement_hi": hi,
                    "agreement_chance": float(chance.mean()), "agreement_lift": mean / float(chance.mean())})
        rows.append(row)
    with open(out / "transfer.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    plot(curves, modalities, out)
    return rows


def plot(curves: dict, modalities, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(modalities), figsize=(5.2 * len(modalities), 3.8), squeeze=False)
    k = np.arange(1, K_CURVE + 1)
    for ax, modality in zip(axes[0], modalities):
        for model, colour in (("trained", "tab:blue"), ("untrained", "tab:orange")):
            for name, style, label in (("heldout", "-", "held out"), ("otherclass", ":", "other class"),
                                       ("insample", "--", "in-sample"), ("ceiling", "-.", "ceiling")):
                ax.plot(k, curves[(modality, model, "andor", name)], style, color=colour, label=f"{model}, {label}",
                        linewidth=0.8 if name == "ceiling" else 1.5)
        ax.set(title=f"{modality}: AND-OR concepts", xlabel="dictionary size k (most frequent concepts)",
               ylabel="ρ(k): share of an input's salient concepts", ylim=(0, 1))
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "transfer.png", dpi=120)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--modalities", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--inputs", type=int, default=50, help="inputs per class (half build the dictionary)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--kappa", type=float, default=0.05)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "transfer")
    args = parser.parse_args()
    if args.inputs < 4 or args.seeds < 2:
        parser.error("Expected --inputs ≥ 4 (two halves of at least 2) and --seeds ≥ 2 (for the agreement between "
                     f"seeds); received --inputs {args.inputs} --seeds {args.seeds}.")
    args.out.mkdir(parents=True, exist_ok=True)
    for modality, seed, model in itertools.product(args.modalities, range(args.seeds), ("trained", "untrained")):
        paths = {label: args.out / f"{modality}_{model}_{seed}_{label}.npz" for label in CLASSES[modality]}
        for path in paths.values():
            if path.exists():
                with np.load(path) as data:
                    if len(data["gap"]) != args.inputs:
                        parser.error(f"{path} holds {len(data['gap'])} inputs and this run asks for {args.inputs}; "
                                     f"move the folder away or pass the same --inputs as before.")
        if all(path.exists() for path in paths.values()):
            continue
        start = time.perf_counter()
        games = MODELS[modality](seed, model == "trained")
        for label, path in paths.items():
            if not path.exists():
                explain_cell(path, games(label, args.inputs))
        seconds = time.perf_counter() - start
        print(f"{modality} {model} seed {seed}: {args.inputs} inputs of each class in {seconds:.0f} s", flush=True)
    # the analysis covers every modality whose concepts are all there, so a run of one modality keeps the other's rows
    done = [modality for modality in MODELS if all(
        (args.out / f"{modality}_{model}_{seed}_{label}.npz").exists()
        for seed, model, label in itertools.product(range(args.seeds), ("trained", "untrained"), CLASSES[modality]))]
    for row in analyse(args.out, done, args.seeds, args.inputs, args.kappa):
        print(f"{row['modality']:>8} {row['model']:>9} {row['concepts']:>9}: ρ(10) held out "
              f"{row['coverage10_heldout']:.2f} [{row['coverage10_heldout_lo']:.2f}, "
              f"{row['coverage10_heldout_hi']:.2f}], other class {row['coverage10_otherclass']:.2f}, in-sample {row['coverage10_insample']:.2f}, "
              f"ceiling {row['coverage10_ceiling']:.2f}; β {row['beta']:.2f} ({row['beta_min']:.2f}–"
              f"{row['beta_max']:.2f}; random signs {row['beta_chance']:.2f}); agreement between seeds "
              f"{row['agreement']:.2f} [{row['agreement_lo']:.2f}, {row['agreement_hi']:.2f}] "
              f"({row['agreement_lift']:.1f}× chance)")


if __name__ == "__main__":
    main()
