"""Learned baseline values (SPEC §3b): the baseline within bounds that makes the AND concepts sparsest.

Objective L(b) = Σ_S |I_and(S; b)| with I_and = μ v_b. Its gradient goes through the model:
∂L/∂b = Σ_S c_S ∂v_b(S)/∂b with c = μᵀ sign(I_and), and μᵀ is the superset-Möbius transform (the adjoint of μ).
Every step evaluates all 2ⁿ coalitions twice in batches on the model's device: once without gradients (the table,
its dividends, L and c), once with gradients of Σ_S c_S v_b(S), one batch at a time (the weights c are constants, so
batches never need to share a graph). The baseline lives in its box: b = lower + u·(upper − lower) with u ∈ [0, 1],
u moved by Adam and clipped after every step. The lowest-L iterate is returned, so L never ends above its start.

With a checkpoint file the state (u, Adam's moments, the history and the best baseline with its table) is saved after
every step, whole or not at all; the same call again goes on from the last saved step on the same iterates.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass, field

import numpy as np

from ._array import to_numpy
from ._files import Checkpoint
from ._game import CLAMPED_SHARE, at_clamp, clamp_sentence
from ._progress import progress_bar
from ._transforms import subset_moebius, superset_moebius
from ._values import ValueTable
from .exceptions import HarsanyiValueError

__all__ = ["BaselineResult", "learn_baseline"]


@dataclass(frozen=True)
class BaselineResult:
    """The learned baseline and its evidence.

    ``baseline``: the input-shaped array; ``game`` / ``table``: the game at that baseline and its value table;
    ``l1_before`` / ``l1_after``: Σ|I_and| at the starting and the returned baseline; ``history``: Σ|I_and| at
    every step (the baseline the step started from); ``at_clamp``: for log-odds of probabilities, how many of the
    table's values sit at the clamp (±16.1; None for other outputs): a baseline that puts many masked inputs there
    lowers the L1 with the clamp's plateaus, not with sparser concepts of the model.
    """

    baseline: np.ndarray
    game: object
    table: ValueTable
    l1_before: float
    l1_after: float
    history: tuple = field(repr=False)
    at_clamp: int | None = None

    def __repr__(self) -> str:
        clamped = "" if not self.at_clamp else f"; {self.at_clamp:,} of {self.table.values.size:,} at the clamp"
        return (f"BaselineResult(L1 of the AND concepts {self.l1_before:.6g} → {self.l1_after:.6g} in "
                f"{len(self.history) - 1} steps{clamped})")


def _box(bound, like, name: str):
    import torch

    try:
        arr = torch.as_tensor(np.asarray(to_numpy(bound), dtype=np.float64), device=like.device).to(like.dtype)
        return torch.broadcast_to(arr, like.shape).clone()
    except (RuntimeError, ValueError, TypeError) as err:
        why = "" if isinstance(err, RuntimeError) else f" ({err})"  # torch's broadcast message repeats the shapes
        raise HarsanyiValueError(
            f"Expected {name} to be a number or an array broadcastable to the input's shape {tuple(like.shape)}; "
            f"received {np.shape(bound)}{why}."
        ) from None


class _Checkpoint(Checkpoint):
    """The state of a baseline search in one .npz file (see :class:`harsanyi._files.Checkpoint`), with what
    identifies the search: n, the input's shape, lr, the player names, and a SHA-256 of the input, which player owns
    each of its elements, the box, the starting baseline and the model's output on the input."""

    def __init__(self, path, game, start, lo, hi, lr: float):
        digest = hashlib.sha256()
        for part in (game._learnable.input, game._learnable.masker.owner, start, lo, hi):
            digest.update(np.ascontiguousarray(to_numpy(part), dtype=np.float64).tobytes())
        digest.update(np.float64(game.info.get("prediction", 0.0)).tobytes())
        shape = tuple(start.shape)
        identity = {"format": "harsanyi.baseline-checkpoint/2", "n": game.n_players,
                    "players": list(game.player_names or []), "shape": list(shape), "lr": float(lr),
                    "problem": digest.hexdigest()}
        shapes = {**{name: shape for name in ("u", "exp_avg", "exp_avg_sq", "best_baseline")},
                  "best_values": (1 << game.n_players,)}
        super().__init__(path, identity, shapes, what="the baseline checkpoint", problem="search",
                         resumes="the same game, bounds and lr", every=0.0, example="baseline-checkpoint.npz")


