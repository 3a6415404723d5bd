"""Games from a model and one input: tabular rows, images, texts (SPEC §1).

Every modality reduces to the same masking: an input x, a baseline b of the same shape, and an ``owner`` map that
says which player each element belongs to (−1: not a player, always kept). For a batch of coalitions the masked
inputs are ``where(keep, x, b)`` with ``keep = masks[:, owner]``, built with array operations on the model's device.
"""

from __future__ import annotations

import collections
import functools
import inspect
import numbers
import warnings
from typing import Mapping, Sequence

import numpy as np

from ._array import like, to_numpy
from ._game import Game
from ._models import Model, _is_torch_module, make_output, predicted_class
from ._text import resolve_select
from .exceptions import HarsanyiError, HarsanyiValueError, ModelInputError

__all__ = ["tabular_game", "image_game", "text_game"]


# --- the shared masking and model plumbing ------------------------------------------------------------------------
class _Masker:
    """Builds the masked inputs of a batch of coalitions: x where the owner is present, b elsewhere."""

    def __init__(self, x, baseline, owner: np.ndarray, n_players: int, model: Model, input_dtype=None):
        self.shape = tuple(x.shape)
        self.owner_shape = owner.shape  # broadcastable to x.shape
        self.n = n_players
        owner = np.where(owner.reshape(-1) < 0, n_players, owner.reshape(-1))  # non-players: the extra True column
        if model.is_torch:
            import torch

            dtype = input_dtype if input_dtype is not None else model.dtype
            self.x = torch.as_tensor(np.array(to_numpy(x)), device=model.device).to(dtype)
            self.b = torch.as_tensor(np.array(to_numpy(baseline)), device=model.device).to(dtype)
            self.owner = torch.as_tensor(owner, device=model.device, dtype=torch.int64)
        else:
            dtype = input_dtype if input_dtype is not None else np.float64
            self.x = np.asarray(to_numpy(x)).astype(dtype)
            self.b = np.asarray(to_numpy(baseline)).astype(dtype)
            self.owner = owner
        self.torch = model.is_torch
        # [low bits k, the reused batch buffer (coalitions 0 … 2^k − 1 made once, then the blocks in turn), copies of
        # its first and last rows, the bits of the players ≥ k its rows hold now]
        self._template: list | None = None
        self._reuse = True  # hand the same buffer to the model each batch, until it is seen writing into its input
        self._players: list | None = None  # each player's elements as a _Selection, made on first use

    def __call__(self, masks):
        m = masks.shape[0]
        if self.torch:
            import torch

            ext = torch.cat([masks, torch.ones((m, 1), dtype=torch.bool, device=masks.device)], dim=1)  # (m, n+1)
            keep = ext[:, self.owner].reshape(m, *self.owner_shape)  # (m, *owner_shape), broadcasts over x
            return torch.where(keep, self.x, self.b)  # (m, *x.shape)
        ext = np.concatenate([masks, np.ones((m, 1), dtype=bool)], axis=1)  # (m, n+1)
        keep = ext[:, self.owner].reshape(m, *self.owner_shape)
        return np.where(keep, self.x, self.b)  # (m, *x.shape)

    def range(self, start: int, stop: int):
        """The masked inputs of the coalitions with bitmasks start … stop − 1.

        An aligned block of 2^k coalitions (start a multiple of 2^k) differs from coalitions 0 … 2^k − 1 only in
        the elements of players ≥ k, which are the same on every row of the block. So the block is the template of
        those coalitions, made once, with the elements of the players ≥ k whose bit differs from the last block's
        overwritten (a player's x where its bit is set, b where not): no per-coalition masks, no gather, and (see
        :meth:`check_untouched`) no copy of the batch either.
        """
        m = stop - start
        low = m.bit_length() - 1
        if m != 1 << low or start % m:  # not an aligned power-of-two block
            return self(self._index_masks(start, stop))
        if self._template is None or self._template[0] != low:
            buffer = self._doubling_template(low)
            ends = buffer[[0, m - 1]]  # a copy of the first and last rows, kept equal to them
            self._template = [low, buffer, ends, 0]  # 0: the bits of the players ≥ low written now (none)
        _, buffer, ends, written = self._template
        if not self._reuse:
            buffer, written = self._doubling_template(low), 0
        changed = (start ^ written) >> low
        rows = (buffer.reshape(m, -1),) + ((ends.reshape(2, -1),) if self._reuse else ())
        while changed:
            k = low + (changed & -changed).bit_length() - 1  # the lowest player ≥ low whose bit changed
            source = self._full(self.x) if start >> k & 1 else self._full(self.b)
            for flat in rows:
                _overwrite(flat, self._players[k], source)
            changed &= changed - 1
        if self._reuse:
            self._template[3] = start
        return buffer

    def check_untouched(self, block) -> None:
        """Call after the model has seen ``block`` from :meth:`range`: stop reusing the buffer if the model wrote
        into its input.

        The buffer is handed to the model batch after batch, and only the elements of the players whose bit changed
        are rewritten, which saves a copy of every batch. A model that modifies its input in place would corrupt
        the next batches, so the first and last rows are compared with their copies, which are rewritten with
        them. Every element of a player < k is the input's value in the last row and the baseline's in the first,
        and every other element is the value the block needs, so any in-place map of values that would reach a
        later block is seen. The values of the batch just computed are unaffected; later batches are built afresh.
        """
        if self._template is None or not self._reuse or block is not self._template[1]:
            return
        _, buffer, ends, _ = self._template
        if self.torch:
            import torch

            same = torch.equal(buffer[0], ends[0]) and torch.equal(buffer[-1], ends[1])
        else:
            float_kind = buffer.dtype.kind in "fc"  # a missing value (NaN) equals itself here
            same = np.array_equal(buffer[0], ends[0], equal_nan=float_kind) and np.array_equal(
                buffer[-1], ends[1], equal_nan=float_kind)
        if not same:
            self._reuse = False

    def _full(self, values):
        """``values`` (x or b, broadcastable to the input) as one flat row (1, elements)."""
        if tuple(values.shape) == self.shape:
            return values.reshape(1, -1)
        return (values.expand(self.shape) if self.torch else np.broadcast_to(values, self.shape)).reshape(1, -1)

    def _doubling_template(self, low: int):
        """Masked inputs of coalitions 0 … 2^low − 1, by doubling in place: the second half of the first 2^{k+1}
        coalitions is the first half with player k's elements switched to the input's values."""
        first = self(self._index_masks(0, 1))  # (1, *x.shape): every player absent
        block = first.new_empty((1 << low, *self.shape)) if self.torch else np.empty((1 << low, *self.shape),
                                                                                     first.dtype)
        block[:1] = first
        flat = block.reshape(1 << low, -1)
        x = self._full(self.x)
        if self._players is None:  # the same for every template: made once
            owner = to_numpy(self._elements(self.owner)).reshape(-1)  # each element's player (n: no player's)
            self._players = _Selection.per_player(owner, self.n, self.x)
        for k in range(low):
            half = 1 << k
            flat[half:2 * half] = flat[:half]
            _overwrite(flat[half:2 * half], self._players[k], x)
        return block

    def _elements(self, owner_selection):
        """Values over the owner elements (the owners themselves, or a boolean selection of them), broadcast to the
        input's shape."""
        sel = owner_selection.reshape(self.owner_shape)
        return sel.expand(self.shape) if self.torch else np.broadcast_to(sel, self.shape)

    def _index_masks(self, start: int, stop: int):
        if self.torch:
            import torch

            idx = torch.arange(start, stop, device=self.x.device, dtype=torch.int64)
            return ((idx[:, None] >> torch.arange(self.n, device=self.x.device)) & 1).bool()
        return ((np.arange(start, stop, dtype=np.int64)[:, None] >> np.arange(self.n)) & 1).astype(bool)

    @property
    def bytes_per_coalition(self) -> int:
        return int(np.prod(self.shape)) * 8


