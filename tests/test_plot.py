"""Plots: each draws what it says (asserted on the artists), takes ax= and returns it."""

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from harsanyi import ValueTable, fidelity_curve, plot  # noqa: E402
from harsanyi._sparsity import Concept  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def game_table():
    """v(S) = 3·[a∧b] − 2·[c] + 1·[a∨d] on 4 named players: known concepts."""
    masks = np.arange(16)
    v = 3.0 * ((masks & 0b0011) == 0b0011) - 2.0 * ((masks & 0b0100) != 0) + 1.0 * ((masks & 0b1001) != 0)
    return ValueTable(v, player_names=["a", "b", "c", "d"])


def test_concepts_bar_draws_one_bar_per_concept_with_names_and_signs():
    table = game_table()
    _, ax = plt.subplots()
    assert plot.concepts_bar(table.harsanyi(), k=3, ax=ax) is ax
    bars = ax.patches
    assert len(bars) == 3
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[-1] == "AND: a ∧ b"  # the largest |I| on top
    widths = [b.get_width() for b in bars]
    assert widths[-1] == pytest.approx(3.0)
    colours = {tuple(np.round(b.get_facecolor()[:3], 3)) for b in bars}
    assert len(colours) == 2  # positive and negative concepts differ


def test_concepts_bar_from_and_or_concepts_names_or_concepts():
    concepts = game_table().and_or(qthres=0.0, max_iter=200)
    ax = plot.concepts_bar(concepts, k=5)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert any(label.startswith(("AND", "OR")) for label in labels) and len(ax.patches) <= 5


def test_concepts_bar_wraps_long_labels():
    """A coalition of long player names is broken into lines of at most ``wrap`` characters (names stay whole)."""
    names = ["mean concave points", "texture/smoothness errors", "shape errors", "symmetry/fractal errors"]
    concept = Concept("AND", 0b1111, tuple(names), 2.0)
    ax = plot.concepts_bar([concept], wrap=30)
    label = ax.get_yticklabels()[0].get_text()
    assert label.replace("\n", " ") == plot._label(concept) and 1 < label.count("\n") + 1 <= 4
    assert all(len(line) <= 30 for line in label.split("\n"))


def test_image_overlay_outlines_the_concepts_patches():
    image = np.random.default_rng(0).normal(size=(3, 8, 8))
    pmap = np.repeat(np.repeat(np.arange(4).reshape(2, 2), 4, axis=0), 4, axis=1)  # 4 patches of 4 × 4
    concept = Concept("AND", 0b0101, (0, 2), 1.5)
    ax = plot.image_overlay(image, pmap, concept)
    rectangles = [p for p in ax.patches]
    assert len(rectangles) == 2  # patches 0 and 2
    assert {(r.get_x(), r.get_y()) for r in rectangles} == {(-0.5, -0.5), (-0.5, 3.5)}
    assert ax.images and ax.images[0].get_array().shape == (8, 8, 3)
    assert "2 patches" in ax.get_title()


def test_text_overlay_highlights_exactly_the_concepts_words():
    words = ["the", "movie", "was", "not", "bad"]
    ax = plot.text_overlay(words, Concept("AND", 0b11000, ("not", "bad"), 0.8))
    texts = ax.texts
    assert [t.get_text() for t in texts] == words
    assert [t.get_bbox_patch() is not None for t in texts] == [False, False, False, True, True]


def test_text_overlay_greys_the_words_that_are_not_players():
    """word_player maps each word to its player (−1: not a player); the concept's bit 1 is the word "bad" here."""
    words = ["the", "movie", "was", "not", "bad"]
    ax = plot.text_overlay(words, Concept("OR", 0b10, ("not", "bad"), -0.8), word_player=[-1, -1, -1, 0, 1])
    assert [t.get_bbox_patch() is not None for t in ax.texts] == [False, False, False, False, True]
    grey = [t.get_color() == "0.55" for t in ax.texts]
    assert grey == [True, True, True, False, False]