def learn_baseline(game, lower, upper, *, steps: int = 50, lr: float = 0.05, batch_size: int | None = None,
                   progress: bool | None = None, checkpoint=None) -> BaselineResult:
    """See :meth:`harsanyi.Game.learn_baseline`."""
    import torch

    hook = getattr(game, "_learnable", None)
    if hook is None or not hook.model.is_torch:
        raise HarsanyiValueError(
            "learn_baseline needs a game built with Game.tabular/image/text from a torch model (the gradient flows "
            "through the model); this game calls a plain function or a scikit-learn estimator."
        )
    start = hook.baseline
    if not torch.is_floating_point(start):
        raise HarsanyiValueError(
            "This game masks with token ids, which cannot be learned continuously. Build the text game with "
            "embedding=... (masking at the embedding level) to learn a baseline embedding."
        )
    lo, hi = _box(lower, start, "lower"), _box(upper, start, "upper")
    if bool((lo > hi).any()):
        raise HarsanyiValueError("Expected lower ≤ upper everywhere; some lower bounds exceed their upper bounds.")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise HarsanyiValueError(f"Expected steps to be a positive integer; received {steps!r}.")
    if not (isinstance(lr, (int, float)) and lr > 0):
        raise HarsanyiValueError(f"Expected lr > 0 (a fraction of the box width per step); received {lr!r}.")
    n = game.n_players
    batch = int(batch_size or max(1, game._auto_batch_size() // 4))
    width = hi - lo
    u = torch.where(width > 0, (start.clamp(lo, hi) - lo) / torch.where(width > 0, width, 1.0), 0.0)
    u = u.detach().clone().requires_grad_(True)
    optimiser = torch.optim.Adam([u], lr=lr)
    history, best = [], None
    saver = None if checkpoint is None else _Checkpoint(checkpoint, game, start, lo, hi, lr)
    saved = saver.load() if saver is not None else None
    if saved is not None:  # go on from the last saved step: u, Adam's moments and step count, the best so far
        state, arrays = saved
        history = list(state["history"])
        with torch.no_grad():
            u.copy_(torch.as_tensor(arrays["u"], device=u.device))
        moments = {"step": torch.tensor(float(state["adam_step"])),
                   "exp_avg": torch.as_tensor(arrays["exp_avg"], device=u.device).to(u.dtype),
                   "exp_avg_sq": torch.as_tensor(arrays["exp_avg_sq"], device=u.device).to(u.dtype)}
        optimiser.load_state_dict({"state": {0: moments}, "param_groups": optimiser.state_dict()["param_groups"]})
        best = (state["best_l1"], torch.as_tensor(arrays["best_baseline"], device=u.device).to(start.dtype),
                ValueTable(arrays["best_values"], player_names=game.player_names))
    show = progress if progress is not None else 2 * (steps + 1) << n > (1 << 14)  # as evaluate: > 2¹⁴ model calls
    with progress_bar(total=steps, initial=min(len(history), steps), disable=not show, unit="step",
                      desc="learning the baseline") as bar, warnings.catch_warnings():
        # the clamp is said once, of the baseline returned (below), not at every step
        warnings.filterwarnings("ignore", message=".*log-odds are clamped", category=UserWarning)
        for step in range(len(history), steps + 1):
            baseline = (lo + u * width).detach()
            table = hook.game_at(baseline).evaluate(batch_size=batch, progress=False)
            dividends = subset_moebius(table.values)
            l1 = float(np.abs(dividends).sum())
            history.append(l1)
            if best is None or l1 < best[0]:
                best = (l1, baseline, table)
            if step == steps:
                break
            weights = torch.as_tensor(superset_moebius(np.sign(dividends)), device=u.device)  # c = μᵀ sign(I)
            optimiser.zero_grad()
            for first in range(0, 1 << n, batch):
                masks = game._masks(first, min(first + batch, 1 << n))
                values = hook.values_with_grad(masks, lo + u * width)
                (weights[first:first + masks.shape[0]] * values).sum().backward()
            optimiser.step()
            with torch.no_grad():
                u.clamp_(0.0, 1.0)
            if saver is not None:
                moments = optimiser.state[u]
                saver.save({"history": history, "adam_step": float(moments["step"]), "best_l1": best[0]},
                           {"u": u.detach().double(), "exp_avg": moments["exp_avg"].double(),
                            "exp_avg_sq": moments["exp_avg_sq"].double(), "best_baseline": best[1].double(),
                            "best_values": best[2].values})
            bar.set_postfix_str(f"L1 {l1:.6g}", refresh=False)
            bar.update(1)
    l1, baseline, table = best
    learned = hook.game_at(baseline)
    clamped = at_clamp(table.values, learned.info)
    if clamped is not None and clamped >= CLAMPED_SHARE * table.values.size:
        warnings.warn(f"At the learned baseline, {clamp_sentence(clamped, table.values.size)} Part of the lower L1 "
                      f"({history[0]:.6g} → {l1:.6g}) may be those plateaus rather than sparser concepts of the model. "
                      f"Learn the baseline on logits (a torch model without its final softmax) instead.", UserWarning,
                      stacklevel=3)
    return BaselineResult(to_numpy(baseline).copy(), learned, table, history[0], l1, tuple(history), clamped)
