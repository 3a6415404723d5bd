"""Self-contained HTML reports of saved explanations (jinja2 templates; plots embedded as PNG data; no network).

    from harsanyi.report import write_report
    write_report(explanation_or_path, "report.html")

Each report shows the input, the prediction, the AND-OR certificate in plain words, the top concepts with their
pictures, the plots of :mod:`harsanyi.plot` and a sortable table of every salient concept. :func:`write_index`
links several reports. Files are written to a temporary name and moved into place, so an interrupted run never
leaves half a report.
"""

from __future__ import annotations

import base64
import io
import os
from collections.abc import Mapping
from pathlib import Path

from ._explanation import Explanation
from ._files import make_folder
from ._sparsity import KAPPA
from .exceptions import HarsanyiValueError

__all__ = ["write_report", "write_index", "render_report"]

TOP_CONCEPTS = 6
GREEDY_UP_TO = 1 << 14  # concepts up to which a report draws the greedy elimination's curve too (1–2 s)


def _environment():
    try:
        import jinja2
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("Reports need jinja2 and matplotlib: pip install 'harsanyi[report]'.") from None
    return jinja2.Environment(loader=jinja2.PackageLoader("harsanyi", "templates"),
                              autoescape=jinja2.select_autoescape(["html", "j2"]), undefined=jinja2.StrictUndefined)


def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure(width=5.0, height=3.6):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(width, height))


def _concept_picture(ex: Explanation, concept) -> str | None:
    from . import plot

    if ex.kind == "image":
        fig, ax = _figure(3.2, 3.2)
        plot.image_overlay(ex.inputs["image"], ex.inputs["player_map"], concept, ax=ax,
                           channel_axis=_channel_axis(ex))
        return _png(fig)
    if ex.kind == "text":
        fig, ax = _figure(5.0, 0.9)
        plot.text_overlay(list(ex.inputs["words"]), concept, word_player=ex.inputs.get("word_player"), ax=ax)
        rows = len({t.get_position()[1] for t in ax.texts})
        fig.set_figheight(max(0.9, 0.45 + 0.22 * rows))  # the rows keep their places in the axes' height
        return _png(fig)
    return None


def _plots(ex: Explanation) -> list[tuple[str, str]]:
    from . import plot
    from ._interactions import Interactions

    out = []
    fig, ax = _figure(5.5, 0.5 * min(10, max(3, ex.n_concepts)) + 1.2)  # room for labels of two or three lines
    plot.concepts_bar(ex.concepts(limit=10), k=10, ax=ax)
    out.append(("top AND-OR concepts", _png(fig)))
    fig, ax = _figure()
    plot.waterfall(ex.shapley, float(ex.values[0]), ex.player_names, ax=ax)
    out.append(("Shapley values from v(∅) to v(N)", _png(fig)))
    if ex.n_players >= 2:
        side = plot._network_inches(ex.player_names)  # long names get a larger figure, not a smaller circle
        fig, ax = _figure(side, side)
        pairs = Interactions(ex.pairs, index="k-SII", max_order=2, player_names=ex.player_names)
        plot.interaction_network(ex.shapley, pairs, ex.player_names, k=12, ax=ax)
        out.append(("Shapley values and the 12 strongest k-SII pairs", _png(fig)))
        fig, ax = _figure()
        ax.plot(ex.ratios, ex.strength, marker="o")
        ax.set_xlabel("order m / n")
        ax.set_ylabel("relative interaction strength")
        out.append(("interaction strength per order", _png(fig)))
        if ex.kind == "text":
            fig, ax = _figure(max(4.5, 0.45 * ex.n_players + 1.5), 3.6)
            plot.interaction_tree(ex.interaction_tree(), ax=ax)
            out.append(("interaction tree: adjacent words merged where they interact most per pair", _png(fig)))
    fig, ax = _figure()
    curves, labels = [ex.fidelity(max_k=256), ex.dividend_fidelity(max_k=256)], ["AND-OR", "Harsanyi dividends"]
    if curves[0].n_concepts <= GREEDY_UP_TO:  # the lab's greedy elimination as well, where it takes seconds
        curves.append(ex.fidelity(max_k=256, order="greedy"))
        labels.append("AND-OR, greedy elimination")
    plot.fidelity(curves, labels, ax=ax)
    out.append(("error over all masked inputs with k concepts kept", _png(fig)))
    return out


def _kind_sentence(ex: Explanation) -> str:
    n = ex.n_players
    what = {"tabular": "a table row", "image": "an image", "text": "a text"}.get(ex.kind, "a game")
    return (f"An exact explanation of {what} with {n} players ({', '.join(map(str, ex.player_names[:12]))}"
            f"{', …' if n > 12 else ''}): the model was evaluated on all 2^{n} = {1 << n:,} masked inputs.")


def _explanation(source) -> Explanation:
    """An Explanation, or the one saved in a file."""
    if isinstance(source, Explanation):
        return source
    if not isinstance(source, (str, os.PathLike)):
        raise HarsanyiValueError(f"Expected an Explanation (harsanyi.explain(game)) or the path of a saved one; "
                                 f"received {type(source).__name__}.")
    return Explanation.load(source)