def test_text_overlay_fits_long_texts_without_overlaps():
    """Measured as drawn, in the report's 5-inch figure: 8 words fit one row (the font shrunk, not below 7 pt);
    60 words take several rows at 7 pt. In every row each word starts after the previous one ends and the row ends
    inside the axes; a short row keeps 12 pt."""
    for count, one_row in ((8, True), (60, False)):
        words = [f"word{i}" for i in range(count)]
        fig, ax = plt.subplots(figsize=(5.0, 0.9 if one_row else 2.0))
        plot.text_overlay(words, Concept("AND", 0b101, ("word0", "word2"), 1.0), ax=ax)
        renderer = fig.canvas.get_renderer()
        rows = {}
        for t in ax.texts:
            rows.setdefault(t.get_position()[1], []).append(t.get_window_extent(renderer))
        assert (len(rows) == 1) == one_row and min(t.get_fontsize() for t in ax.texts) >= 7.0
        axes_box = ax.get_window_extent(renderer)
        for boxes in rows.values():
            assert all(a.x1 < b.x0 for a, b in zip(boxes, boxes[1:]))
            assert boxes[0].x0 >= axes_box.x0 - 1 and boxes[-1].x1 <= axes_box.x1 + 1
    short = plot.text_overlay(["not", "bad"], Concept("AND", 0b11, ("not", "bad"), 1.0))
    assert [t.get_fontsize() for t in short.texts] == [12.0, 12.0]


def test_interaction_network_nodes_and_edges():
    table = game_table()
    ax = plot.interaction_network(table.shapley(), table.index("SII", 2), k=2)
    assert len(ax.lines) == 2  # the two strongest pairs
    assert ax.collections[0].get_offsets().shape == (4, 2)  # one node per player
    assert [t.get_text() for t in ax.texts] == ["a", "b", "c", "d"]


def test_order_strength_and_fidelity_curves():
    table = game_table()
    mo = table.multi_order()
    ax = plot.order_strength(mo, label="game")
    x, y = ax.lines[0].get_data()
    np.testing.assert_allclose(x, mo.ratios)
    np.testing.assert_allclose(y, mo.strength)
    from harsanyi import Game

    noisy = np.random.default_rng(0).normal(size=32)  # a game whose Δ_ij v(S) varies with S
    game = Game.from_function(lambda m: noisy[(m.astype(np.int64) << np.arange(5)).sum(1)], 5)
    sampled = game.multi_order_sampled(samples=10, progress=False)
    assert sampled.strength_stderr[1] > 0.01
    ax = plot.order_strength(sampled)
    np.testing.assert_allclose(ax.lines[0].get_ydata(), sampled.strength)
    segments = ax.collections[0].get_segments()  # one error bar per order: ± its standard error
    np.testing.assert_allclose([seg[1, 1] - seg[0, 1] for seg in segments], 2 * sampled.strength_stderr)
    curve = fidelity_curve(table.values, table.harsanyi().values)
    ax = plot.fidelity([curve, curve], labels=["dividends", "again"])
    assert len(ax.lines) == 2 and ax.get_legend() is not None
    np.testing.assert_allclose(ax.lines[0].get_ydata(), curve.rms_error)


def test_waterfall_steps_from_v_empty_to_v_full():
    table = game_table()
    phi = table.shapley()
    ax = plot.waterfall(phi, table.v_empty, table.player_names, k=2)
    bars = ax.patches
    assert len(bars) == 3  # two players and "2 other players"
    ends = [b.get_x() + b.get_width() for b in bars]
    assert bars[0].get_x() == pytest.approx(table.v_empty)  # the first step starts at v(∅)
    assert ends[-1] == pytest.approx(table.v_full)  # the last step ends at v(N) (efficiency)
    assert "2 other players" in [t.get_text() for t in ax.get_yticklabels()]
    assert f"{table.v_full:.4g}" in ax.get_xlabel()