def _look_like_probabilities(scores) -> bool:
    """Several scores of one input that are all in [0, 1] and sum to 1 (to float32 rounding)."""
    row = np.asarray(to_numpy(scores), dtype=np.float64)[0]
    return row.size >= 2 and bool(((row >= 0) & (row <= 1)).all()) and abs(row.sum() - 1.0) <= 1e-5


_CALL_HINTS = {
    "tabular": "The model is called on rows (m, features) in the order of x; pass x as the model was fitted on it.",
    "image": "The model is called on (m, *image.shape): pass the image in the layout it takes (channel_axis=0 for "
             "(C, H, W), -1 for (H, W, C)), at the size and with the normalisation it was trained on.",
    "text": "The model is called on token ids (m, L), on embeddings (m, L, D) with embedding=, or, without a "
            "tokenizer, on m strings; wrap a model that needs more (an attention mask, say) in a function of these.",
}


def _model_game(model: Model, masker: _Masker, *, names, output, target, kind: str, rebuild, info: dict) -> Game:
    n = masker.n
    full = masker(_full_mask(n, model))
    try:
        scores = model(full)
    except HarsanyiError:
        raise
    except Exception as err:  # noqa: BLE001 - the model's own error, re-raised with the input it was given
        lines = [line.strip() for line in str(err).splitlines() if line.strip()]  # TorchScript: a traceback first
        said = lines[-1] if lines else ""
        said = said if said.startswith(f"{type(err).__name__}:") else f"{type(err).__name__}: {said}"
        shape = tuple(full.shape) if hasattr(full, "shape") else (len(full),)
        raise ModelInputError(
            f"The model failed on the {kind} input as the game gives it, a batch of shape {shape}. {said.rstrip('.')}. "
            f"{_CALL_HINTS.get(kind, '')}".rstrip()
        ) from err
    name, rule = make_output(output, scores.shape[1], model.kind, model.is_classifier, regressor=model.regressor)
    if name == "log-odds" and _logits_instead(model, masker):
        scores = model(full)
        name, rule = make_output(output, scores.shape[1], model.kind, model.is_classifier, regressor=model.regressor)
    if model.regressor:
        _check_regressor_output(type(model.raw).__name__, name, target, scores.shape[1])
    if name in ("logit", "log-odds", "prob") and model.kind == "logits" and _look_like_probabilities(scores):
        warnings.warn(
            f"The model's {scores.shape[1]} outputs on the input are in [0, 1] and sum to 1: they look like "
            f"probabilities, but are read as logits for output={name!r}. If the model ends in a softmax, pass "
            f"model_output='probabilities' (or drop the softmax).", UserWarning, stacklevel=3)
    needs_target = name in ("logit", "prob", "log-odds") or (name == "raw" and scores.shape[1] > 1 and target is not None)
    predicted = None if model.regressor else predicted_class(scores, model.kind)  # a regressor predicts no class
    if target is not None:  # the user's class, by label or index; the predicted class is an index already
        target = _class_index(target, getattr(model.raw, "classes_", None))
    elif needs_target:
        target = predicted
    full_value = float(to_numpy(rule(scores, model.kind, target))[0])

    def values(masks):
        return rule(model(masker(masks)), model.kind, target)

    def values_range(start, stop):
        inputs = masker.range(start, stop)
        scores = model(inputs)
        masker.check_untouched(inputs)
        return rule(scores, model.kind, target)

    info = {**info, "kind": kind, "output": name, "target": target, "predicted_class": predicted,
            "prediction": full_value, "scores": to_numpy(scores)[0].tolist(), "model_output": model.kind}
    game = Game(values, n, player_names=names, backend=model.backend, device=model.device,
                bytes_per_coalition=masker.bytes_per_coalition, info=info, rebuild=rebuild, values_range=values_range)
    game._learnable = _Learnable(model, masker, rule, target, dict(names=names, output=output, target=target,
                                                                   kind=kind, rebuild=None, info=info))
    return game


def _logits_instead(model: Model, masker: _Masker) -> bool:
    """Read a scikit-learn classifier through its decision_function instead of predict_proba where its
    probabilities are the softmax (or, for two classes, the sigmoid) of those scores: its log-odds are then exact,
    not those of probabilities clamped to [1e-7, 1 − 1e-7], which put every coalition the model is that sure of on
    the same ±16.1 (logistic regression and gradient boosting on confident inputs). Checked on the input and on
    the all-baseline input, to 1e-9: where the probabilities are anything else (an SVM's Platt scaling,
    one-vs-rest normalisation), it stays with predict_proba. Returns whether it switched ``model``."""
    if model.method != "predict_proba" or not hasattr(model.raw, "decision_function"):
        return False
    probe = np.concatenate([masker(_full_mask(masker.n, model)), masker(np.zeros((1, masker.n), dtype=bool))])
    p = np.asarray(model(probe), dtype=np.float64)
    try:
        model.method, model.kind = "decision_function", "logits"
        z = np.asarray(model(probe), dtype=np.float64)
    except Exception:  # noqa: BLE001 - a decision_function that fails is not used
        z = None
    if z is not None and z.shape[1] == 1 and p.shape[1] == 2:
        with np.errstate(over="ignore"):  # exp(−z) of a very sure "no" overflows to inf: the sigmoid is then 0
            same = np.allclose(1.0 / (1.0 + np.exp(-z[:, 0])), p[:, 1], rtol=0.0, atol=1e-9)
    elif z is not None and z.shape == p.shape:
        e = np.exp(z - z.max(axis=1, keepdims=True))
        same = np.allclose(e / e.sum(axis=1, keepdims=True), p, rtol=0.0, atol=1e-9)
    else:
        same = False
    if not same:
        model.method, model.kind = "predict_proba", "probabilities"
    return same


def _check_regressor_output(estimator: str, output: str, target, n_outputs: int) -> None:
    """A scikit-learn regressor's predict gives values, not class scores: no class output, and a target only to pick
    one of several outputs."""
    if output in ("logit", "prob", "log-odds"):
        raise HarsanyiValueError(
            f"output={output!r} reads class scores, but {estimator} is a regressor: its predict gives predicted "
            f"values. Use output='raw' (the default for a regressor), or a callable on its predictions.")
    if target is not None and n_outputs == 1:
        raise HarsanyiValueError(
            f"target={target!r} picks a class or an output, but {estimator} is a regressor with one output. Drop "
            f"target (--target).")


