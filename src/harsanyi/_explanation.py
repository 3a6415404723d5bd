"""``Explanation``: everything one explained input carries, in one file — the input, the prediction, the value table,
the certified dividends, Shapley values, pair interactions, the AND-OR concepts with their certificate, and the
multi-order strength. ``explain(game)`` makes one; ``.save()`` / ``Explanation.load()`` keep it (lossless .npz);
the HTML report and the command line are built from it.
"""

from __future__ import annotations

import json
import numbers
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._andor import _check_solver_args, _check_tau, _resolve_method, bound_in_words
from ._array import to_numpy
from ._certificate import Certificate
from ._files import make_folder, npz_path, read_npz, saved_npz, write_npz
from ._game import CLAMPED_SHARE, at_clamp, batch_dependence, clamp_sentence
from ._sparsity import (KAPPA, N_GREEDY, Concept, FidelityCurve, count_concepts, fidelity_curve, ranked_concepts,
                        salient_concepts)
from ._tree import InteractionTree
from ._values import ValueTable
from .exceptions import CacheError, HarsanyiValueError

__all__ = ["Explanation", "explain"]

_FORMAT = "harsanyi.Explanation/1"
_ARRAYS = ("values", "dividends", "shapley", "pairs", "and_", "or_", "noise", "strength", "ratios")