def test_plots_take_an_explanation_and_dividends_and_refuse_a_value_table():
    """What explain() returns draws as its parts do: its concepts, its dense pairs (the same edges as the k-SII
    Interactions of its table), its fidelity; dividends draw their own fidelity (ζ of themselves is the table)."""
    from harsanyi import Game, HarsanyiValueError, explain

    table = game_table()
    game = Game.from_function(lambda m: table.values[(m.astype(np.int64) << np.arange(4)).sum(1)], 4,
                              player_names=list("abcd"))
    ex = explain(game, progress=False)
    labels = [t.get_text() for t in plot.concepts_bar(ex, k=3).get_yticklabels()]
    assert labels[::-1] == [plot._label(c, ex.player_names) for c in ex.concepts()[:3]]
    from_dense = plot.interaction_network(ex.shapley, ex.pairs, ex.player_names)
    from_index = plot.interaction_network(table.shapley(), table.index("k-SII", 2))
    assert [ln.get_linewidth() for ln in from_dense.lines] == [ln.get_linewidth() for ln in from_index.lines]
    ax = plot.fidelity([ex, table.harsanyi()], labels=["AND-OR", "dividends"])
    np.testing.assert_allclose(ax.lines[0].get_ydata(), ex.fidelity().rms_error)
    np.testing.assert_allclose(ax.lines[1].get_ydata(),
                               fidelity_curve(table.values, table.harsanyi().values).rms_error, atol=1e-15)
    with pytest.raises(HarsanyiValueError, match="holds the values v\\(S\\), not concepts"):
        plot.concepts_bar(table)
    with pytest.raises(HarsanyiValueError, match="Expected fidelity curves"):
        plot.fidelity(table)
    with pytest.raises(HarsanyiValueError, match="Expected pairs over the 4 players"):
        plot.interaction_network(table.shapley(), np.zeros(8))


def test_plots_of_a_whole_explanation_or_table_draw_as_their_parts():
    """waterfall, interaction_network, interaction_tree and order_strength take an Explanation or a ValueTable
    alone and draw what they draw from its parts; what they cannot read is refused with the call to make."""
    from harsanyi import Game, HarsanyiValueError, explain

    table = game_table()
    game = Game.from_function(lambda m: table.values[(m.astype(np.int64) << np.arange(4)).sum(1)], 4,
                              player_names=list("abcd"))
    ex = explain(game, progress=False)

    def drawn(ax):
        return ([(p.get_x(), p.get_width()) for p in ax.patches], [ln.get_linewidth() for ln in ax.lines],
                [t.get_text() for t in ax.texts], [tuple(ln.get_ydata()) for ln in ax.lines])

    parts = drawn(plot.waterfall(table.shapley(), table.v_empty, table.player_names))
    assert drawn(plot.waterfall(ex)) == parts and drawn(plot.waterfall(table)) == parts
    parts = drawn(plot.interaction_network(table.shapley(), table.index("k-SII", 2)))
    for whole in (ex, table):
        ax = plot.interaction_network(whole)
        assert drawn(ax) == parts and "k-SII" in ax.get_title()
    assert drawn(plot.interaction_network(ex, table.index("SII", 2))) == \
        drawn(plot.interaction_network(table.shapley(), table.index("SII", 2)))
    parts = drawn(plot.interaction_tree(table.interaction_tree()))
    assert drawn(plot.interaction_tree(ex)) == parts and drawn(plot.interaction_tree(table)) == parts
    parts = drawn(plot.order_strength(table.multi_order()))
    assert drawn(plot.order_strength(ex)) == parts and drawn(plot.order_strength(table)) == parts
    for call, message in (
            (lambda: plot.waterfall(table.shapley()), r"waterfall needs v\(∅\), .*Received ndarray without v_empty"),
            (lambda: plot.interaction_network(table.shapley()), r"needs the pairs .*table.index\('k-SII', 2\)"),
            (lambda: plot.interaction_tree(table.harsanyi()), r"Expected an InteractionTree .* received Interactions"),
            (lambda: plot.order_strength(table.harsanyi()), r"Expected multi-order interactions .* received "
                                                            r"Interactions"),
            (lambda: plot.coverage(ex), r"concept_statistics\(\[...\]\); received Explanation")):
        with pytest.raises(HarsanyiValueError, match=message):
            call()