def _class_index(target, classes) -> int:
    """``target`` as a class index. A scikit-learn classifier's class is one of its labels (``classes_``), or, where
    no label is a number, an index; anything else is an index."""
    labels = [] if classes is None else list(np.asarray(classes).tolist())
    if labels and target in labels:
        return labels.index(target)
    index = isinstance(target, (int, np.integer)) and not isinstance(target, (bool, np.bool_))
    if index and not any(isinstance(label, (int, float)) for label in labels):
        return int(target)
    known = f"one of the model's classes {labels}" if labels else "a class index (int)"
    raise HarsanyiValueError(f"Expected target to be {known}; received {target!r}.")


class _Learnable:
    """What learning a baseline needs from a model game: differentiable values, and the game at a new baseline."""

    def __init__(self, model: Model, masker: _Masker, rule, target, build_args: dict):
        self.model, self.masker, self.rule, self.target, self.build_args = model, masker, rule, target, build_args

    @property
    def baseline(self):
        return self.masker.b

    @property
    def input(self):
        return self.masker.x

    def values_with_grad(self, masks, baseline):
        """v of a batch of coalitions at ``baseline`` (a tensor that may require grad), keeping the graph."""
        import torch

        m = masks.shape[0]
        ext = torch.cat([masks, torch.ones((m, 1), dtype=torch.bool, device=masks.device)], dim=1)
        keep = ext[:, self.masker.owner].reshape(m, *self.masker.owner_shape)
        return self.rule(self.model(torch.where(keep, self.masker.x, baseline), grad=True), self.model.kind,
                         self.target)

    def game_at(self, baseline) -> Game:
        """The same game with the absent players set to ``baseline`` (an array of the input's shape)."""
        import copy

        masker = copy.copy(self.masker)
        masker.b = baseline.detach().to(self.masker.b.dtype).clone()
        masker._template, masker._reuse = None, True
        return _model_game(self.model, masker, **self.build_args)


class _Selection:
    """Flat positions of selected elements: a few contiguous runs (copied as slices) or an index array."""

    MAX_RUNS = 16

    def __init__(self, runs: list, positions, like_array):
        """``runs``: (start, stop) pairs; ``positions()``: the same elements as an index array, made only where
        there are more than ``MAX_RUNS`` runs."""
        self.runs = runs
        self.index = None if len(runs) <= self.MAX_RUNS else like(positions(), like_array)

    @classmethod
    def per_player(cls, flat_owner: np.ndarray, n: int, like_array) -> list:
        """The selection of each player 0 … n−1 from one pass over the owners (not n comparisons)."""
        starts = np.flatnonzero(np.concatenate([[True], flat_owner[1:] != flat_owner[:-1]]))
        ends = np.append(starts[1:], flat_owner.size)
        owners = flat_owner[starts]
        return [cls(list(zip(starts[owners == k].tolist(), ends[owners == k].tolist())),
                    lambda k=k: np.flatnonzero(flat_owner == k), like_array) for k in range(n)]

    def __bool__(self) -> bool:
        return bool(self.runs)


def _overwrite(flat, selection: _Selection, source) -> None:
    """flat[..., selected] = source[..., selected] (source broadcasts over the leading rows of ``flat``)."""
    if selection.index is not None:
        flat[..., selection.index] = source[..., selection.index]
        return
    for lo, hi in selection.runs:
        flat[..., lo:hi] = source[..., lo:hi]


def _full_mask(n: int, model: Model):
    if model.is_torch:
        import torch

        return torch.ones((1, n), dtype=torch.bool, device=model.device)
    return np.ones((1, n), dtype=bool)


def _as_array(a, what: str, dtype=None) -> np.ndarray:
    """``a`` (array-like, torch tensor) as a NumPy array, of ``dtype`` if given; else an error naming ``what``."""
    if a is None:
        raise HarsanyiValueError(f"Expected {what} as an array; received None.")
    try:
        out = np.asarray(to_numpy(a))
    except Exception as err:  # noqa: BLE001 - re-raised with context
        raise HarsanyiValueError(f"Expected {what} as an array; received {type(a).__name__} ({err}).") from err
    if dtype is None:
        return out
    try:
        return out.astype(dtype)
    except (TypeError, ValueError) as err:
        raise HarsanyiValueError(f"Expected {what} as numbers; received {out.dtype} values ({err}).") from err


