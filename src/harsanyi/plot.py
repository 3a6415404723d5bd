"""Plots of explanations (matplotlib, imported when a plot is drawn). Every function takes ``ax=`` (a new figure's
axes when None) and returns the axes it drew on, so plots compose into the caller's figures. Each takes the parts it
draws; :func:`waterfall`, :func:`interaction_network`, :func:`interaction_tree` and :func:`order_strength` also an
:class:`~harsanyi.Explanation` or a :class:`~harsanyi.ValueTable` whole, :func:`concepts_bar` and :func:`fidelity`
an Explanation.

- :func:`concepts_bar`: the top AND / OR concepts as horizontal bars, players named.
- :func:`image_overlay`: one concept's patches drawn on the input image, the rest dimmed.
- :func:`text_overlay`: a sentence with the words of one concept highlighted.
- :func:`interaction_network`: players as nodes sized by |Shapley value|, pairs as edges (SII or k-SII).
- :func:`interaction_tree`: the interaction tree over the words (SPEC §6) as a dendrogram.
- :func:`order_strength`: the multi-order interaction strength against m / n (SPEC §5).
- :func:`fidelity`: the top-k reconstruction error against k, for one or several decompositions.
- :func:`waterfall`: Shapley values as steps from v(∅) to v(N).
- :func:`coverage`: ρ(k), the share of an input's salient concepts that a dictionary of k recurring ones covers.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ._sparsity import Concept, ranked_concepts
from ._transforms import popcounts
from .exceptions import HarsanyiValueError

__all__ = ["concepts_bar", "image_overlay", "text_overlay", "interaction_network", "interaction_tree",
           "order_strength", "fidelity", "waterfall", "coverage", "POSITIVE", "NEGATIVE"]

POSITIVE, NEGATIVE = "#d62728", "#1f77b4"  # red raises the output, blue lowers it (as in shap's plots)


def _axes(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
    return ax


def _plain(text) -> str:
    """A name as it reads: a "$" escaped, so that two of them ("Amount ($) ∧ Fee ($)") are not typeset as math."""
    return str(text).replace("$", r"\$")


def _check_count(k, name: str, what: str) -> None:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise HarsanyiValueError(f"Expected {name} ≥ 1 ({what}); received {k!r}.")


def _check_players(concept: Concept, count: int, where: str) -> None:
    """A concept of another game (players beyond ``count``) would be drawn in part: refused."""
    if int(concept.mask) >> max(count, 0):
        held = f"players 0 … {count - 1} only" if count > 0 else "no players"
        raise HarsanyiValueError(f"The concept {concept} involves player {int(concept.mask).bit_length() - 1}, but "
                                 f"{where} {held}; draw a concept of the same game.")


def _kind_of(source) -> str | None:
    """"explanation" or "table" where a plot can read what it needs from ``source`` itself, else None."""
    from ._explanation import Explanation
    from ._values import ValueTable

    return "explanation" if isinstance(source, Explanation) else "table" if isinstance(source, ValueTable) else None


def _concepts_of(source, k: int) -> list[Concept]:
    """Top-k concepts from Concepts (AND and OR), an Explanation (its AND-OR concepts), Interactions (one kind) or a
    list of Concept."""
    from ._values import ValueTable

    if isinstance(source, (list, tuple)):
        return list(source)[:k]
    if isinstance(source, ValueTable):
        raise HarsanyiValueError("A ValueTable holds the values v(S), not concepts: pass table.harsanyi() (the AND "
                                 "concepts) or table.and_or() (AND and OR).")
    if hasattr(source, "and_") and hasattr(source, "or_"):
        return source.ranked(limit=k) if hasattr(source, "ranked") else source.concepts(limit=k)
    kind = "OR" if getattr(source, "index", "") == "OR" else "AND"
    values = np.asarray(source.values)
    if kind == "AND":
        return ranked_concepts(values, None, source.player_names, limit=k)
    return ranked_concepts(np.zeros_like(values), values, source.player_names, limit=k)


def _label(concept: Concept, player_names: Sequence[str] | None = None, width: int = 4) -> str:
    """A readable name: the players joined by ∧ (AND) or ∨ (OR); long coalitions shortened to "all but …" (when
    few players are missing) or to their first players and a count."""
    joiner = " ∧ " if concept.kind == "AND" else " ∨ "
    players = list(map(str, concept.players))
    if len(players) <= width:
        return f"{concept.kind}: " + joiner.join(players)
    if player_names is not None and len(player_names) - len(players) <= 3:
        missing = [str(p) for p in player_names if str(p) not in players]
        return f"{concept.kind}: all but " + ", ".join(missing) if missing else f"{concept.kind}: all players"
    return f"{concept.kind}: " + joiner.join(players[:3]) + f" … ({len(players)} players)"


def concepts_bar(source, k: int = 10, *, ax=None, wrap: int = 40):
    """Horizontal bars of the ``k`` largest concepts (|I|), the largest on top; red positive, blue negative. Labels
    longer than ``wrap`` characters are broken into lines, so that long coalitions do not squeeze the bars."""
    import textwrap

    _check_count(k, "k", "how many concepts to show")
    ax = _axes(ax)
    concepts = _concepts_of(source, k)
    names = getattr(source, "player_names", None) if not isinstance(source, (list, tuple)) else None
    values = [c.value for c in concepts][::-1]
    labels = [_plain(textwrap.fill(_label(c, names), wrap, break_long_words=False)) for c in concepts][::-1]
    ax.barh(range(len(values)), values, color=[POSITIVE if v > 0 else NEGATIVE for v in values])
    ax.set_yticks(range(len(values)), labels)
    ax.axvline(0.0, color="black", linewidth=0.8)
    ax.set_xlabel("interaction I(S)")
    ax.set_title(f"top {len(values)} concepts")
    return ax


def _display_image(image, channel_axis: int | None, mean, std) -> np.ndarray:
    img = np.asarray(image, dtype=np.float64)
    if img.ndim == 3:
        img = np.moveaxis(img, channel_axis, -1)
        if mean is not None:
            img = img * np.asarray(std if std is not None else 1.0) + np.asarray(mean)
        if img.shape[-1] not in (3, 4):  # one channel, or a number no colour map shows: their mean, in grey
            img = img.mean(axis=-1)
    lo, hi = float(img.min()), float(img.max())
    return (img - lo) / (hi - lo) if hi > lo else np.zeros_like(img)


def image_overlay(image, player_map, concept: Concept, *, ax=None, channel_axis: int | None = 0, mean=None,
                  std=None):
    """The image with the patches of ``concept`` outlined and every other region dimmed (``channel_axis``: 0, −1, or
    None for a (H, W) image).

    ``player_map``: (H, W) player index of each pixel (−1: not a player), as ``game.info["player_map"]``;
    ``mean`` / ``std``: undo a normalisation for display (e.g. :data:`harsanyi.zoo.IMAGENET_MEAN`).
    """
    import matplotlib.patches as mpatches

    shown = _display_image(image, channel_axis, mean, std)
    pmap = np.asarray(player_map)
    if pmap.shape != shown.shape[:2]:
        raise HarsanyiValueError(f"Expected a player map of the image's size {shown.shape[:2]} (the game's "
                                 f"info['player_map']); received shape {pmap.shape}.")
    _check_players(concept, int(pmap.max()) + 1, "the player map holds")
    ax = _axes(ax)
    members = [i for i in range(int(pmap.max()) + 1) if int(concept.mask) >> i & 1]
    inside = np.isin(pmap, members)
    picture = np.where(inside if shown.ndim == 2 else inside[..., None], shown, shown * 0.35)
    ax.imshow(picture, cmap="gray" if picture.ndim == 2 else None, vmin=0.0, vmax=1.0)
    colour = POSITIVE if concept.value > 0 else NEGATIVE
    for player in members:
        rows, cols = np.nonzero(pmap == player)
        if rows.size:
            ax.add_patch(mpatches.Rectangle((cols.min() - 0.5, rows.min() - 0.5), cols.max() - cols.min() + 1,
                                            rows.max() - rows.min() + 1, fill=False, edgecolor=colour,
                                            linewidth=2))
    noun = "patch" if len(members) == 1 else "patches"
    ax.set_title(f"{concept.kind} of {len(members)} {noun}: {concept.value:+.3g}", fontsize=9)
    ax.set_axis_off()
    return ax


def text_overlay(words: Sequence[str], concept: Concept, *, word_player: Sequence[int] | None = None, ax=None):
    """The words in a row, those of ``concept`` highlighted (red if it raises the output, blue if it lowers it).
    ``word_player``: the player of each word, −1 for a word that is not a player (drawn grey); default: word i is
    player i. A repeated word's player name ("the#2") is shown as the word. A long text gets a smaller font (down to
    7 pt) and then more rows; give its axes the height they need (about 0.2 inch a row)."""
    import re

    words = [re.sub(r"#\d+$", "", str(word)) for word in words]
    player = list(range(len(words))) if word_player is None else [int(p) for p in word_player]
    if len(player) != len(words):
        raise HarsanyiValueError(f"Expected one word_player entry per word ({len(words)}); received {len(player)}.")
    _check_players(concept, max(player, default=-1) + 1, "the words hold")
    ax = _axes(ax)
    members = {i for i in range(len(words)) if player[i] >= 0 and int(concept.mask) >> player[i] & 1}
    colour = POSITIVE if concept.value > 0 else NEGATIVE
    texts = [ax.text(0.0, 0.5, _plain(word), transform=ax.transAxes, fontsize=12, va="center",
                     bbox=dict(boxstyle="round,pad=0.25", facecolor=colour, alpha=0.35, edgecolor=colour)
                     if i in members else None, fontweight="bold" if i in members else None,
                     color="0.55" if player[i] < 0 else "black") for i, word in enumerate(words)]
    _lay_out_words(ax, texts)
    ax.set_ylim(0, 1)
    ax.set_title(f"{concept.kind}: {concept.value:+.3g}", fontsize=9)
    ax.set_axis_off()
    return ax


def _lay_out_words(ax, texts, gap_em: float = 0.6, smallest: float = 7.0) -> int:
    """Place ``texts`` left to right across the axes, measured as drawn, ``gap_em`` of their size apart: in one row,
    the font shrunk from 12 pt to fit, while it stays at least ``smallest``; else at ``smallest`` in as many rows as
    needed (centred on the axes' height). Returns the number of rows."""
    canvas = ax.figure.canvas  # Agg canvases (the default, notebooks) have a renderer; others: matplotlib's own
    renderer = canvas.get_renderer() if hasattr(canvas, "get_renderer") else ax.figure._get_renderer()
    width = 0.98 * ax.get_window_extent(renderer).width

    def measure():
        size = texts[0].get_fontsize()
        return [t.get_window_extent(renderer).width for t in texts], gap_em * size * ax.figure.dpi / 72.0

    def resize(size):
        for t in texts:
            t.set_fontsize(size)

    if not texts:
        return 0
    widths, gap = measure()
    for _ in range(3):  # widths scale with the font size, so one correction nearly fits; two more make sure
        total = sum(widths) + gap * (len(texts) - 1)
        size = texts[0].get_fontsize()
        if total <= width or size <= smallest:
            break
        resize(max(smallest, size * width / total))
        widths, gap = measure()
    rows, x = [[]], 0.0
    for t, w in zip(texts, widths):
        if rows[-1] and x + w > width:  # the next row
            rows.append([])
            x = 0.0
        rows[-1].append((t, x))
        x += w + gap
    from matplotlib.transforms import ScaledTranslation

    for r, row in enumerate(rows):  # offsets in inches from the axes' left edge: a later tight_layout keeps them
        for t, x in row:
            t.set_position((0.0, 1.0 - (r + 0.5) / len(rows)))
            t.set_transform(ax.transAxes + ScaledTranslation(x / ax.figure.dpi, 0.0, ax.figure.dpi_scale_trans))
    return len(rows)


def interaction_network(shapley, pairs=None, player_names: Sequence[str] | None = None, *, k: int | None = None,
                        ax=None):
    """Players on a circle, node area ∝ |φ_i| (red positive, blue negative); edges for the ``k`` strongest pairs of
    ``pairs`` (an order-2 :class:`~harsanyi.Interactions`, e.g. SII or k-SII, or a dense bitmask-indexed array such
    as ``Explanation.pairs``), width ∝ |value| in the units of the largest pair or |φ_i|, whichever is larger.
    ``shapley`` may also be an :class:`~harsanyi.Explanation` or a :class:`~harsanyi.ValueTable` alone: its Shapley
    values and k-SII pairs."""
    title = getattr(pairs, "index", "pair")
    source = _kind_of(shapley)
    if source is not None:
        player_names = player_names or shapley.player_names
        if pairs is None:
            title, pairs = "k-SII", shapley.pairs if source == "explanation" else shapley.index("k-SII", 2)
        shapley = shapley.shapley if source == "explanation" else shapley.shapley()
    elif pairs is None:
        raise HarsanyiValueError(
            f"interaction_network needs the pairs with the Shapley values: pairs=table.index('k-SII', 2) (or 'SII'); "
            f"or pass an Explanation or a ValueTable alone. Received {type(shapley).__name__} without pairs.")
    ax = _axes(ax)
    phi = np.asarray(shapley, dtype=np.float64)
    n = phi.size
    names = list(player_names or getattr(pairs, "player_names", None) or [str(i) for i in range(n)])
    angle = 2 * np.pi * np.arange(n) / n
    xy = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    dense = np.asarray(getattr(pairs, "values", pairs), dtype=np.float64)
    if dense.shape != (1 << n,):
        raise HarsanyiValueError(f"Expected pairs over the {n} players of the Shapley values (2^{n} = {1 << n} "
                                 f"values, bitmask-indexed); received shape {dense.shape}.")
    pair_masks = np.flatnonzero(popcounts(n) == 2)
    values = dense[pair_masks]
    order = np.argsort(-np.abs(values))[: (k if k is not None else len(values))]
    # widths in the units of the largest pair or Shapley value, so that pairs far weaker than the players (an
    # additive model's rounding, say) draw as hairlines rather than filling the picture
    top = max(np.abs(values[order]).max() if order.size else 0.0, np.abs(phi).max())
    for j in order:
        mask = int(pair_masks[j])
        a, b = [i for i in range(n) if mask >> i & 1]
        ax.plot(*xy[[a, b]].T, color=POSITIVE if values[j] > 0 else NEGATIVE,
                linewidth=0.5 + 4.5 * abs(values[j]) / top if top > 0 else 0.5, alpha=0.7, zorder=1)
    # the circle's radius R (in pixels) is the largest that keeps every node and name inside the axes' square;
    # the nodes are sized first, from a guess of R that leaves the longest name room
    box = ax.get_window_extent()
    side = min(box.width, box.height)
    points = ax.figure.dpi / 72  # pixels a point
    guess = min(max(side / 2 - (_name_points(names) + 20) * points, 0.15 * side), side / 3)
    largest = min(20.0, 0.9 * np.pi * guess / points / max(n, 2))  # the largest node's radius, points
    relative = np.abs(phi) / (np.abs(phi).max() if np.abs(phi).max() > 0 else 1.0)
    size = (2 * largest) ** 2 * (1 + 14 * relative) / 15  # marker area ∝ |φ_i|, from 1/15 of the largest
    ax.scatter(xy[:, 0], xy[:, 1], s=size, c=[POSITIVE if p > 0 else NEGATIVE for p in phi], zorder=2)
    # each name just outside its node, on the ray from the centre, running outwards so that neighbours' names do not
    # run into each other: level for a few players, along the ray for more (where level names near the top and
    # bottom of the circle would overlap)
    radial = n > 10
    labels = []
    for (x, y), name, area, theta in zip(xy, names, size, np.degrees(angle)):
        gap = np.sqrt(area) / 2 + 3  # points: the node's radius and a little air
        left = x < -1e-9  # on the left half a name ends at its node; elsewhere it starts there
        if radial:  # turned to read left to right along its ray
            ha, rotation = ("right", theta - 180) if left else ("left", theta)
        else:
            ha, rotation = ("right" if left else "left" if x > 1e-9 else "center"), 0
        labels.append(ax.annotate(_plain(name), (x, y), xytext=(gap * x, gap * y), textcoords="offset points",
                                  fontsize=8, ha=ha, va="center", rotation=rotation, rotation_mode="anchor"))
    # each name's and node's extent about its node's centre, in pixels, does not depend on R: measure it once and
    # take the largest R for which centre + R·(x_i, y_i) + extent stays within the square
    renderer = ax.figure.canvas.get_renderer() if hasattr(ax.figure.canvas, "get_renderer") else None
    radius = side / 3
    for label, (x, y), area in zip(labels, xy, size):
        at = ax.transData.transform((x, y))
        extent = label.get_window_extent(renderer)
        node = np.sqrt(area) / 2 * points
        low = np.minimum([extent.x0, extent.y0], at - node) - at  # ≤ 0
        high = np.maximum([extent.x1, extent.y1], at + node) - at  # ≥ 0
        for direction, lo, hi in ((x, low[0], high[0]), (y, low[1], high[1])):
            if abs(direction) > 1e-9:  # (a name level at the top or bottom runs sideways, which no R changes)
                room = side / 2 - (hi if direction > 0 else -lo)  # pixels between the extent and the square's edge
                radius = min(radius, room / abs(direction))
    radius = max(radius, 0.15 * side)  # names too long for the axes overflow it rather than shrink the circle away
    half = side / 2 / radius  # the circle has radius 1 in data units
    ax.set_xlim(-half, half)
    ax.set_ylim(-half, half)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.set_title(f"Shapley values (nodes) and {title} interactions (edges)", fontsize=9)
    return ax


def _name_points(names) -> float:
    """How far the longest name runs, in points: 8-pt text, about 4.8 points a character, and a little air."""
    return 4.8 * max(map(len, map(str, names)), default=0) + 6


def _network_inches(names, least: float = 4.5, most: float = 8.0) -> float:
    """The side of a square figure (inches) whose axes (about 78 % of it) leaves a circle of 60 points radius
    inside the names and the largest node of :func:`interaction_network`."""
    return float(np.clip(2 * (_name_points(names) + 20 + 60) / 72 / 0.78, least, most))


def interaction_tree(tree, *, ax=None):
    """The interaction tree (:meth:`ValueTable.interaction_tree`) as a dendrogram: the players along the bottom in
    their order, each merge drawn at the height of its step, red where the two parts interact positively and blue
    where negatively, the line width ∝ |B| per pair across the split (relative to the largest of them or to
    |v(N) − v(∅)|, whichever is larger), and B written at the merge. ``tree`` may also be an
    :class:`~harsanyi.Explanation` or a :class:`~harsanyi.ValueTable`: its tree."""
    if _kind_of(tree) is not None:
        tree = tree.interaction_tree()
    if not hasattr(tree, "merges"):
        raise HarsanyiValueError(f"Expected an InteractionTree (table.interaction_tree()), an Explanation or a "
                                 f"ValueTable; received {type(tree).__name__}.")
    ax = _axes(ax)
    x: dict[tuple[int, int], float] = {}
    height: dict[tuple[int, int], float] = {}
    n = tree.root.stop
    for i in range(n):
        x[(i, i + 1)], height[(i, i + 1)] = float(i), 0.0
    # widths in the units of the largest density or of |v(N) − v(∅)|, whichever is larger: interactions far below
    # the output's change draw thin
    top = max(max((abs(node.density) for node in tree.merges), default=0.0), tree.scale) or 1.0
    for node in tree.merges:
        left, right = (node.left.start, node.left.stop), (node.right.start, node.right.stop)
        here = (node.start, node.stop)
        x[here], height[here] = (x[left] + x[right]) / 2, float(node.step)
        ax.plot([x[left], x[left], x[right], x[right]], [height[left], node.step, node.step, height[right]],
                color=POSITIVE if node.interaction > 0 else NEGATIVE, linewidth=0.8 + 3.2 * abs(node.density) / top,
                solid_joinstyle="miter")
        ax.annotate(f"{node.interaction:+.3g}", (x[here], node.step), xytext=(0, 3), textcoords="offset points",
                    ha="center", va="bottom", fontsize=7)
    labels = [_plain(leaf) for leaf in _leaf_labels(tree.root)]
    ax.set_xticks(range(n), labels, rotation=90 if n > 8 or max(map(len, labels)) > 8 else 0, fontsize=8)
    ax.set_xlim(-0.6, n - 0.4)
    ax.set_ylim(0, len(tree.merges) + 0.8)
    ax.set_yticks([])
    ax.set_ylabel("merge order (first at the bottom)", fontsize=8)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.set_title("interaction tree: B(L, R) between merged constituents", fontsize=9)
    return ax


def _leaf_labels(node):
    return [node.label] if node.is_leaf else _leaf_labels(node.left) + _leaf_labels(node.right)


def order_strength(multi_order, *, ax=None, label: str | None = None):
    """Normalised interaction strength J⁽ᵐ⁾ against the order ratio m / n (the representation-bottleneck plot), exact
    (:meth:`ValueTable.multi_order`, or a ValueTable or Explanation itself) or sampled
    (:meth:`Game.multi_order_sampled`, with ± one standard error)."""
    if _kind_of(multi_order) == "table":
        multi_order = multi_order.multi_order()
    if not (hasattr(multi_order, "ratios") and hasattr(multi_order, "strength")):
        raise HarsanyiValueError(
            f"Expected multi-order interactions (table.multi_order(), game.multi_order_sampled()), an Explanation "
            f"or a ValueTable; received {type(multi_order).__name__}.")
    ax = _axes(ax)
    stderr = getattr(multi_order, "strength_stderr", None)
    if stderr is not None:
        ax.errorbar(multi_order.ratios, multi_order.strength, yerr=stderr, marker="o", capsize=2, label=label)
    else:
        ax.plot(multi_order.ratios, multi_order.strength, marker="o", label=label)
    ax.set_xlabel("order m / n")
    ax.set_ylabel("relative interaction strength")
    ax.set_ylim(bottom=0)
    if label:
        ax.legend()
    return ax


def fidelity(curves, labels: Sequence[str] | None = None, *, ax=None, kind: str = "rms"):
    """Reconstruction error over all 2ⁿ masked inputs (÷ |v(N) − v(∅)|) against the number k of concepts kept.

    ``curves``: a :class:`~harsanyi.FidelityCurve` or a list of them (e.g. AND-OR and plain dividends); curves of
    the greedy elimination (``order="greedy"``) are dashed.
    ``kind``: "rms" or "max" error.
    """
    curves = [_curve_of(c) for c in ([curves] if not isinstance(curves, (list, tuple)) else curves)]
    labels = list(labels) if labels is not None else [None] * len(curves)
    if len(labels) != len(curves):
        raise HarsanyiValueError(f"Expected one label per curve ({len(curves)}); received {len(labels)}.")
    ax = _axes(ax)
    for curve, label in zip(curves, labels):
        ax.plot(curve.k, curve.rms_error if kind == "rms" else curve.max_error, label=label,
                linestyle="--" if curve.order == "greedy" else "-")
    orders = {curve.order for curve in curves}
    detail = {"top-k": " (top k by |I|)", "greedy": " (greedy backward elimination)"}
    ax.set_xlabel("concepts kept" + (detail[orders.pop()] if len(orders) == 1 else ""))
    ax.set_ylabel(f"{kind} error / |v(N) − v(∅)|")
    ax.set_yscale("symlog", linthresh=1e-3)
    if any(labels):
        ax.legend()
    return ax


def _curve_of(source):
    """A FidelityCurve from itself, Concepts, an Explanation (its AND-OR concepts), or Harsanyi dividends (which
    reproduce the table they came from, ζ of themselves, exactly)."""
    if hasattr(source, "k") and hasattr(source, "rms_error"):
        return source
    if hasattr(source, "fidelity_curve"):
        return source.fidelity_curve()
    if hasattr(source, "fidelity") and callable(source.fidelity):
        return source.fidelity()
    if getattr(source, "index", None) == "Moebius":
        from ._sparsity import fidelity_curve
        from ._transforms import subset_zeta

        return fidelity_curve(subset_zeta(source.values), source.values)
    raise HarsanyiValueError(
        f"Expected fidelity curves (FidelityCurve, Concepts, an Explanation or Harsanyi dividends); received "
        f"{type(source).__name__}. Make one with concepts.fidelity_curve() or harsanyi.fidelity_curve(values, and_).")


def coverage(stats, *, on=None, k: int = 30, ax=None, label: str | None = None, ceiling: bool = True):
    """ρ(1) … ρ(k) of the dictionary of the most frequent concepts of ``stats`` (a
    :class:`~harsanyi.ConceptStatistics`), measured on ``on`` (held-out inputs) or on its own inputs; with
    ``ceiling`` also the most any dictionary of that size could cover of those inputs (thin, dash-dotted)."""
    from ._recurrence import ConceptStatistics

    if not isinstance(stats, ConceptStatistics):
        raise HarsanyiValueError(
            f"Expected the statistics of many inputs' concepts, harsanyi.concept_statistics([...]); received "
            f"{type(stats).__name__}.")
    ax = _axes(ax)
    sizes = np.arange(1, k + 1)
    line, = ax.plot(sizes, stats.coverage(k, on=on), label=label)
    if ceiling:
        ax.plot(sizes, (stats if on is None else on).ceiling(k), "-.", color=line.get_color(), linewidth=0.8,
                label=None if label is None else f"{label}: ceiling")
    ax.set_xlabel("dictionary size k (most frequent concepts)")
    ax.set_ylabel("ρ(k): share of an input's salient concepts")
    ax.set_ylim(0, 1)
    if label:
        ax.legend()
    return ax


def waterfall(shapley, v_empty: float | None = None, player_names: Sequence[str] | None = None, *, k: int = 10,
              ax=None):
    """Shapley values as steps from v(∅) (bottom) to v(N) (top), the ``k`` largest separately, the rest summed.
    ``shapley`` may also be an :class:`~harsanyi.Explanation` or a :class:`~harsanyi.ValueTable` alone."""
    source = _kind_of(shapley)
    if source is not None:
        player_names = player_names or shapley.player_names
        shapley, v_empty = ((shapley.shapley, float(shapley.values[0])) if source == "explanation"
                            else (shapley.shapley(), shapley.v_empty))
    elif v_empty is None:
        raise HarsanyiValueError(
            f"waterfall needs v(∅), where the steps start: waterfall(table.shapley(), table.v_empty); or pass an "
            f"Explanation or a ValueTable alone. Received {type(shapley).__name__} without v_empty.")
    _check_count(k, "k", "how many players to show apart")
    phi = np.asarray(shapley, dtype=np.float64)
    names = list(player_names or [str(i) for i in range(phi.size)])
    if phi.ndim != 1 or len(names) != phi.size:
        raise HarsanyiValueError(f"Expected one Shapley value per player and as many names; received shape "
                                 f"{phi.shape} and {len(names)} names.")
    ax = _axes(ax)
    order = np.argsort(-np.abs(phi))
    shown = list(order[:k])
    steps = [(names[i][:28], phi[i]) for i in shown]
    if len(order) > k:
        steps.append((f"{len(order) - k} other players", float(phi[order[k:]].sum())))
    steps = steps[::-1]  # smallest at the bottom, as the sum builds up
    level = float(v_empty)
    for row, (name, value) in enumerate(steps):
        ax.barh(row, value, left=level, color=POSITIVE if value > 0 else NEGATIVE)
        ax.text(level + value, row, f" {value:+.3g}", va="center", ha="left" if value > 0 else "right", fontsize=8)
        level += value
    ax.set_yticks(range(len(steps)), [_plain(name) for name, _ in steps])
    ax.axvline(float(v_empty), color="gray", linestyle=":", linewidth=1)
    ax.axvline(level, color="black", linestyle="--", linewidth=1)
    ax.set_xlabel(f"v(∅) = {v_empty:.4g}  →  v(N) = {level:.4g}")
    return ax