def render_report(explanation, *, title: str | None = None, kappa: float = KAPPA) -> str:
    """The HTML text of one report (see the module docstring)."""
    from . import __version__

    ex = _explanation(explanation)
    salient = ex.salient(kappa)
    top = []
    for concept in ex.concepts(limit=TOP_CONCEPTS):
        joiner = " AND " if concept.kind == "AND" else " OR "
        top.append({"label": f"{concept.kind}: {joiner.join(map(str, concept.players))}", "value": concept.value,
                    "picture": _concept_picture(ex, concept)})
    context = dict(
        title=title or f"harsanyi explanation ({ex.kind}, {ex.n_players} players)", kind=ex.kind,
        kind_sentence=_kind_sentence(ex), prediction=float(ex.values[-1]), v_empty=float(ex.values[0]),
        predicted_class=ex.info.get("predicted_class"), target=ex.info.get("target"),
        output=ex.info.get("output", "value"), n_players=ex.n_players, player_names=list(ex.player_names),
        certificate_passed=bool(ex.andor_certificate.passed), residual=ex.andor_certificate.residual,
        scale=ex.scale, coalitions=1 << ex.n_players, n_concepts=ex.n_concepts, n_salient=len(salient),
        tau=ex.tau, certificate_sentence=ex.certificate_sentence(kappa), caveats=ex.caveats(),
        l1_before=ex.l1_before, l1_after=ex.l1_after, solver_sentence=ex.solver_sentence(), top_concepts=top,
        plots=_plots(ex), salient=salient, kappa=kappa, version=__version__, input_rows=_input_rows(ex),
        words=_words(ex), input_image=_input_image(ex),
    )
    return _environment().get_template("report.html.j2").render(**context)


def _input_rows(ex: Explanation):
    if ex.kind != "tabular":
        return []
    features, row = ex.inputs["features"], ex.inputs["row"]
    groups = ex.inputs.get("groups") or [[j] for j in range(len(row))]
    return [(player, ", ".join(f"{features[j]} = {_value(row[j])}" for j in group))
            for player, group in zip(ex.player_names, groups)]


def _channel_axis(ex: Explanation) -> int | None:
    """The saved image's channel axis: 0, −1, or None for a (H, W) image."""
    axis = ex.inputs.get("channel_axis", 0)
    return None if axis is None else int(axis)


def _value(v) -> str:
    if isinstance(v, str):
        return v  # a category as it is
    return "missing" if v != v else f"{v:.4g}"  # NaN: a missing value; a number to four digits


def _words(ex: Explanation) -> list[tuple[str, bool]]:
    """(word, whether it is a player) for every word of a text."""
    import re

    if ex.kind != "text":
        return []
    words = [re.sub(r"#\d+$", "", str(w)) for w in ex.inputs.get("words", [])]
    players = ex.inputs.get("word_player", range(len(words)))
    return [(word, int(p) >= 0) for word, p in zip(words, players)]


def _input_image(ex: Explanation) -> str | None:
    if ex.kind != "image":
        return None
    from ._sparsity import Concept

    fig, ax = _figure(3.6, 3.6)
    from . import plot

    every = Concept("AND", (1 << ex.n_players) - 1, tuple(ex.player_names), 1.0)
    plot.image_overlay(ex.inputs["image"], ex.inputs["player_map"], every, ax=ax,
                       channel_axis=_channel_axis(ex))
    ax.set_title("the input; outlined: the player patches", fontsize=9)
    return _png(fig)


def _atomic_write(path: Path, text: str) -> Path:
    if path.is_dir():
        raise HarsanyiValueError(f"{str(path)!r} is a folder; pass a file path for the page, e.g. "
                                 f"{str(path / 'report.html')!r}.")
    make_folder(path.parent, f"{str(path)!r}")
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def write_report(explanation, path, *, title: str | None = None, kappa: float = KAPPA) -> Path:
    """Write one self-contained HTML report; returns its path."""
    return _atomic_write(Path(path), render_report(explanation, title=title, kappa=kappa))


def write_index(reports: dict, path, *, title: str = "harsanyi explanations", kappa: float = KAPPA,
                recurring: int = 15) -> Path:
    """An index page linking reports: ``reports`` maps each report's path to its Explanation (or saved file).

    Each row says how many caveats its explanation has (their text on hover; see :meth:`Explanation.caveats`).
    Where two or more explanations have the same players and explain the same class, the page also lists the
    ``recurring`` concepts salient on the most of them, with their sign counts and discrimination power (see
    :func:`harsanyi.concept_statistics`)."""
    path = Path(path)
    if not isinstance(reports, Mapping):
        raise HarsanyiValueError(f"Expected the reports as a mapping {{report path: Explanation or saved file}}; "
                                 f"received {type(reports).__name__}. Write each report with write_report first.")
    entries, groups = [], {}
    for report, explanation in reports.items():
        ex = _explanation(explanation)
        entries.append({"href": os.path.relpath(Path(report), path.parent), "name": Path(report).stem,
                        "prediction": float(ex.values[-1]), "salient": len(ex.salient(kappa)),
                        "passed": bool(ex.andor_certificate.passed), "caveats": ex.caveats()})
        groups.setdefault((ex.player_names, ex.info.get("target")), []).append(ex)
    html = _environment().get_template("index.html.j2").render(
        title=title, entries=entries, kappa=kappa,
        recurring=[_recurring(group, target, kappa, recurring) for (_, target), group in groups.items()
                   if len(group) >= 2 and recurring > 0])
    return _atomic_write(path, html)


def _recurring(group: list, target, kappa: float, limit: int) -> dict:
    """The index's table of the concepts salient on the most explanations of one group (same players and class)."""
    from ._recurrence import concept_statistics

    stats = concept_statistics(group, kappa=kappa)
    discrimination = stats.discrimination_by_frequency()
    concepts = [{"label": c.label, "inputs": c.positive + c.negative, "positive": c.positive, "negative": c.negative,
                 "discrimination": c.discrimination} for c in stats.top(limit)]
    return {"target": target, "inputs": stats.n_inputs, "distinct": len(stats), "concepts": concepts,
            "weighted": discrimination["weighted"], "weighted_chance": discrimination["weighted_chance"]}