def test_interaction_tree_draws_each_merge_over_the_words_in_order():
    """game_table: a∧b (3) is the strongest pair and a∨d couples a and d; the dendrogram draws n − 1 merges, each
    coloured by the sign of its B and written with it, the words along the bottom in their order."""
    table = game_table()
    tree = table.interaction_tree()
    ax = plot.interaction_tree(tree)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c", "d"]
    assert len(ax.lines) == len(tree.merges) == 3
    for line, node in zip(ax.lines, tree.merges):
        assert line.get_color() == (plot.POSITIVE if node.interaction > 0 else plot.NEGATIVE)
        assert max(line.get_ydata()) == node.step
    assert [t.get_text() for t in ax.texts] == [f"{node.interaction:+.3g}" for node in tree.merges]


def test_interaction_network_draws_an_additive_models_pairs_as_hairlines():
    """Pairs at rounding level next to Shapley values of order 1 must not draw as thick edges (they were scaled to
    the largest pair)."""
    masks = np.arange(16)
    bits = (masks[:, None] >> np.arange(4)) & 1
    v = bits @ np.array([1.0, -2.0, 0.5, 3.0]) + 1e-12 * np.random.default_rng(0).normal(size=16)
    table = ValueTable(v)
    ax = plot.interaction_network(table.shapley(), table.index("k-SII", 2))
    assert max(line.get_linewidth() for line in ax.lines) < 0.51


@pytest.mark.parametrize("names", [
    [f"feature {i}" for i in range(5)],  # few players: level names
    [f"{'mean' if i % 2 else 'worst'} {word}" for i, word in enumerate(  # many long names: along the rays
        "radius texture perimeter area smoothness compactness concavity concave-points symmetry fractal-dimension "
        "radius-error texture-error perimeter-error area-error smoothness-error compactness-error".split())],
])
def test_interaction_network_keeps_names_and_nodes_inside_its_axes_and_apart(names):
    """Drawn for real (Agg), every name lies inside the axes' square (1 px for rounding), away from every node but
    its own, and no two names overlap (level names: their boxes are apart; names along the rays: the rays are at
    least an 8-pt line apart where the names begin) — at the figure size the report gives these names."""
    from itertools import combinations

    n = len(names)
    rng = np.random.default_rng(3)
    table = ValueTable(rng.normal(size=1 << n), player_names=names)
    side = plot._network_inches(names)
    fig, ax = plt.subplots(figsize=(side, side))
    plot.interaction_network(table.shapley(), table.index("k-SII", 2), k=8, ax=ax)
    fig.canvas.draw()
    box = ax.get_window_extent()
    texts = [t.get_window_extent() for t in ax.texts]
    assert len(texts) == n and all(box.x0 - 1 <= t.x0 and t.x1 <= box.x1 + 1 and box.y0 - 1 <= t.y0 and
                                   t.y1 <= box.y1 + 1 for t in texts)
    centres = ax.transData.transform(ax.collections[0].get_offsets())
    if n <= 10:
        assert not any(a.overlaps(b) for a, b in combinations(texts, 2))
    else:
        radius = np.linalg.norm(centres - centres.mean(axis=0), axis=1).min()
        assert 2 * np.pi * radius / n >= 8 * fig.dpi / 72
    radii = np.sqrt(ax.collections[0].get_sizes()) / 2 * fig.dpi / 72
    for i, t in enumerate(texts):  # the nearest point of each name's box to every other node is beyond its radius
        nearest = np.clip(centres, [t.x0, t.y0], [t.x1, t.y1])
        clear = np.linalg.norm(nearest - centres, axis=1) >= radii - 0.5
        assert np.delete(clear, i).all()


def test_fidelity_draws_the_greedy_elimination_dashed_and_names_the_order():
    table = game_table()
    concepts = table.and_or()
    top, greedy = concepts.fidelity_curve(), concepts.fidelity_curve(order="greedy")
    assert greedy.order == "greedy" and greedy.concepts[0].players[0] in "abcd"  # named by the table's players
    ax = plot.fidelity([top, greedy], labels=["top-k", "greedy"])
    assert [line.get_linestyle() for line in ax.lines] == ["-", "--"]
    assert ax.get_xlabel() == "concepts kept"
    np.testing.assert_allclose(ax.lines[1].get_ydata(), greedy.rms_error)
    assert plot.fidelity(greedy).get_xlabel() == "concepts kept (greedy backward elimination)"


