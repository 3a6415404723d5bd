"""Builds every picture in docs/ from the worked examples' own code (python docs/make_figures.py, ~2 minutes on a
2-core CPU). Each function below is the code its page shows; the pages include it between the markers."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from harsanyi import Game, concept_statistics, fidelity_curve, plot, zoo  # noqa: E402

FIGURES = Path(__file__).parent / "figures"


def tabular():
    # --- tabular example ---
    train, test = zoo.adult("train"), zoo.adult("test")
    model = zoo.train_mlp(train["X"], train["y"], steps=200)
    game = Game.tabular(model, test["X"][0], players=train["players"], baseline="mean", background=train["X"])
    table = game.evaluate()                                   # 2^12 = 4,096 masked inputs
    concepts = table.and_or(time_limit=20)                    # AND-OR concepts, certified
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.5))
    plot.waterfall(table.shapley(), table.v_empty, table.player_names, ax=axes[0])
    plot.concepts_bar(concepts, k=10, ax=axes[1])
    fig.tight_layout()
    fig.savefig(FIGURES / "tabular.png", dpi=90)
    fig, ax = plt.subplots(figsize=(6, 4))
    plot.fidelity([concepts.fidelity_curve(), fidelity_curve(table.values, table.harsanyi().values)],
                  ["AND-OR concepts", "Harsanyi dividends"], ax=ax)
    fig.savefig(FIGURES / "tabular_fidelity.png", dpi=90, bbox_inches="tight")
    # --- end ---
    return concepts


def image():
    # --- image example ---
    X, y = zoo.mnist()
    cnn = zoo.mnist_cnn()
    blank = np.full_like(X[2500], (0.0 - 0.1307) / 0.3081)   # a black page in the CNN's normalisation
    cells = [(r, c) for r in range(2, 5) for c in range(2, 5)] + [(1, 3)]
    game = Game.image(cnn, X[2500], grid=(7, 7), cells=cells, baseline=blank)
    table = game.evaluate()                                   # 2^10 = 1,024 masked inputs
    concepts = table.and_or(time_limit=20)
    fig, axes = plt.subplots(1, 4, figsize=(13, 3.6))
    for ax, concept in zip(axes, concepts.ranked()[:4]):
        plot.image_overlay(X[2500], game.info["player_map"], concept, ax=ax)
    fig.tight_layout()
    fig.savefig(FIGURES / "image.png", dpi=90)
    # --- end ---
    return concepts


def image_orders():
    # --- image orders example ---
    X, y = zoo.mnist()
    cnn = zoo.mnist_cnn()
    blank = np.full_like(X[2500], (0.0 - 0.1307) / 0.3081)
    game = Game.image(cnn, X[2500], grid=(7, 7), baseline=blank)   # all 49 patches: 2^49 coalitions
    estimate = game.multi_order_sampled(pairs=20, samples=50, seed=0)   # 21 orders × 20 pairs × 50 × 4 calls
    print(estimate)
    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    plot.order_strength(estimate, ax=ax)
    fig.savefig(FIGURES / "image_orders.png", dpi=90, bbox_inches="tight")
    # --- end ---
    return estimate


def image_recurring():
    # --- image recurring example ---
    X, y = zoo.mnist()
    cnn = zoo.mnist_cnn()
    blank = np.full_like(X[0], (0.0 - 0.1307) / 0.3081)
    cells = [(2, 2), (2, 3), (2, 4), (3, 2), (3, 3), (3, 4), (4, 3), (1, 3)]   # the same 8 players on every digit
    sevens = np.flatnonzero(y == 7)[:40]
    results = [Game.image(cnn, X[i], grid=(7, 7), cells=cells, baseline=blank, target=7).evaluate().and_or()
               for i in sevens]
    first, held_out = concept_statistics(results[:20]), concept_statistics(results[20:])
    for concept in first.top(5):
        print(concept)
    print(first.discrimination_by_frequency())
    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    plot.coverage(first, on=held_out, k=30, ax=ax, label="20 held-out sevens")
    fig.savefig(FIGURES / "image_recurring.png", dpi=90, bbox_inches="tight")
    # --- end ---
    return first


def text():
    # --- text example ---
    model, tokenizer, info = zoo.sentiment_model(seed=0)
    game = Game.text(model, text="the violin brought love and grief to the prison", tokenizer=tokenizer)
    table = game.evaluate()                                   # 2^9 = 512 masked inputs
    concepts = table.and_or(time_limit=20)
    fig, axes = plt.subplots(4, 1, figsize=(7, 3.2))
    for ax, concept in zip(axes, concepts.ranked()[:4]):
        plot.text_overlay(list(game.player_names), concept, ax=ax)
    fig.tight_layout()
    fig.savefig(FIGURES / "text.png", dpi=90)
    fig, ax = plt.subplots(figsize=(5, 5))
    plot.interaction_network(table.shapley(), table.index("k-SII", 2), k=10, ax=ax)
    fig.savefig(FIGURES / "text_network.png", dpi=90, bbox_inches="tight")
    tree = table.interaction_tree()                          # adjacent words merged where they interact most
    print(tree)
    fig, ax = plt.subplots(figsize=(6, 3.6))
    plot.interaction_tree(tree, ax=ax)
    fig.savefig(FIGURES / "text_tree.png", dpi=90, bbox_inches="tight")
    # --- end ---
    return concepts


if __name__ == "__main__":
    FIGURES.mkdir(exist_ok=True)
    for build in (tabular, image, text):
        concepts = build()
        print(f"{build.__name__}: {concepts}")
    image_orders()
    image_recurring()