def _unique_names(names: Sequence[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        count = seen.get(name, 0)
        seen[name] = count + 1
        out.append(name if count == 0 else f"{name}#{count + 1}")
    return out


# --- tabular ----------------------------------------------------------------------------------------------------------
def _feature_index(feature, names: list[str] | None, d: int) -> int:
    if isinstance(feature, str):
        if names is None:
            raise HarsanyiValueError(
                f"Unknown feature {feature!r}: the features have no names, so players= takes their indices 0 … "
                f"{d - 1}. To use names, pass feature_names=[...] (one per feature) or the row as a pandas Series.")
        if feature not in names:
            raise HarsanyiValueError(f"Unknown feature {feature!r}; features are {names}.")
        return names.index(feature)
    if isinstance(feature, (int, np.integer)) and not isinstance(feature, bool) and 0 <= int(feature) < d:
        return int(feature)
    raise HarsanyiValueError(f"Unknown feature {feature!r}: expected a name or an index in 0 … {d - 1}.")


def _in_row_order(background, names):
    """A background DataFrame that has every one of the row's named features: those columns, in the row's order
    (it may hold them in another order, or more columns, such as a label). Anything else as it is: by position."""
    columns = getattr(background, "columns", None)
    if names is None or columns is None:
        return background
    labels = [str(c) for c in columns]
    if labels == names or not set(names) <= set(labels):
        return background
    return background.iloc[:, [labels.index(name) for name in names]]


def _listed(names: list[str], most: int = 8) -> str:
    return str(names) if len(names) <= most else f"{names[:most]} (and {len(names) - most} more)"


def _numeric_entries(row: np.ndarray) -> np.ndarray:
    """Which entries of a row are numbers (bool, int, float); the others are categories (strings and the like)."""
    if row.dtype.kind in "biuf":
        return np.ones(row.shape, bool)
    return np.array([isinstance(v, numbers.Real) for v in row.tolist()], dtype=bool)


def _is_nan(values: np.ndarray) -> np.ndarray:
    """Which entries are NaN (a missing value), for numbers and objects alike."""
    if values.dtype.kind == "f":
        return np.isnan(values)
    return np.array([isinstance(v, float) and v != v for v in values.tolist()], dtype=bool)


def _typical(background: np.ndarray, numeric: np.ndarray, names) -> np.ndarray:
    """The background's typical row: the mean of each numeric feature's observed values and the most frequent value
    of each categorical one (ties: the value seen first); missing values (NaN) are left out of both."""
    missing = _is_nan(background.reshape(-1)).reshape(background.shape)
    if missing.all(axis=0).any():
        j = int(np.flatnonzero(missing.all(axis=0))[0])
        raise HarsanyiValueError(f"Feature {names[j] if names else j!r} is missing (NaN) in every row of the background "
                                 f"data, so it has no mean; pass background data where it is observed, or a baseline "
                                 f"row.")
    if numeric.all() and background.dtype.kind in "biuf":
        return np.nanmean(background.astype(np.float64), axis=0)
    base = np.empty(background.shape[1], dtype=object)
    for j in range(background.shape[1]):  # a loop over the features, not the coalitions
        column = background[~missing[:, j], j]
        name = names[j] if names else j
        if not numeric[j]:
            base[j] = collections.Counter(column.tolist()).most_common(1)[0][0]
            continue
        try:
            base[j] = float(column.astype(np.float64).mean())
        except (TypeError, ValueError) as err:
            raise HarsanyiValueError(
                f"Feature {name!r} is a number in the row but not in the background data ({err}); pass background "
                f"data with the row's columns.") from err
    return base


def tabular_game(
    model,
    x,
    *,
    players: Mapping[str, Sequence] | Sequence[Sequence] | None = None,
    feature_names: Sequence[str] | None = None,
    baseline="zero",
    background=None,
    output="auto",
    target: int | None = None,
    model_output: str | None = None,
    device=None,
) -> Game:
    """A game over the features of one row ``x`` (d features).

    ``players``: None (each feature is a player), a dict ``{player name: [features]}`` or a list of feature lists
    (features by index or name; a group acts as one player; features in no group keep their input value).
    ``baseline``: "zero", "mean" (of ``background``, shape (b, d); a DataFrame that has the row's named features
    is read by name, whatever its column order), a number, or an array with one value per feature
    (d,) or per player (n,). ``output``: "auto" (log-odds for classifiers, raw for a single output), "raw", "logit",
    "prob", "log-odds", or a callable on the (m, k) scores; log-odds are exact from logits (a scikit-learn
    classifier's decision_function where its predict_proba is checked to be their sigmoid or softmax), else from
    probabilities clamped to [1e-7, 1 − 1e-7]. ``target``: the class (an index; for a scikit-learn
    classifier one of its labels, or an index where no label is a number); default the prediction on x.
    Categorical features (strings and the like, in a row of a mixed DataFrame) are masked like the others, for
    models that take them (a scikit-learn pipeline that encodes them, a callable); "mean" then takes the most
    frequent value of each categorical feature in ``background``.
    Missing values (NaN) may stand in the row for a model that takes them (HistGradientBoosting, say): a present
    player passes them on as they are, an absent one takes the baseline; "mean" leaves them out of the background's
    means and counts. A model that refuses them, or returns NaN, is refused with the features named.
    ``feature_names``: default the labels of a pandas row (a Series, or a one-row DataFrame), else the columns a
    scikit-learn estimator was fitted with (which it is then called with, as a DataFrame).
    """
    if feature_names is None and type(x).__module__.startswith("pandas"):
        # a pandas Series' labels or a one-row DataFrame's columns name the features
        feature_names = [str(c) for c in (x.columns if hasattr(x, "columns") else x.index)]
    row = _as_array(x, "the input row")
    if row.ndim == 2 and row.shape[0] == 1:
        row = row[0]
    if row.ndim != 1:
        raise HarsanyiValueError(
            f"Expected one input row of shape (d,) or (1, d); received shape {row.shape}. Explain one row at a time."
        )
    d = row.shape[0]
    numeric = _numeric_entries(row)
    mixed = not numeric.all()  # categorical values (strings, …): the row stays an object array, as a DataFrame's
    row = row.astype(object if mixed else np.float64)
    width = getattr(model, "n_features_in_", None)  # a fitted scikit-learn estimator's input width
    if isinstance(width, (int, np.integer)) and width != d:
        raise HarsanyiValueError(
            f"The row has {d} features, but the model was fitted with {int(width)} (its n_features_in_). Pass the "
            f"model's features only (without a label or id column, say), in the order it was fitted with.")
    fitted = getattr(model, "feature_names_in_", None)  # a scikit-learn estimator fitted on a DataFrame
    if feature_names is None and fitted is not None and len(fitted) == d:
        feature_names = fitted
    names = None if feature_names is None else [str(f) for f in feature_names]
    if names is not None and len(names) != d:
        raise HarsanyiValueError(f"Expected {d} feature names; received {len(names)}.")
    if fitted is not None and names is not None:
        order = [str(f) for f in fitted]
        if names != order and sorted(names) == sorted(order):
            raise HarsanyiValueError(
                f"The row's features are the columns the model was fitted with, in another order: {_listed(names)} "
                f"against {_listed(order)}. The model reads them by position. Pass the row in the model's order, "
                f"e.g. row[model.feature_names_in_] for a pandas row.")

    if players is None:
        groups = [[j] for j in range(d)]
        player_names = names or [f"x{j}" for j in range(d)]
    else:
        items = list(players.items()) if isinstance(players, Mapping) else [(None, g) for g in players]
        if not items:
            raise HarsanyiValueError("players= is empty. Give the players as {name: [features]} or a list of "
                                     "feature groups, or leave players out for one player per feature.")
        groups, player_names = [], []
        for label, group in items:
            if isinstance(group, (str, int, np.integer)):
                group = [group]
            idx = [_feature_index(f, names, d) for f in group]
            if not idx:
                raise HarsanyiValueError(f"Player {label!r} has no features; every player needs at least one.")
            groups.append(idx)
            player_names.append(str(label) if label is not None else "+".join((names[j] if names else f"x{j}") for j in idx))
    owner = np.full(d, -1, dtype=np.int64)
    for p, idx in enumerate(groups):
        taken = [j for j in idx if owner[j] >= 0]
        if taken:
            raise HarsanyiValueError(f"Feature(s) {taken} belong to two players; each feature may belong to one.")
        owner[idx] = p
    n = len(groups)

    bg = None
    if isinstance(baseline, str) and baseline == "mean" and background is not None:
        bg = _as_array(_in_row_order(background, names), "background data")
        if bg.ndim != 2 or bg.shape[1] != d:
            raise HarsanyiValueError(f"Expected background of shape (b, {d}); received {bg.shape}.")
        # a missing value (NaN) in a column of categories is a missing category: its baseline is the most frequent
        for j in np.flatnonzero(numeric & _is_nan(row)):
            if not _numeric_entries(bg[:, j]).all():
                numeric[j], mixed, row = False, True, row.astype(object)
    categorical = [names[j] if names else j for j in np.flatnonzero(~numeric)]
    if isinstance(baseline, str):
        if baseline == "zero":
            if mixed:
                raise HarsanyiValueError(
                    f"baseline='zero' has no value for the categorical features {categorical}. Use baseline='mean' "
                    f"with background data (the mean of each numeric feature, the most frequent value of each "
                    f"categorical one), or pass a baseline row.")
            base = np.zeros(d)
        elif baseline == "mean":
            if background is None:
                raise HarsanyiValueError("baseline='mean' needs background data: pass background=X_train (shape (b, d)).")
            base = _typical(bg, numeric, names)
            base = base if mixed else base.astype(np.float64)
        else:
            raise HarsanyiValueError(f"Unknown baseline {baseline!r}: expected 'zero', 'mean', a number or an array.")
    else:
        base = _as_array(baseline, "the baseline", object if mixed else np.float64)
        if base.ndim == 0 and mixed:
            raise HarsanyiValueError(
                f"A single baseline number has no value for the categorical features {categorical}. Pass a baseline "
                f"row (one value per feature), or baseline='mean' with background data.")
        if base.ndim == 0:
            base = np.full(d, float(base))
        elif base.shape == (n,) and n != d:
            per_player = base
            base = row.copy()
            for p, idx in enumerate(groups):
                base[idx] = per_player[p]
        elif base.shape != (d,):
            raise HarsanyiValueError(
                f"Expected a baseline with one value per feature ({d},) or per player ({n},); received {base.shape}."
            )

    def features(selected):
        return _listed([names[j] if names else int(j) for j in np.flatnonzero(selected)])

    values = np.zeros(d)
    values[numeric] = row[numeric].astype(np.float64)
    if np.isinf(values).any():
        raise HarsanyiValueError(f"The input row has infinite values in features {features(np.isinf(values))}; pass "
                                 f"finite numbers (NaN marks a missing value).")
    baseline_values = np.zeros(d)
    baseline_values[numeric] = base[numeric].astype(np.float64)
    if not np.isfinite(baseline_values).all():
        raise HarsanyiValueError(
            f"The baseline has missing or infinite values in features {features(~np.isfinite(baseline_values))}; "
            f"pass finite numbers (baseline='mean' takes the mean of each feature's observed values).")
    missing = np.isnan(values)

    adapter = Model(model, output=output if isinstance(output, str) else "raw", model_output=model_output, device=device)
    if mixed and adapter.is_torch:
        raise HarsanyiValueError(
            f"The row has categorical features {categorical}, but a torch model takes numbers. Encode them first "
            f"(e.g. one-hot columns, grouped into one player each), or explain a scikit-learn pipeline that encodes "
            f"them.")
    if mixed:
        adapter.categories = ~numeric
    masker = _Masker(row, base, owner, n, adapter, input_dtype=object if mixed else None)
    rebuild = functools.partial(tabular_game, model, x, players=players, feature_names=feature_names,
                                baseline=baseline, background=background, output=output, target=target,
                                model_output=model_output)
    info = {"x": row.tolist(), "baseline": base.tolist(), "feature_names": names, "groups": groups}
    refused = (f"The row has missing values (NaN) in features {features(missing)}, and the model does not take "
               f"them")
    fix = ("Impute them first (e.g. with the mean of the background data), or explain a model that takes missing "
           "values, such as scikit-learn's HistGradientBoostingClassifier.")
    try:
        game = _model_game(adapter, masker, names=player_names, output=output, target=target, kind="tabular",
                           rebuild=rebuild, info=info)
    except ModelInputError as err:
        if missing.any():  # the model's own words, first sentence: the rest is about masked inputs
            said = " ".join(str(err.__cause__ or err).split()).split(". ")[0].rstrip(".")
            raise HarsanyiValueError(f"{refused} ({type(err.__cause__ or err).__name__}: {said}). {fix}") from err
        raise
    if missing.any() and not np.isfinite(game.info["prediction"]):
        raise HarsanyiValueError(f"{refused} (its output on the row is {game.info['prediction']}). {fix}")
    return game


# --- images -----------------------------------------------------------------------------------------------------------
def _spatial(shape: tuple, channel_axis) -> tuple[int, int]:
    if channel_axis is None:
        if len(shape) != 2:
            raise HarsanyiValueError(f"Expected a (H, W) image with channel_axis=None; received shape {shape}.")
        return shape[0], shape[1]
    if len(shape) != 3 or channel_axis not in (0, -1, 2):
        raise HarsanyiValueError(
            f"Expected one image of shape (C, H, W) (channel_axis=0), (H, W, C) (channel_axis=-1) or (H, W) "
            f"(channel_axis=None); received shape {shape} with channel_axis={channel_axis!r}."
        )
    return (shape[1], shape[2]) if channel_axis == 0 else (shape[0], shape[1])


def _expand(plane: np.ndarray, channel_axis) -> np.ndarray:
    """A (H, W) map shaped to broadcast against the image: (1, H, W), (H, W, 1) or (H, W)."""
    if channel_axis is None:
        return plane
    return plane[None] if channel_axis == 0 else plane[..., None]


def image_game(
    model,
    image,
    *,
    grid: int | tuple[int, int] | None = None,
    segments=None,
    cells: Sequence | None = None,
    baseline="zero",
    blur_sigma: float | None = None,
    channel_axis: int | None = 0,
    output="auto",
    target: int | None = None,
    model_output: str | None = None,
    device=None,
) -> Game:
    """A game over the cells of one image: a ``grid`` of (rows, cols) patches, or the labels of a ``segments`` map.

    ``cells``: the cells that are players (grid cells as index r·cols + c, as (r, c) or by name, "r1c2"; segment
    labels, or "segment 5"), in the order given; the other cells keep their input values. ``baseline``: "zero",
    "mean" (the image's mean colour), "blur" (a Gaussian blur with ``blur_sigma``, default a quarter of a cell), a
    number, one value per channel (C,), or an array of the image's shape. The model is called on batches of shape
    (m, *image.shape); an image given as a batch of one, (1, C, H, W), is taken as (C, H, W).
    """
    img = _as_array(image, "the image", np.float64)
    if img.ndim == 4 and img.shape[0] == 1:  # a batch of one image, as a model's input is often kept
        img = img[0]
    if channel_axis == 0 and img.ndim == 3 and img.shape[0] > 4 and img.shape[-1] in (1, 3, 4):
        raise HarsanyiValueError(
            f"The image has shape {img.shape}, which reads as {img.shape[-1]} channels last, but channel_axis=0 "
            f"(channels first) was asked for. Transpose it to (C, H, W) for a model that takes that (a torch CNN: "
            f"image.transpose(2, 0, 1)), or pass channel_axis=-1 for a model that takes (H, W, C).")
    h, w = _spatial(img.shape, channel_axis)
    if (grid is None) == (segments is None):
        raise HarsanyiValueError("Pass exactly one of grid=(rows, cols) or segments=LABEL_MAP to define the cells.")
    if grid is not None:
        try:
            if isinstance(grid, str):
                raise ValueError(grid)
            rows, cols = (grid, grid) if isinstance(grid, (int, np.integer)) else (int(v) for v in grid)
        except (TypeError, ValueError):
            raise HarsanyiValueError(f"Expected grid as a number of rows and columns, or (rows, cols); received "
                                     f"{grid!r}.") from None
        if not (1 <= rows <= h and 1 <= cols <= w):
            raise HarsanyiValueError(f"Expected a grid of 1x1 to {h}x{w} cells (each cell at least a pixel); received "
                                     f"{rows}x{cols}.")
        cell_map = (np.arange(h)[:, None] * rows // h) * cols + (np.arange(w)[None, :] * cols // w)  # (H, W)
        labels = list(range(rows * cols))
        label_name = {r * cols + c: f"r{r}c{c}" for r in range(rows) for c in range(cols)}
        cell_size = min(h / rows, w / cols)
    else:
        cell_map = _as_array(segments, "the segment map")
        if cell_map.shape != (h, w):
            raise HarsanyiValueError(f"Expected a segment map of shape ({h}, {w}); received {cell_map.shape}.")
        if not (np.issubdtype(cell_map.dtype, np.integer) or np.issubdtype(cell_map.dtype, np.bool_)
                or (np.issubdtype(cell_map.dtype, np.floating) and np.array_equal(cell_map, np.round(cell_map)))):
            raise HarsanyiValueError(
                f"Expected a segment map of integer labels (one label per segment, e.g. from skimage.segmentation); "
                f"received dtype {cell_map.dtype}{' with fractional values' if cell_map.dtype.kind == 'f' else ''}. "
                f"Pass the label map itself, not a boundary image or probabilities."
            )
        cell_map = cell_map.astype(np.int64)
        labels = np.unique(cell_map).tolist()
        label_name = {lab: f"segment {lab}" for lab in labels}
        cell_size = np.sqrt(h * w / len(labels))
        rows = cols = None
    if cells is None:
        chosen = labels
    else:
        chosen, by_name = [], {name: label for label, name in label_name.items()}
        if not len(cells):
            raise HarsanyiValueError("cells= is empty: name the cells that are players, or leave cells out for all.")
        for given in cells:
            cell = by_name.get(given, given) if isinstance(given, str) else given  # a name as results show it
            if grid is not None and isinstance(cell, (tuple, list)) and len(cell) == 2:
                r, c = (int(v) for v in cell)
                cell = r * cols + c if 0 <= r < rows and 0 <= c < cols else given
            try:
                known_cell = not isinstance(cell, bool) and cell in label_name
            except TypeError:  # unhashable: a list that is no (row, column) pair
                known_cell = False
            if not known_cell:
                known = f"0 … {len(labels) - 1}, (row, column)" if grid is not None else _listed(labels)
                raise HarsanyiValueError(f"Unknown cell {given!r}; cells are {known}, or by name "
                                         f"{label_name[labels[0]]!r} … {label_name[labels[-1]]!r}.")
            chosen.append(int(cell))
        if len(set(chosen)) != len(chosen):
            raise HarsanyiValueError(f"Cells repeat in {list(cells)}; each cell may be one player once.")
    # labels may be any integers (negative ones too): each pixel's label goes to its rank among the sorted labels
    lookup = np.full(len(labels), -1, dtype=np.int64)
    lookup[np.searchsorted(labels, chosen)] = np.arange(len(chosen))
    player_map = lookup[np.searchsorted(labels, cell_map)]  # (H, W): player of each pixel, −1: keeps its value

    if isinstance(baseline, str):
        if baseline == "zero":
            base = np.zeros_like(img)
        elif baseline == "mean":
            axes = (0, 1) if channel_axis is None else ((1, 2) if channel_axis == 0 else (0, 1))
            base = np.broadcast_to(img.mean(axis=axes, keepdims=True), img.shape).copy()
        elif baseline == "blur":
            try:
                from scipy.ndimage import gaussian_filter
            except ImportError:  # pragma: no cover - depends on the environment
                raise ImportError("baseline='blur' needs scipy: pip install 'harsanyi[image]'.") from None
            sigma = blur_sigma if blur_sigma is not None else cell_size / 4
            if not (isinstance(sigma, (int, float, np.integer, np.floating)) and sigma > 0):
                raise HarsanyiValueError(f"Expected blur_sigma > 0 (the blur's standard deviation in pixels); "
                                         f"received {blur_sigma!r}.")
            spatial_sigma = [sigma, sigma] if channel_axis is None else (
                [0, sigma, sigma] if channel_axis == 0 else [sigma, sigma, 0])
            base = gaussian_filter(img, sigma=spatial_sigma, mode="nearest")
        else:
            raise HarsanyiValueError(f"Unknown baseline {baseline!r}: expected 'zero', 'mean', 'blur', a number or an array.")
    else:
        base = _as_array(baseline, "the baseline", np.float64)
        base = base[0] if base.ndim == 4 and base.shape[0] == 1 else base
        if channel_axis == 0 and base.ndim == 1 and img.ndim == 3 and base.shape[0] == img.shape[0]:
            base = base[:, None, None]  # one value per channel (a dataset's mean colour, say)
        try:
            base = np.broadcast_to(base, img.shape).copy()
        except ValueError:
            raise HarsanyiValueError(
                f"Expected a baseline of the image's shape {img.shape}, or one value per channel; received "
                f"{base.shape}."
            ) from None
    if not np.isfinite(base).all():
        bad = f"{np.count_nonzero(~np.isfinite(base)):,} missing or infinite values"
        raise HarsanyiValueError(
            f"baseline={baseline!r} has {bad}, taken from the image's; pass a finite image, or a baseline array."
            if isinstance(baseline, str) else f"The baseline has {bad}; pass finite numbers.")

    adapter = Model(model, output=output if isinstance(output, str) else "raw", model_output=model_output, device=device)
    masker = _Masker(img, base, _expand(player_map, channel_axis), len(chosen), adapter)
    rebuild = functools.partial(image_game, model, image, grid=grid, segments=segments, cells=cells,
                                baseline=baseline, blur_sigma=blur_sigma, channel_axis=channel_axis, output=output,
                                target=target, model_output=model_output)
    info = {"player_map": player_map, "cells": chosen, "grid": None if grid is None else [rows, cols],
            "channel_axis": channel_axis, "image_shape": list(img.shape)}
    return _model_game(adapter, masker, names=[label_name[c] for c in chosen], output=output, target=target,
                       kind="image", rebuild=rebuild, info=info)


# --- text ---------------------------------------------------------------------------------------------------------------
def text_game(
    model,
    input_ids=None,
    *,
    text: str | None = None,
    tokenizer=None,
    players: str = "words",
    word_ids: Sequence[int | None] | None = None,
    special_mask: Sequence[bool] | None = None,
    tokens: Sequence[str] | None = None,
    mask_id: int | None = None,
    embedding=None,
    baseline_embedding=None,
    mask_word: str | None = None,
    select: Sequence[int] | str | None = None,
    output="auto",
    target: int | None = None,
    model_output: str | None = None,
    device=None,
) -> Game:
    """A game over the words (or tokens) of one text.

    Give ``input_ids`` (L,) — with ``word_ids`` (one word index per token, None for special tokens) and
    ``special_mask`` — or ``text`` with a Hugging Face ``tokenizer``, which supplies all three. Special tokens
    ([CLS], [SEP], padding) are never players; [UNK] is (it stands for a word the vocabulary lacks, an emoji, say);
    a word is all of its sub-tokens together.
    Masking: absent tokens are replaced by ``mask_id`` (default the tokenizer's [MASK], else [PAD]) and the model is
    called on (m, L) token ids; or, with ``embedding`` (ids → (L, D); True: a Hugging Face model's own), absent
    tokens take ``baseline_embedding`` (default the embedding of ``mask_id``, else zeros) and the model is called on
    (m, L, D) embeddings (as ``inputs_embeds=`` where its forward takes that keyword, as Hugging Face models do).

    A model that reads text itself (a scikit-learn pipeline with a vectoriser, a callable on strings): give ``text``
    without a tokenizer. Its words (split at white space) are the players; an absent word is dropped, or replaced by
    ``mask_word``; the model is called on an array of m strings.

    ``select``: the positions (from 0) of the words — the tokens with ``players="tokens"`` — that are players, in
    that order, or the words themselves where the text has them once; the others stay in the text as they are (as
    the papers do with 10 content words of a longer sentence). ``select="content"``: every content word (see
    :func:`harsanyi.content_words`); ``"content:10"``: ten of them drawn at random (seed 0), in the text's order.
    Default: every word.
    """
    if text is not None and tokenizer is None and input_ids is None:
        return _words_game(model, text, players=players, mask_word=mask_word, select=select, output=output,
                           target=target, model_output=model_output, device=device)
    if mask_word is not None:
        raise HarsanyiValueError("mask_word= is for models that read text (text= without a tokenizer); with token "
                                 "ids absent tokens take mask_id=.")
    text_str = text
    if text is not None:
        if tokenizer is None:
            raise HarsanyiValueError("Pass text= or input_ids=, not both: text= alone is for a model that reads "
                                     "strings, text= with tokenizer= or input_ids= for one that takes token ids.")
        if not text.strip():
            raise HarsanyiValueError("The text is empty: no words to explain.")
        enc = tokenizer(text)
        input_ids = enc["input_ids"]
        if word_ids is None and hasattr(enc, "word_ids"):
            word_ids = enc.word_ids()
    if input_ids is None:
        raise HarsanyiValueError("Pass input_ids= (a 1-D array of token ids) or text= with a tokenizer=.")
    ids = _as_array(input_ids, "input_ids")
    if ids.ndim == 2 and ids.shape[0] == 1:
        ids = ids[0]
    if ids.ndim != 1 or not np.issubdtype(ids.dtype, np.integer):
        raise HarsanyiValueError(f"Expected input_ids as a 1-D integer array; received {ids.dtype} shape {ids.shape}.")
    length = ids.shape[0]
    if tokenizer is not None:
        tokens = tokens or tokenizer.convert_ids_to_tokens(ids.tolist())
        if special_mask is None:  # [CLS], [SEP], padding…; not [UNK], which stands for a word of the text
            unknown = getattr(tokenizer, "unk_token_id", None)
            special_mask = np.isin(ids, [i for i in tokenizer.all_special_ids if i != unknown])
        if mask_id is None:
            mask_id = getattr(tokenizer, "mask_token_id", None)
            if mask_id is None:
                mask_id = getattr(tokenizer, "pad_token_id", None)
    special = np.zeros(length, bool) if special_mask is None else np.asarray(special_mask, dtype=bool)
    if special.shape != (length,):
        raise HarsanyiValueError(f"Expected special_mask of length {length}; received shape {special.shape}.")
    tokens = [str(t) for t in tokens] if tokens is not None else [str(i) for i in ids.tolist()]
    if len(tokens) != length:
        raise HarsanyiValueError(f"Expected {length} token strings; received {len(tokens)}.")

    owner = np.full(length, -1, dtype=np.int64)
    names: list[str] = []
    if players == "tokens":
        for pos in np.flatnonzero(~special):
            owner[pos] = len(names)
            names.append(tokens[pos])
    elif players == "words":
        if word_ids is None:
            raise HarsanyiValueError(
                "players='words' needs word_ids= (one word index per token, None for special tokens; a fast Hugging "
                "Face tokenizer gives them), or use players='tokens'."
            )
        if len(word_ids) != length:
            raise HarsanyiValueError(f"Expected {length} word_ids; received {len(word_ids)}.")
        word_player: dict[int, int] = {}
        for pos, word in enumerate(word_ids):
            if word is None or special[pos]:
                continue
            if word not in word_player:
                word_player[word] = len(names)
                names.append("")
            p = word_player[word]
            owner[pos] = p
            piece = tokens[pos]
            names[p] += piece[2:] if piece.startswith("##") else piece.lstrip("Ġ▁")
    else:
        raise HarsanyiValueError(f"Expected players='words' or 'tokens'; received {players!r}.")
    if not names:
        raise HarsanyiValueError("The text has no players: every token is special. Check special_mask / the tokenizer.")
    select = resolve_select(select, names, players)
    units, player_of = names, _selected(select, len(names), players)
    owner = np.where(owner >= 0, player_of[np.maximum(owner, 0)], -1)  # token → player; −1: keeps its id
    names = [units[int(u)] for u in (range(len(units)) if select is None else select)]

    called = model
    if embedding is not None:
        called, embedding = _embedding_input(model, embedding)
    adapter = Model(called, output=output if isinstance(output, str) else "raw", model_output=model_output,
                    device=device)
    if embedding is None:
        if mask_id is None:
            raise HarsanyiValueError("Token masking needs mask_id= (the id that replaces absent tokens), or pass embedding=.")
        masker = _Masker(ids, np.full(length, int(mask_id)), owner, len(names), adapter,
                         input_dtype=_int_dtype(adapter))
    else:
        emb = _embed(embedding, ids, adapter)
        if baseline_embedding is None:
            baseline_embedding = _embed(embedding, np.array([mask_id]), adapter)[0] if mask_id is not None \
                else np.zeros(emb.shape[1])
        base = _as_array(baseline_embedding, "baseline_embedding", np.float64)
        if base.shape != (emb.shape[1],):
            raise HarsanyiValueError(f"Expected baseline_embedding of shape ({emb.shape[1]},); received {base.shape}.")
        masker = _Masker(emb, np.broadcast_to(base, emb.shape), owner[:, None], len(names), adapter)
    rebuild = functools.partial(text_game, model, ids, players=players, word_ids=word_ids,
                                special_mask=special, tokens=tokens, mask_id=mask_id, embedding=embedding,
                                baseline_embedding=baseline_embedding, select=select, output=output, target=target,
                                model_output=model_output)
    info = {"tokens": tokens, "owner": owner.tolist(), "input_ids": ids.tolist(), "text": text_str,
            "words": list(units), "word_player": player_of.tolist()}
    return _model_game(adapter, masker, names=_unique_names(names), output=output, target=target, kind="text",
                       rebuild=rebuild, info=info)


def _selected(select, count: int, unit: str) -> np.ndarray:
    """The player of each of ``count`` words (or tokens): its place in ``select``, or −1 where it is not selected
    (it then stays as it is). ``select`` None: every word is a player, in order."""
    if select is None:
        return np.arange(count)
    chosen = list(select) if isinstance(select, (list, tuple, np.ndarray, range)) else None
    if chosen is None or not chosen or not all(isinstance(i, (int, np.integer)) and not isinstance(i, bool)
                                               for i in chosen):
        raise HarsanyiValueError(f"Expected select= as a non-empty list of {unit[:-1]} positions (integers from 0) or "
                                 f"{unit}; received {select!r}.")
    outside = [int(i) for i in chosen if not 0 <= i < count]
    if outside:
        raise HarsanyiValueError(f"select= asks for {unit} {outside}, but the text has {count} {unit} (positions 0 "
                                 f"… {count - 1}).")
    if len(set(int(i) for i in chosen)) != len(chosen):
        raise HarsanyiValueError(f"Positions repeat in select={list(chosen)}; each {unit[:-1]} may be one player once.")
    player_of = np.full(count, -1, dtype=np.int64)
    player_of[np.asarray(chosen, dtype=np.int64)] = np.arange(len(chosen))
    return player_of


class _WordMasker:
    """Masked texts for a model that reads strings: the words of absent players dropped (or replaced by a mask
    word), the rest joined by single spaces. The masking itself is a :class:`_Masker` over the words; ``owner``: the
    player of each word (−1: the word is always there)."""

    def __init__(self, words: list[str], mask_word: str | None, model: Model, owner: np.ndarray):
        pieces = np.array([w + " " for w in words], dtype=object)  # each word with the space that follows it
        absent = np.full(len(words), "" if mask_word is None else mask_word + " ", dtype=object)
        self.inner = _Masker(pieces, absent, owner, int(owner.max()) + 1, model, input_dtype=object)
        self.n, self.x, self.b = self.inner.n, self.inner.x, self.inner.b
        self.bytes_per_coalition = 4 * sum(len(p) for p in pieces) + 64  # the joined text, in UCS-4, and its array slot

    def __call__(self, masks):
        return _joined(self.inner(masks))

    def range(self, start: int, stop: int):
        return _joined(self.inner.range(start, stop))

    def check_untouched(self, block) -> None:
        """Nothing to check: the model sees new strings, never the masking's own buffer."""


def _joined(pieces: np.ndarray) -> np.ndarray:
    """(m, L) word pieces → (m,) strings, concatenated one word position at a time over all m rows at once."""
    out = pieces[:, 0].astype(str)
    for j in range(1, pieces.shape[1]):  # a loop over the words, not the coalitions
        out = np.char.add(out, pieces[:, j].astype(str))
    return np.char.rstrip(out, " ")


def _words_game(model, text: str, *, players, mask_word, select, output, target, model_output, device) -> Game:
    """``text_game`` for a model that reads strings: the words of ``text`` are the players."""
    if not isinstance(text, str):
        raise HarsanyiValueError(f"Expected text= as a string; received {type(text).__name__}.")
    if players != "words":
        raise HarsanyiValueError(f"players={players!r} needs a tokenizer=; without one the players are the words.")
    if mask_word is not None and not isinstance(mask_word, str):
        raise HarsanyiValueError(f"Expected mask_word as a string (the word an absent word becomes, e.g. \"[UNK]\"); "
                                 f"received {mask_word!r}.")
    words = text.split()
    if not words:
        raise HarsanyiValueError("The text has no words: nothing to explain.")
    adapter = Model(model, output=output if isinstance(output, str) else "raw", model_output=model_output, device=device)
    if adapter.is_torch:
        raise HarsanyiValueError("A torch model takes token ids, not strings: pass tokenizer= (or input_ids=) too.")
    select = resolve_select(select, words, "words")
    player_of = _selected(select, len(words), "words")
    masker = _WordMasker(words, mask_word, adapter, player_of)
    rebuild = functools.partial(text_game, model, text=text, players=players, mask_word=mask_word, select=select,
                                output=output, target=target, model_output=model_output)
    info = {"tokens": words, "owner": player_of.tolist(), "text": text, "mask_word": mask_word, "words": words,
            "word_player": player_of.tolist()}
    names = [words[i] for i in (range(len(words)) if select is None else select)]
    return _model_game(adapter, masker, names=_unique_names(names), output=output, target=target, kind="text",
                       rebuild=rebuild, info=info)


def _embedding_input(model, embedding):
    """(the model to call on (m, L, D) embeddings, the embedding layer). ``embedding=True`` takes a Hugging Face
    model's own layer (``get_input_embeddings()``); a model whose forward takes ``inputs_embeds`` (Hugging Face's
    name) is called with them by keyword, as it reads a positional argument as token ids."""
    import inspect

    if embedding is True:
        getter = getattr(model, "get_input_embeddings", None)
        if getter is None:
            raise HarsanyiValueError(
                f"embedding=True takes a Hugging Face model's own embedding layer (get_input_embeddings()), which "
                f"{type(model).__name__} does not have; pass the layer (a function of token ids → (L, D)).")
        embedding = getter()
    try:
        takes_embeds = _is_torch_module(model) and "inputs_embeds" in inspect.signature(model.forward).parameters
    except (TypeError, ValueError):  # a forward without a signature (some compiled modules)
        takes_embeds = False
    if not takes_embeds:
        return model, embedding
    import torch

    class InputsEmbeds(torch.nn.Module):
        """The model called on embeddings by keyword: model(inputs_embeds=e)."""

        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, embeds):
            return self.inner(inputs_embeds=embeds)

    return InputsEmbeds(model), embedding


def _int_dtype(model: Model):
    if model.is_torch:
        import torch

        return torch.int64
    return np.int64


def _embed(embedding, ids: np.ndarray, model: Model) -> np.ndarray:
    if model.is_torch:
        import torch

        with torch.no_grad():
            out = embedding(torch.as_tensor(ids, device=model.device, dtype=torch.int64))
        return to_numpy(out).astype(np.float64)
    out = np.asarray(embedding(ids), dtype=np.float64)
    if out.ndim != 2 or out.shape[0] != ids.shape[0]:
        raise HarsanyiValueError(f"Expected embedding(ids) of shape ({ids.shape[0]}, D); received {out.shape}.")
    return out


def _document_game_builders() -> None:
    """Give ``Game.tabular``, ``Game.image`` and ``Game.text`` the parameters and documentation of the builders they
    call, so that ``help(Game.tabular)`` and a notebook's ``Game.tabular?`` show them."""
    for method, builder in ((Game.tabular, tabular_game), (Game.image, image_game), (Game.text, text_game)):
        function = method.__func__
        signature = inspect.signature(builder)
        cls = inspect.Parameter("cls", inspect.Parameter.POSITIONAL_OR_KEYWORD)
        function.__signature__ = signature.replace(parameters=[cls, *signature.parameters.values()],
                                                   return_annotation="Game")
        function.__doc__ = builder.__doc__


_document_game_builders()