def test_coverage_draws_rho_and_its_ceiling_on_held_out_inputs():
    from harsanyi import concept_statistics

    rng = np.random.default_rng(0)
    tables = [ValueTable(rng.normal(size=32)).harsanyi() for _ in range(8)]
    first, rest = concept_statistics(tables[:4], kappa=0.2), concept_statistics(tables[4:], kappa=0.2)
    _, ax = plt.subplots()
    assert plot.coverage(first, on=rest, k=12, ax=ax, label="held out") is ax
    rho, ceiling = ax.get_lines()
    assert np.array_equal(rho.get_xdata(), np.arange(1, 13))
    assert np.array_equal(rho.get_ydata(), first.coverage(12, on=rest))
    assert np.array_equal(ceiling.get_ydata(), rest.ceiling(12)) and ceiling.get_linestyle() == "-."
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["held out", "held out: ceiling"]
    assert len(plot.coverage(first, ceiling=False).get_lines()) == 1


def test_plots_refuse_what_does_not_fit_before_drawing():
    """A count below 1, names or labels of another length, a player map of another size, a concept of another game
    (players the map or the words do not hold): refused with what was expected, and no figure is made."""
    from harsanyi import HarsanyiValueError

    table = game_table()
    concepts = table.and_or()
    all_four = Concept("AND", 0b1111, (0, 1, 2, 3), 1.0)
    cases = [
        (lambda: plot.concepts_bar(concepts, k=0), r"Expected k ≥ 1 \(how many concepts to show\); received 0"),
        (lambda: plot.waterfall(table, k=-2), r"Expected k ≥ 1 \(how many players to show apart\); received -2"),
        (lambda: plot.waterfall(table.shapley(), 0.0, ["a", "b"]),
         r"one Shapley value per player and as many names; received shape \(4,\) and 2 names"),
        (lambda: plot.fidelity([concepts], ["AND-OR", "dividends"]), r"one label per curve \(1\); received 2"),
        (lambda: plot.image_overlay(np.zeros((3, 8, 8)), np.zeros((4, 4), int), all_four),
         r"a player map of the image's size \(8, 8\) .*received shape \(4, 4\)"),
        (lambda: plot.image_overlay(np.zeros((8, 8)), np.repeat(np.arange(2), 32).reshape(8, 8), all_four,
                                    channel_axis=None),
         r"involves player 3, but the player map holds players 0 … 1 only"),
        (lambda: plot.text_overlay(["a", "b", "c"], all_four), r"involves player 3, but the words hold players 0 … 2"),
        (lambda: plot.text_overlay(["a", "b", "c"], all_four, word_player=[0, 1]),
         r"one word_player entry per word \(3\); received 2"),
    ]
    for draw, message in cases:
        with pytest.raises(HarsanyiValueError, match=message):
            draw()
    assert not plt.get_fignums()


def test_names_with_dollar_signs_are_not_typeset_as_math():
    """Two "$" in one label ("Amount ($) ∧ Fee ($)") would make matplotlib typeset the text between them as math;
    every name drawn is escaped, so it reads as given."""
    from matplotlib.cbook import is_math_text

    from harsanyi import explain
    from harsanyi._game import Game

    names = ["Amount ($)", "Fee ($)", "c", "d"]
    table = game_table()
    game = Game.from_function(lambda m: table.values[(m.astype(np.int64) << np.arange(4)).sum(1)], 4,
                              player_names=names)
    ex = explain(game, progress=False)
    drawn = [t.get_text() for t in plot.concepts_bar(ex).get_yticklabels()]
    drawn += [t.get_text() for t in plot.waterfall(ex).get_yticklabels()]
    drawn += [t.get_text() for t in plot.interaction_network(ex).texts]
    assert any("Amount (\\$)" in text for text in drawn)
    assert not any(is_math_text(text) for text in drawn)
