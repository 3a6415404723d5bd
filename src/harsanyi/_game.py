"""``Game``: n players, and the value v(S) of any batch of coalitions; ``evaluate`` builds the 2ⁿ value table."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ._array import is_torch, to_numpy
from ._files import make_folder
from ._interactions import check_player_names
from ._malloc import keep_heap_blocks
from ._models import LOG_ODDS_EPS
from ._progress import progress_bar
from ._sampling import MultiOrderEstimate, sample_multi_order
from ._values import MAX_PLAYERS, ValueTable
from .exceptions import (
    CacheError,
    ExponentialCostWarning,
    HarsanyiValueError,
    MemoryBudgetError,
    ModelOutputError,
)

__all__ = ["Game"]

WARN_PLAYERS = 24  # from here on an exact run warns about its 2ⁿ cost before it starts
# The automatic batch holds about this much model input. On the CPU a small batch keeps its activations in cache:
# with 1 MiB instead of 64 MiB, all 2¹⁶ coalitions of the bundled MNIST CNN take 15 s instead of 30 s (batches of 128,
# not 8 192) and 2⁸ of EfficientNet-Lite0 5.8 s instead of 12.2 s (1, not 32); an MLP's are as fast either way
# (bench/batch.py, BENCHMARKS.md). On a GPU larger batches fill the device.
_AUTO_BATCH_BYTES = {"cpu": 1 << 20, "accelerator": 64 << 20}
_MAX_AUTO_BATCH = 1 << 16
_CACHE_FORMAT = "harsanyi.cache/2"  # 2: the probe holds every single player too
CLAMPED_SHARE = 0.05  # evaluate warns where at least this share of log-odds values sit at the clamp of probabilities
_CLAMP = float(np.log((1 - LOG_ODDS_EPS) / LOG_ODDS_EPS))  # |log-odds| of a clamped probability, ≈ 16.1


def _gib(nbytes: float) -> str:
    return f"{nbytes / 2**30:.3g} GiB"


def available_memory() -> int:
    """Bytes of physical memory available now (Linux), else the total physical memory."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:  # pragma: no cover - non-Linux
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")  # pragma: no cover