@dataclass(repr=False)
class Explanation:
    """One input explained. Arrays are float64 over all 2ⁿ coalitions (bitmask index) unless said otherwise."""

    kind: str  # "tabular", "image", "text" or "function"
    player_names: tuple
    info: dict  # prediction, target, predicted class, output, scores, …
    inputs: dict  # what the report shows: the row, the image and its player map, or the words
    values: np.ndarray
    dividends: np.ndarray
    shapley: np.ndarray  # (n,)
    pairs: np.ndarray  # k-SII of order 2 (dense; only coalitions of ≤ 2 players set)
    and_: np.ndarray
    or_: np.ndarray
    noise: np.ndarray
    tau: float
    strength: np.ndarray  # (n − 1,) multi-order interaction strength
    ratios: np.ndarray  # (n − 1,) m / n
    dividend_certificate: Certificate
    andor_certificate: Certificate
    solver: dict  # the AND-OR solver report (iterations, seconds, l1, lower bound, gap, converged)
    l1_before: float
    l1_after: float
    extra: dict = field(default_factory=dict)

    @property
    def n_players(self) -> int:
        return len(self.player_names)

    @property
    def scale(self) -> float:
        return abs(float(self.values[-1]) - float(self.values[0]))

    def concepts(self, limit: int | None = None) -> list[Concept]:
        """Every nonzero AND-OR concept (the first ``limit``), by |value| descending."""
        return ranked_concepts(self.and_, self.or_, self.player_names, limit=limit)

    @property
    def n_concepts(self) -> int:
        """The number of nonzero AND-OR concepts."""
        return count_concepts(self.and_, self.or_)

    def salient(self, kappa: float = KAPPA) -> list[Concept]:
        return salient_concepts(self.and_, self.or_, kappa=kappa, player_names=self.player_names)

    def fidelity(self, max_k: int | None = None, *, order: str = "top-k", n_greedy: int = N_GREEDY) -> FidelityCurve:
        """The AND-OR concepts' fidelity curve (see :func:`harsanyi.fidelity_curve`)."""
        return fidelity_curve(self.values, self.and_, self.or_, max_k=max_k, order=order, n_greedy=n_greedy,
                              player_names=self.player_names)

    def dividend_fidelity(self, max_k: int | None = None, *, order: str = "top-k",
                          n_greedy: int = N_GREEDY) -> FidelityCurve:
        """The plain Harsanyi dividends' fidelity curve, for comparison."""
        return fidelity_curve(self.values, self.dividends, max_k=max_k, order=order, n_greedy=n_greedy,
                              player_names=self.player_names)

    def interaction_tree(self) -> InteractionTree:
        """The interaction tree over the players (for text, in the order their words are read, whatever order
        ``select=`` gave them); see :meth:`ValueTable.interaction_tree`."""
        order = None
        if self.kind == "text" and "word_player" in self.inputs:
            first = {}
            for position, player in enumerate(self.inputs["word_player"]):
                first.setdefault(int(player), position)
            order = sorted(range(self.n_players), key=lambda p: first.get(p, p))
        return ValueTable(self.values, player_names=self.player_names).interaction_tree(order)

    def __repr__(self) -> str:
        names = ", ".join(map(str, self.player_names[:4])) + (", …" if self.n_players > 4 else "")
        output, target = self.info.get("output"), self.info.get("target")
        output = "" if output is None else f" ({output}{'' if target is None else f' of class {target}'})"
        certified = self.dividend_certificate.passed and self.andor_certificate.passed
        caveats = self.caveats()
        return (f"Explanation({self.kind}, {self.n_players} players: {names}; v(N) = {float(self.values[-1]):.6g}"
                f"{output}; {len(self.salient()):,} salient AND-OR concepts of {self.n_concepts:,}, optimality gap "
                f"≤ {100 * self.solver['gap']:.2g} %, certificates {'hold' if certified else 'FAIL'}"
                f"{f'; {len(caveats)} caveat(s), see .caveats()' if caveats else ''})")

    def certificate_sentence(self, kappa: float = KAPPA) -> str:
        """The AND-OR certificate in plain words, with the numbers a reader can check."""
        count = len(self.salient(kappa))
        check = self.andor_certificate.checks[0]
        rel = check.residual / self.scale if self.scale > 0 else 0.0
        verdict = "reproduce" if self.andor_certificate.passed else "FAIL to reproduce"
        return (f"These AND-OR concepts ({count:,} salient, |I| ≥ {100 * kappa:g} % of the largest; {self.n_concepts:,} "
                f"nonzero) {verdict} the model's output on all "
                f"{1 << self.n_players:,} masked inputs within {100 * rel:.3g} % of |v(N) − v(∅)| = {self.scale:.4g} "
                f"(bound τ = {100 * self.tau / self.scale if self.scale else 0:.3g} %); the plain Harsanyi dividends "
                f"reproduce them within {self.dividend_certificate.residual:.2e}.")

    def caveats(self) -> list[str]:
        """What the certificates cannot see but the table shows, in plain words: a model whose output on the whole
        input differs alone and in a batch (``info["prediction"]`` against v(N): the table is not a function of the
        coalitions), and at least ``CLAMPED_SHARE`` of the log-odds at the clamp of probabilities
        (``info["at_clamp"]``: the concepts there describe the clamp, not the model). Empty where there is nothing
        to say."""
        out = []
        if self.kind in ("tabular", "image", "text"):
            out.append(batch_dependence(self.info.get("prediction"), self.values))
        at = self.info.get("at_clamp")
        if at is not None and at >= CLAMPED_SHARE * (1 << self.n_players):
            out.append(clamp_sentence(int(at), 1 << self.n_players))
        return [said for said in out if said]

    def solver_sentence(self) -> str:
        """How the AND-OR concepts were found and how close their L1 is to the smallest possible, in plain words."""
        solver = self.solver
        state = "converged" if solver["converged"] else "stopped before its tolerance"
        return (f"{solver['method']}, {state} after {solver['iterations']:,} iterations ({solver['seconds']:.1f} s); "
                f"the L1 {solver['l1']:.6g} is {bound_in_words(solver['gap'])}, from the dual bound "
                f"{solver['lower_bound']:.6g}.")

    # --- files ----------------------------------------------------------------------------------------------------
    def save(self, path) -> Path:
        """Write a lossless .npz (arrays + JSON metadata); written to a temporary name, then moved into place."""
        path = npz_path(path, "the explanation")
        meta = {
            "format": _FORMAT, "kind": self.kind, "player_names": list(self.player_names), "info": self.info,
            "inputs": {k: v for k, v in self.inputs.items() if not isinstance(v, np.ndarray)},
            "tau": self.tau, "dividend_certificate": self.dividend_certificate.to_dict(),
            "andor_certificate": self.andor_certificate.to_dict(), "solver": self.solver,
            "l1_before": self.l1_before, "l1_after": self.l1_after, "extra": self.extra,
        }
        arrays = {name: getattr(self, name) for name in _ARRAYS}
        arrays.update({f"input_{k}": v for k, v in self.inputs.items() if isinstance(v, np.ndarray)})
        write_npz(path, meta, arrays, compress=True)
        return path

    @classmethod
    def load(cls, path) -> "Explanation":
        path = saved_npz(path)
        try:
            meta, stored = read_npz(path)
            missing = [name for name in _ARRAYS if name not in stored]
            if missing:
                raise ValueError(f"the archive has no {missing}")
            arrays = {name: stored[name] for name in _ARRAYS}
            inputs = {k[len("input_"):]: a for k, a in stored.items() if k.startswith("input_")}
        except (OSError, ValueError, KeyError, json.JSONDecodeError, zipfile.BadZipFile) as err:
            raise CacheError(f"Cannot read {str(path)!r} as a harsanyi explanation ({err}). Write it with "
                             f"Explanation.save() or `harsanyi explain`.") from err
        if meta.get("format") != _FORMAT:
            raise CacheError(f"{str(path)!r} is not a harsanyi explanation (format {meta.get('format')!r}).")
        inputs.update(meta["inputs"])
        return cls(meta["kind"], tuple(meta["player_names"]), meta["info"], inputs, tau=float(meta["tau"]),
                   dividend_certificate=Certificate.from_dict(meta["dividend_certificate"]),
                   andor_certificate=Certificate.from_dict(meta["andor_certificate"]), solver=meta["solver"],
                   l1_before=float(meta["l1_before"]), l1_after=float(meta["l1_after"]), extra=meta["extra"],
                   **arrays)


def _inputs_of(game) -> dict:
    info = game.info
    kind = info.get("kind", "function")
    if kind == "tabular":
        names = info.get("feature_names") or [f"x{j}" for j in range(len(info["x"]))]
        row = [float(v) if isinstance(v, numbers.Real) else str(v) for v in info["x"]]  # categories as text
        return {"features": list(names), "row": row, "groups": info.get("groups")}
    if kind == "image":
        hook = getattr(game, "_learnable", None)
        x = to_numpy(hook.input).astype(np.float64) if hook is not None else None
        return {"image": x, "player_map": np.asarray(info["player_map"]), "channel_axis": info.get("channel_axis", 0)}
    if kind == "text":  # every word of the text, and the player of each (−1: not a player, always there)
        words = info.get("words", list(game.player_names))
        return {"words": list(words), "word_player": list(info.get("word_player", range(len(words)))),
                "text": info.get("text")}
    return {}


def explain(game, *, table: ValueTable | None = None, qthres: float = 0.02, time_limit: float | None = 60.0,
            max_iter: int | None = None, tol: float = 1e-3, batch_size: int | None = None, cache=None,
            progress: bool | None = None) -> Explanation:
    """The whole pipeline on one game: evaluate (or use ``table``), dividends, Shapley values, k-SII pairs, AND-OR
    concepts (``qthres``, stopped by ``tol`` / ``time_limit`` / ``max_iter``), multi-order strength.

    ``cache``: a directory an interrupted evaluation resumes from; where the AND-OR concepts are found by the
    splitting (n > 15), its checkpoint is kept there too, so the same call again goes on with the AND-OR run for
    another ``time_limit`` (a tighter certified gap; ``max_iter`` counts every call's iterations) instead of
    starting it afresh."""
    from ._game import Game

    if not isinstance(game, Game):
        raise HarsanyiValueError(
            f"explain() takes a Game (the model and the one input, with its players); received "
            f"{type(game).__name__}. Build it first, e.g. explain(Game.tabular(model, x)), Game.image(model, image, "
            f"grid=(4, 4)) or Game.text(model, text=..., tokenizer=...)."
        )
    _check_tau(None, qthres, 1.0)  # the AND-OR arguments are checked before minutes of evaluation, not after
    _check_solver_args(tol, max_iter, time_limit)
    if table is None:
        table = game.evaluate(batch_size=batch_size, cache=cache, progress=progress)
    elif table.n_players != game.n_players:
        raise HarsanyiValueError(f"The table has {table.n_players} players; the game has {game.n_players}.")
    dividends = table.harsanyi()
    checkpoint = None
    if cache is not None and _resolve_method("auto", table.n_players) == "splitting":
        make_folder(cache, f"the cache {str(cache)!r}")
        checkpoint = Path(cache) / "and-or-checkpoint.npz"
    concepts = table.and_or(qthres=qthres, time_limit=time_limit, max_iter=max_iter, tol=tol, progress=progress,
                            checkpoint=checkpoint)
    multi = table.multi_order() if game.n_players >= 2 else None
    solver = concepts.solver
    clamped = at_clamp(table.values, game.info)
    return Explanation(
        kind=game.info.get("kind", "function"),
        player_names=tuple(game.player_names or [str(i) for i in range(game.n_players)]),
        info={**{k: v for k, v in game.info.items() if k in ("output", "target", "predicted_class", "prediction",
                                                             "scores", "model_output", "kind")},
              **({} if clamped is None else {"at_clamp": clamped})},
        inputs=_inputs_of(game), values=table.values.copy(), dividends=dividends.values.copy(),
        shapley=table.shapley(), pairs=table.index("k-SII", min(2, game.n_players)).values.copy(),
        and_=concepts.and_.values.copy(), or_=concepts.or_.values.copy(), noise=concepts.noise, tau=concepts.tau,
        strength=multi.strength if multi else np.zeros(0), ratios=multi.ratios if multi else np.zeros(0),
        dividend_certificate=dividends.certificate, andor_certificate=concepts.certificate,
        solver={"method": solver.method, "iterations": solver.iterations, "restarts": solver.restarts,
                "seconds": solver.seconds, "l1": solver.l1, "lower_bound": solver.lower_bound, "gap": solver.gap,
                "tolerance": solver.tolerance, "converged": solver.converged},
        l1_before=concepts.l1_before, l1_after=concepts.l1_after)