class Game:
    """A cooperative game: ``n_players`` players and a value for every coalition.

    Build one with :meth:`from_function` (any callable on boolean masks) or from a model and one input with
    :meth:`tabular`, :meth:`image` or :meth:`text`; then :meth:`evaluate` computes all 2ⁿ values.

    >>> import numpy as np
    >>> game = Game.from_function(lambda masks: masks.sum(axis=1) ** 2, n_players=3)
    >>> game(np.array([[True, True, False]]))
    array([4.])
    >>> game.evaluate().shapley()
    array([3., 3., 3.])
    """

    def __init__(
        self,
        values: Callable,
        n_players: int,
        *,
        player_names: Sequence[str] | None = None,
        backend: str = "numpy",
        device=None,
        bytes_per_coalition: int = 0,
        info: dict | None = None,
        rebuild: Callable | None = None,
        values_range: Callable | None = None,
    ):
        if isinstance(n_players, bool) or not isinstance(n_players, (int, np.integer)) or n_players < 1:
            raise HarsanyiValueError(f"Expected n_players to be a positive integer; received {n_players!r}.")
        self._values = values  # backend bool masks (m, n) -> backend float64 values (m,)
        self._n = int(n_players)
        self._names = check_player_names(player_names, self._n)
        self._backend = backend
        self._device = device
        self._bytes_per_coalition = int(bytes_per_coalition)
        self.info = dict(info or {})
        self._rebuild = rebuild
        # optional fast path: (start, stop) -> the values of the coalitions with bitmasks start … stop − 1
        self._values_range = values_range
        self._learnable = None  # set by the model builders: what learn_baseline needs (torch models)

    # --- construction ---------------------------------------------------------------------------------------------
    @classmethod
    def from_function(cls, fn: Callable, n_players: int, *, player_names: Sequence[str] | None = None) -> "Game":
        """A game from any callable mapping a boolean array of masks (m, n_players) to m values."""
        if not callable(fn):
            raise HarsanyiValueError(f"Expected a callable on (m, n_players) boolean masks; received {type(fn).__name__}.")
        return cls(lambda masks: np.asarray(fn(masks)), n_players, player_names=player_names,
                   info={"kind": "function"})

    @classmethod
    def tabular(cls, model, x, **kwargs) -> "Game":
        """A game over the features of one tabular input; see :func:`harsanyi._builders.tabular_game`."""
        from ._builders import tabular_game

        return tabular_game(model, x, **kwargs)

    @classmethod
    def image(cls, model, image, **kwargs) -> "Game":
        """A game over patches or segments of one image; see :func:`harsanyi._builders.image_game`."""
        from ._builders import image_game

        return image_game(model, image, **kwargs)

    @classmethod
    def text(cls, model, input_ids=None, **kwargs) -> "Game":
        """A game over the words or tokens of one text; see :func:`harsanyi._builders.text_game`."""
        from ._builders import text_game

        return text_game(model, input_ids, **kwargs)

    # --- what it is -----------------------------------------------------------------------------------------------
    @property
    def n_players(self) -> int:
        return self._n

    @property
    def player_names(self) -> tuple[str, ...] | None:
        return self._names

    @property
    def device(self):
        return self._device

    def __repr__(self) -> str:
        kind = self.info.get("kind", "function")
        return f"Game({kind}, n_players={self._n}, backend={self._backend}{'' if self._device is None else f', device={self._device}'})"

    def to(self, device) -> "Game":
        """The same game evaluated on ``device`` (torch games only; the model is moved there)."""
        if self._rebuild is None:
            raise HarsanyiValueError(
                f"device={device!r} applies to games built from a torch model; this game calls a plain function. "
                f"Drop device, or build the game with Game.tabular/image/text from a torch model."
            )
        return self._rebuild(device=device)

    def learn_baseline(self, lower, upper, *, steps: int = 50, lr: float = 0.05, batch_size: int | None = None,
                       progress: bool | None = None, checkpoint=None):
        """Learn the baseline values within [lower, upper] that make the AND concepts sparsest (SPEC §3b).

        ``lower``, ``upper``: numbers or arrays broadcastable to the input's shape (e.g. the training mean ± a
        margin, or the data range; equal bounds keep an element fixed). Each of ``steps`` Adam steps (step size
        ``lr`` × the box width) re-evaluates all 2ⁿ coalitions with and without gradients, in batches on the
        model's device. Returns a :class:`~harsanyi._baselines.BaselineResult` with the baseline, the game and
        value table at it, and Σ|I_and| before, after and at every step. Torch models only.

        ``checkpoint``: a file the search is saved to after every step; the same call again (same game, bounds and
        ``lr``) goes on from the last saved step on the same iterates, up to ``steps`` in all. ``progress``: a bar
        over the steps (default: when the search makes more than 2¹⁴ model calls in all).
        """
        from ._baselines import learn_baseline

        self._check_exact()
        keep_heap_blocks()
        return learn_baseline(self, lower, upper, steps=steps, lr=lr, batch_size=batch_size, progress=progress,
                              checkpoint=checkpoint)

    # --- evaluation -------------------------------------------------------------------------------------------------
    def multi_order_sampled(self, *, orders=None, pairs=None, samples: int = 100, seed: int = 0,
                            batch_size: int = 4096, progress: bool | None = None,
                            checkpoint=None) -> MultiOrderEstimate:
        """Multi-order interactions I⁽ᵐ⁾(i, j) estimated by sampling, with standard errors (SPEC §5), for games too
        large for :meth:`evaluate` (the exact :meth:`ValueTable.multi_order` is the one to use up to about 20
        players).

        ``orders``: the m to estimate (default: all, or 21 spread over 0 … n − 2). ``pairs``: how many pairs to draw
        at random (default min(all, 50)) or a list of (i, j) by positions or names. ``samples``: coalitions S per
        (m, pair), each four model calls (so 21 orders × 50 pairs × 100 samples = 420 000 calls). ``seed`` makes the
        draws reproducible. ``checkpoint``: a file (e.g. ``"orders.npz"``) the estimates of the pairs done are saved
        to, whole or not at all, every 10 s and when the run is interrupted; the same call again goes on from there
        (n + 2 model calls check that it is the same game) and returns what an unbroken run returns. See
        :class:`harsanyi.MultiOrderEstimate`."""
        keep_heap_blocks()
        return sample_multi_order(self, orders=orders, pairs=pairs, samples=samples, seed=seed,
                                  batch_size=batch_size, progress=progress, checkpoint=checkpoint)

    def _check_exact(self) -> None:
        """Exact methods (all 2ⁿ coalitions) take at most MAX_PLAYERS players; sampling takes any number."""
        if self._n > MAX_PLAYERS:
            raise HarsanyiValueError(
                f"Expected at most {MAX_PLAYERS} players for an exact evaluation of all 2^n coalitions; this game has "
                f"{self._n}. Group variables into fewer players, or use the sampled estimate "
                f"game.multi_order_sampled()."
            )

    def _masks(self, start: int, stop: int):
        """Boolean masks (stop − start, n) of the coalitions with bitmasks start … stop − 1, by bit operations."""
        if self._backend == "torch":
            import torch

            idx = torch.arange(start, stop, device=self._device, dtype=torch.int64)
            bits = torch.arange(self._n, device=self._device, dtype=torch.int64)
            return ((idx[:, None] >> bits) & 1).bool()  # (m, n)
        idx = np.arange(start, stop, dtype=np.int64)
        return ((idx[:, None] >> np.arange(self._n)) & 1).astype(bool)  # (m, n)

    def _range_values(self, start: int, stop: int) -> np.ndarray:
        """The checked values of the coalitions with bitmasks start … stop − 1."""
        if self._values_range is None:
            return self._checked_values(self._masks(start, stop))
        return self._checked_values(None, out=self._values_range(start, stop), start=start, m=stop - start)

    def _checked_values(self, masks, *, out=None, start: int = 0, m: int | None = None):
        """The game's values on backend masks (or ``out``, the values of coalitions start …), checked to be m
        finite numbers, as float64 NumPy (m,)."""
        if out is None:
            m = masks.shape[0]
            out = self._values(masks)
        out = to_numpy(out) if is_torch(out) else np.asarray(out)
        if out.ndim == 2 and out.shape[1] == 1:
            out = out[:, 0]
        if out.shape != (m,):
            raise ModelOutputError(
                f"Expected one scalar value per coalition, shape ({m},); the game returned shape {out.shape}. "
                f"Choose a scalar output (e.g. output='log-odds' with a target class) or reduce the model output."
            )
        if np.iscomplexobj(out):  # casting would drop the imaginary part, with only a warning
            raise ModelOutputError(f"Expected real values; the game returned complex numbers ({out.dtype}). Return "
                                   f"the real quantity to explain (its real part, or its magnitude).")
        try:
            out = out.astype(np.float64, copy=False)
        except (TypeError, ValueError) as err:
            raise ModelOutputError(f"Expected numeric values; the game returned dtype {out.dtype}.") from err
        # a NaN or inf propagates into the sum, so a finite sum clears the batch in one pass (an overflowing sum of
        # finite values is looked at elementwise)
        bad = None if np.isfinite(out.sum()) else ~np.isfinite(out)
        if bad is not None and bad.any():
            rows = np.flatnonzero(bad)[:5]
            if masks is None:
                examples = [tuple(i for i in range(self._n) if (start + int(r)) >> i & 1) for r in rows]
            else:
                examples = [tuple(np.flatnonzero(to_numpy(masks[r])).tolist()) for r in rows]
            raise ModelOutputError(
                f"The game returned NaN or inf for {int(bad.sum())} of {m} coalitions, e.g. coalitions {examples}. "
                f"Check the model on those masked inputs; for probabilities near 0 or 1 use output='log-odds', "
                f"which is computed stably from logits or clamps probabilities to [1e-7, 1 − 1e-7]."
            )
        return out

    def __call__(self, masks) -> np.ndarray:
        """v(S) for a batch of coalitions given as a boolean array of shape (m, n_players)."""
        arr = np.asarray(to_numpy(masks))
        if arr.ndim == 1 and arr.shape[0] == self._n:
            arr = arr[None, :]
        if arr.ndim != 2 or arr.shape[1] != self._n:
            raise HarsanyiValueError(
                f"Expected masks of shape (m, {self._n}): one row per coalition, one column per player; received "
                f"shape {arr.shape}."
            )
        if arr.dtype != bool:
            if not np.isin(arr, (0, 1)).all():
                raise HarsanyiValueError("Expected boolean masks (or 0/1); received other values.")
            arr = arr.astype(bool)
        if self._backend == "torch":
            import torch

            arr = torch.as_tensor(arr, device=self._device)
        return self._checked_values(arr)

    def _auto_batch_size(self) -> int:
        on_cpu = self._device is None or str(self._device).split(":")[0] == "cpu"
        budget = _AUTO_BATCH_BYTES["cpu" if on_cpu else "accelerator"]
        per = max(self._bytes_per_coalition, 8 * self._n, 1)
        size = 1 << max(int(np.log2(max(budget // per, 1))), 0)
        return int(min(size, _MAX_AUTO_BATCH, 1 << self._n))

    def memory_estimate(self, batch_size: int) -> dict[str, int]:
        """Bytes an exact run needs: the table and its transforms (four float64 arrays of 2ⁿ) and one batch."""
        table = 4 * 8 * (1 << self._n)
        batch = batch_size * (3 * max(self._bytes_per_coalition, 8) + 24 * self._n)
        return {"table": table, "batch": batch, "total": table + batch}

    def evaluate(
        self,
        *,
        batch_size: int | None = None,
        device=None,
        progress: bool | None = None,
        cache: str | os.PathLike | None = None,
        max_memory: int | None = None,
    ) -> ValueTable:
        """Evaluate all 2ⁿ coalitions once, in bitmask order, in batches; returns the :class:`ValueTable`.

        ``batch_size``: coalitions per model call (default: about 1 MiB of model input on the CPU, where a small
        batch stays in cache, 64 MiB on a GPU; a power of two, at most 2¹⁶).
        ``device``: run a torch game there (the model is moved). ``progress``: show a progress bar (default: when
        there are more than 2¹⁴ coalitions). ``cache``: a directory; an interrupted run started with the same cache
        resumes where it stopped (finished batches are never recomputed). ``max_memory``: the budget in bytes
        (default: the memory available now); a run that would exceed it is refused before it starts.

        On Linux the first evaluation of a process raises glibc malloc's mmap and trim thresholds (to 32 and 64 MiB),
        so that each batch's activations reuse the last batch's memory instead of fresh pages; ``MALLOC_*``
        variables or another allocator in ``LD_PRELOAD`` are left to decide (see ``harsanyi._malloc``).
        """
        if device is not None:
            return self.to(device).evaluate(batch_size=batch_size, progress=progress, cache=cache, max_memory=max_memory)
        self._check_exact()
        keep_heap_blocks()  # a batch's activations reuse the last batch's memory instead of faulting in fresh pages
        n, total = self._n, 1 << self._n
        if batch_size is None:
            batch_size = self._auto_batch_size()
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise HarsanyiValueError(f"Expected batch_size to be a positive integer; received {batch_size!r}.")
        batch_size = int(min(batch_size, total))
        need = self.memory_estimate(batch_size)
        number = isinstance(max_memory, (int, float, np.integer, np.floating)) and not isinstance(max_memory, bool)
        if max_memory is not None and not (number and max_memory > 0):
            raise HarsanyiValueError(f"Expected max_memory as a number of bytes > 0 (e.g. 2 * 2**30 for 2 GiB); "
                                     f"received {max_memory!r}.")
        budget = int(max_memory) if max_memory is not None else available_memory()
        if need["total"] > budget:
            # the largest batch that fits beside the table, if one does: then a smaller batch is the fix
            fits = (budget - need["table"]) * batch_size // need["batch"]
            fits = 1 << (fits.bit_length() - 1) if fits >= 1 else None
            smaller = f"batch_size={fits:,} (or less), " if fits else ""
            needs = (f"Evaluating all 2^{n} = {total:,} coalitions needs about {_gib(need['total'])} (value table and "
                     f"transforms {_gib(need['table'])}, one batch of {batch_size:,} inputs {_gib(need['batch'])}), but "
                     f"the budget is {_gib(budget)}.")
            raise MemoryBudgetError(
                f"{needs} Fix: {smaller}use fewer players (group features with players=, choose image cells with "
                f"cells= or words with select=), or for multi-order interactions the sampled estimate "
                f"game.multi_order_sampled(); pass max_memory= if you know more memory is free.",
                batch_size=fits, need=needs,
            )
        if n >= WARN_PLAYERS:
            warnings.warn(
                f"Exact evaluation of {n} players costs 2^{n} = {total:,} model calls and {_gib(need['table'])} of "
                f"memory; it can take a long time. Group players to cut the cost in half per player removed.",
                ExponentialCostWarning,
                stacklevel=2,
            )
        store = _Store(n, batch_size) if cache is None else _CacheStore.open(Path(cache), self, batch_size)
        pending = store.pending()
        if progress is None:
            progress = total > (1 << 14)
        with progress_bar(total=total, initial=total - store.remaining(), unit="coalition", unit_scale=True,
                          disable=not progress, desc=f"evaluating 2^{n} coalitions") as bar:
            for chunk in pending:
                start, stop = store.bounds(chunk)
                store.write(chunk, self._range_values(start, stop))
                bar.update(stop - start)
        values = store.values()
        self._check_batch_independent(values)
        self._check_clamped(values)
        return ValueTable(values, player_names=self._names, _owned=True)  # no second 2^n copy

    def _check_batch_independent(self, values: np.ndarray) -> None:
        """Warn where v(N) in the table, computed in a batch, differs from the model's output on the input alone
        (computed when the game was built): see :func:`batch_dependence`."""
        if self.info.get("kind") not in ("tabular", "image", "text"):
            return
        said = batch_dependence(self.info.get("prediction"), values)
        if said:
            warnings.warn(f"{said} Make the model deterministic per input (model.eval()) before trusting this "
                          f"explanation.", UserWarning, stacklevel=3)

    def _check_clamped(self, values: np.ndarray) -> None:
        """Warn where at least ``CLAMPED_SHARE`` of the values are log-odds of probabilities at their clamp
        (:func:`at_clamp`): the concepts would describe the clamp's plateaus, not the model."""
        at = at_clamp(values, self.info)
        if at is not None and at >= CLAMPED_SHARE * values.size:
            warnings.warn(f"{clamp_sentence(at, values.size)} Explain scores that do not saturate: logits (a torch "
                          f"model without its final softmax; output='logit' for a scikit-learn classifier with a "
                          f"decision_function), or output='prob'.", UserWarning, stacklevel=3)


def batch_dependence(alone, values: np.ndarray) -> str | None:
    """Where v(N) in the table (``values``), computed in a batch, differs from the model's output on the input alone
    (``alone``, computed when the game was built; None: not known), the model's outputs depend on the batch (batch
    statistics, state), so the table is not a function of the coalitions: that, in plain words; else None. The
    tolerance, 1 % of max(1, |v(N) − v(∅)|), is far above float32's batch-to-batch rounding (TF32 convolutions on a
    GPU included)."""
    if alone is None:
        return None
    tolerance = 1e-2 * max(1.0, abs(float(values[-1]) - float(values[0])))
    if abs(float(values[-1]) - float(alone)) <= tolerance:
        return None
    return (f"The model's output on the whole input is {float(alone):.6g} alone but {float(values[-1]):.6g} in a "
            f"batch: it depends on the other inputs of the batch (batch norm in training mode, a stateful or random "
            f"model), so the value table is not a function of the coalitions.")


def at_clamp(values: np.ndarray, info: dict) -> int | None:
    """How many ``values`` are log-odds of probabilities at their clamp: a probability within ``LOG_ODDS_EPS`` of 0
    or 1 is clamped there, so all such coalitions get the same ±log((1 − ε)/ε) ≈ ±16.1. None where the game
    (``info``: its ``Game.info``) does not explain log-odds of probabilities."""
    if info.get("output") != "log-odds" or info.get("model_output") != "probabilities":
        return None
    # log(1 − ε) − log(ε) rounds alike in NumPy and torch to within a few ulps; 1e-9 of slack takes in any rounding,
    # and no unclamped probability comes that close (that needs p within 1e-7 · (1 + 2e-8) of 0 or 1)
    bound = _CLAMP * (1 - 1e-9)
    if -bound < values.min() and values.max() < bound:  # the usual case: two reductions, no 2ⁿ temporary
        return 0
    return int(np.count_nonzero(values >= bound) + np.count_nonzero(values <= -bound))


def clamp_sentence(at: int, total: int) -> str:
    """``at`` of ``total`` log-odds values at the clamp, in plain words."""
    return (f"{at:,} of the {total:,} masked inputs ({at / total:.0%}) have a class probability within "
            f"{LOG_ODDS_EPS:g} of 0 or 1, where log-odds are clamped to ±{_CLAMP:.1f}: the table holds the clamp "
            f"there, not the model's evidence, and the concepts describe its plateaus.")


class _Store:
    """The value table in memory, filled chunk by chunk."""

    def __init__(self, n: int, chunk: int):
        self.n, self.chunk = n, chunk
        self.n_chunks = -(-(1 << n) // chunk)
        self._values = np.empty(1 << n, dtype=np.float64)

    def bounds(self, chunk: int) -> tuple[int, int]:
        return chunk * self.chunk, min((chunk + 1) * self.chunk, 1 << self.n)

    def pending(self) -> list[int]:
        return list(range(self.n_chunks))

    def remaining(self) -> int:
        return 1 << self.n

    def write(self, chunk: int, values: np.ndarray) -> None:
        start, stop = self.bounds(chunk)
        self._values[start:stop] = values

    def values(self) -> np.ndarray:
        return self._values


def probe(game: Game) -> list[float]:
    """v(∅), v(N), then v({i}) for every player i (n + 2 model calls): what ties a saved run to its game."""
    n = game.n_players
    full = np.concatenate([np.zeros((1, n), bool), np.ones((1, n), bool), np.eye(n, dtype=bool)])
    if game._backend == "torch":
        import torch

        full = torch.as_tensor(full, device=game.device)
    return game._checked_values(full).tolist()


def other_game(saved_names, saved_probe, game: Game, probe_now) -> str | None:
    """How a saved run's game (its player names and :func:`probe`) differs from ``game``'s, in words, or None where
    they agree (the values to 1e-6, relative to the largest of them and 1)."""
    from ._builders import _listed

    def are(players) -> str:
        return f"are {_listed(players)}" if players else "are unnamed"

    names = list(game.player_names) if game.player_names else None
    if saved_names != names:
        return f"its players {are(saved_names)}, this game's {are(names)}"
    if np.shape(saved_probe) != np.shape(probe_now):
        return f"it records {len(saved_probe) - 2} players, this game has {len(probe_now) - 2}"
    scale = max(1.0, *map(abs, probe_now))
    if np.allclose(saved_probe, probe_now, rtol=1e-6, atol=1e-6 * scale):
        return None
    worst = int(np.argmax(np.abs(np.subtract(saved_probe, probe_now))))
    player = worst - 2 if names is None or worst < 2 else names[worst - 2]
    where = ["v(∅)", "v(N)"][worst] if worst < 2 else f"v({{{player}}})"
    return f"it records {where} = {saved_probe[worst]!r}, this game gives {probe_now[worst]!r}"


class _CacheStore(_Store):
    """The value table in a cache directory: values.npy (memory-mapped), done.npy (finished chunks), meta.json.

    A chunk is marked done only after its values are flushed to disk, and done.npy is replaced atomically, so an
    interrupted run loses at most the chunk it was computing. A cache is tied to its game by n, the chunk size, the
    player names and the values of ∅, N and every single player (n + 2 model calls), which are re-evaluated and
    compared when a run resumes: the same model with its players in another order, or other players of the same
    number, is another game.
    """

    def __init__(self, directory: Path, n: int, chunk: int, done: np.ndarray, values: np.memmap):
        super().__init__(n, chunk)
        self.directory = directory
        self._done = done
        self._values = values

    @classmethod
    def open(cls, directory: Path, game: Game, batch_size: int) -> "_CacheStore":
        n = game.n_players
        meta_path = directory / "meta.json"
        probe_now = probe(game)
        if meta_path.exists():
            try:
                meta = json.loads(meta_path.read_text())
                done = np.load(directory / "done.npy")
                values = np.load(directory / "values.npy", mmap_mode="r+")
            except (OSError, ValueError, json.JSONDecodeError) as err:
                raise CacheError(
                    f"Cannot read the cache in {str(directory)!r} ({err}). Delete that directory to start afresh, or "
                    f"pass another cache path."
                ) from err
            if meta.get("format") != _CACHE_FORMAT or meta.get("n_players") != n or values.shape != (1 << n,):
                raise CacheError(
                    f"The cache in {str(directory)!r} is not a harsanyi cache for a {n}-player game (it records "
                    f"{meta.get('n_players')!r} players, format {meta.get('format')!r}). Use another cache path."
                )
            other = other_game(meta.get("player_names"), meta["probe"], game, probe_now)
            if other:
                raise CacheError(f"The cache in {str(directory)!r} belongs to a different game: {other}. Use another "
                                 f"cache path, or delete it to start afresh.")
            chunk = int(meta["chunk"])
            if done.shape != (-(-(1 << n) // chunk),):
                raise CacheError(f"The cache in {str(directory)!r} is damaged (done.npy has the wrong shape); delete it.")
            return cls(directory, n, chunk, done, values)
        make_folder(directory, f"the cache {str(directory)!r}")
        n_chunks = -(-(1 << n) // batch_size)
        values = np.lib.format.open_memmap(directory / "values.npy", mode="w+", dtype=np.float64, shape=(1 << n,))
        store = cls(directory, n, batch_size, np.zeros(n_chunks, dtype=bool), values)
        store._save_done()
        meta = {"format": _CACHE_FORMAT, "n_players": n, "chunk": batch_size, "probe": probe_now,
                "player_names": list(game.player_names) if game.player_names else None}
        _atomic_write_text(meta_path, json.dumps(meta))
        return store

    def _save_done(self) -> None:
        tmp = self.directory / "done.tmp.npy"
        np.save(tmp, self._done)
        os.replace(tmp, self.directory / "done.npy")

    def pending(self) -> list[int]:
        return np.flatnonzero(~self._done).tolist()

    def remaining(self) -> int:
        return sum(stop - start for start, stop in map(self.bounds, self.pending()))

    def write(self, chunk: int, values: np.ndarray) -> None:
        super().write(chunk, values)
        self._values.flush()
        self._done[chunk] = True
        self._save_done()

    def values(self) -> np.ndarray:
        return np.array(self._values)


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
