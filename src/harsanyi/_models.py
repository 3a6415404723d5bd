"""Models as functions from a batch of inputs to a 2-D array of scores, and the scalar outputs v(S) (SPEC §1).

A model is a torch ``nn.Module`` (run under no-grad on its device), a scikit-learn estimator (``predict_proba``,
``decision_function`` or ``predict``), or a plain callable on NumPy arrays. Whatever it is, :class:`Model` returns
scores of shape (m, k) and knows whether they are logits (or raw values) or probabilities; an :data:`OUTPUTS` entry
then turns the scores into one float per input.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ._array import is_torch
from .exceptions import HarsanyiValueError, ModelOutputError

__all__ = ["Model", "Output", "OUTPUTS", "make_output", "LOG_ODDS_EPS"]

LOG_ODDS_EPS = 1e-7  # probabilities are clamped to [ε, 1 − ε] before log(p / (1 − p)) (REFERENCE §1.3 uses 1e-7)
SCORE_KINDS = ("logits", "probabilities")


def _is_torch_module(model) -> bool:
    return any(cls.__module__.startswith("torch.nn") and cls.__name__ == "Module" for cls in type(model).__mro__)


def _is_sklearn_estimator(model) -> bool:
    return hasattr(model, "fit") and any(hasattr(model, m) for m in ("predict_proba", "decision_function", "predict"))


def _sklearn_classifier(model) -> bool:
    """Whether a scikit-learn(-like) estimator is a classifier (scikit-learn's tags; ``_estimator_type`` before)."""
    try:
        from sklearn.base import is_classifier
    except ImportError:  # an estimator of another library that follows the same conventions
        return getattr(model, "_estimator_type", None) == "classifier"
    try:
        return bool(is_classifier(model))
    except Exception:  # noqa: BLE001 - an estimator whose tags scikit-learn cannot read
        return getattr(model, "_estimator_type", None) == "classifier"


def _sklearn_clusterer(model) -> bool:
    """Whether a scikit-learn(-like) estimator is a clusterer, whose predict gives cluster labels."""
    try:
        from sklearn.base import is_clusterer
    except ImportError:  # an older scikit-learn, or another library's estimator
        return getattr(model, "_estimator_type", None) == "clusterer"
    try:
        return bool(is_clusterer(model))
    except Exception:  # noqa: BLE001 - an estimator whose tags scikit-learn cannot read
        return getattr(model, "_estimator_type", None) == "clusterer"


class Model:
    """A model of any supported kind, seen as inputs (m, …) → scores (m, k), float64, on the model's backend."""

    def __init__(self, model, *, output: str, model_output: str | None = None, device=None):
        self.raw = model
        self.is_torch = _is_torch_module(model)
        self.method = None
        self.columns = None  # the column names a scikit-learn estimator was fitted with
        self.width = None  # … and the number of features
        self.categories = None  # which of those columns hold categories (set by the tabular game of a mixed row)
        self.is_classifier = False  # a scikit-learn classifier (its scores are per class)
        if self.is_torch:
            import torch

            _check_inference_mode(model)
            params = list(model.parameters()) + list(model.buffers())
            self.device = _torch_device(device) if device is not None else (params[0].device if params else torch.device("cpu"))
            self.dtype = next((p.dtype for p in params if p.is_floating_point()), torch.float32)
            if device is not None:
                model.to(self.device)
            self.kind = model_output or "logits"
        elif _is_sklearn_estimator(model):
            if device not in (None, "cpu"):
                raise HarsanyiValueError(
                    f"device={device!r} applies to torch models; a scikit-learn estimator runs on the CPU. Drop device."
                )
            self.device = None
            self.dtype = np.float64
            # fitted on a DataFrame: called with one too (same column names), so no "X does not have valid feature
            # names" warning, and a pipeline that selects its columns by name works
            names = getattr(model, "feature_names_in_", None)
            self.columns = None if names is None else list(names)
            width = getattr(model, "n_features_in_", None)
            self.width = int(width) if isinstance(width, (int, np.integer)) else None
            self.is_classifier = _sklearn_classifier(model)
            # a classifier's scores, not predict's labels (for "raw" and a callable output too: its scores (m, k))
            scores = self.is_classifier or output in ("prob", "log-odds", "logit", "auto")
            has_decision = hasattr(model, "decision_function")
            if scores and hasattr(model, "predict_proba") and (output != "logit" or not has_decision):
                self.method, self.kind = "predict_proba", "probabilities"
            elif scores and has_decision:  # an SVM, say: its margins as logits
                self.method, self.kind = "decision_function", "logits"
            elif scores and self.is_classifier:
                raise HarsanyiValueError(
                    f"{type(model).__name__} has neither predict_proba nor decision_function: its predict gives class "
                    f"labels, whose changes under masking are steps, not scores. Use a classifier with scores (e.g. "
                    f"SVC(probability=True)), or explain a function of the inputs that returns scores.")
            elif _sklearn_clusterer(model):
                raise HarsanyiValueError(
                    f"{type(model).__name__} is a clusterer: its predict gives cluster labels, whose numbers are "
                    f"names, not scores. Explain a score of the inputs instead, e.g. the distance to cluster k: "
                    f"Game.tabular(lambda X: -model.transform(X)[:, k], x).")
            else:
                self.method, self.kind = "predict", "logits"
        elif callable(model):
            if device not in (None, "cpu"):
                raise HarsanyiValueError(
                    f"device={device!r} applies to torch models; a plain function runs on NumPy arrays. Drop device."
                )
            self.device = None
            self.dtype = np.float64
            self.kind = model_output or "logits"
        else:
            raise HarsanyiValueError(
                f"Expected a model: a torch nn.Module, a scikit-learn estimator, or a callable on arrays; received "
                f"{type(model).__name__}."
            )
        if self.kind not in SCORE_KINDS:
            raise HarsanyiValueError(f"Expected model_output in {SCORE_KINDS}; received {self.kind!r}.")

    @property
    def regressor(self) -> bool:
        """A scikit-learn estimator read through predict that is no classifier: its several outputs are not classes."""
        return self.method == "predict" and not self.is_classifier

    @property
    def backend(self) -> str:
        return "torch" if self.is_torch else "numpy"

    def __call__(self, batch, *, grad: bool = False):
        """Scores of shape (m, k), float64. ``grad``: keep the autograd graph (torch models only)."""
        m = batch.shape[0]
        if self.is_torch:
            import torch

            with torch.set_grad_enabled(grad):
                out = self.raw(batch)
            if hasattr(out, "logits"):  # Hugging Face model outputs
                out = out.logits
            elif isinstance(out, Mapping) and "logits" in out:
                out = out["logits"]
            elif isinstance(out, (tuple, list)):
                out = out[0]
            if not is_torch(out):
                keys = f" with keys {sorted(map(str, out))[:8]}" if isinstance(out, Mapping) else ""
                raise ModelOutputError(
                    f"Expected the torch model to return a tensor of scores (or a dict or Hugging Face output with "
                    f"'logits'); it returned {type(out).__name__}{keys}. Wrap it in an nn.Module whose forward "
                    f"returns the scores tensor, e.g. model(x)['scores'].")
            out = out.to(torch.float64)
        else:
            fn = getattr(self.raw, self.method) if self.method else self.raw
            returned = fn(self._as_fitted(batch))
            try:
                out = np.asarray(returned, dtype=np.float64)
            except (TypeError, ValueError) as err:
                sample = returned[0] if isinstance(returned, (list, tuple)) and returned else returned
                raise ModelOutputError(
                    f"Expected the model to return numbers, shape ({m},) or ({m}, k); it returned "
                    f"{type(returned).__name__} ({err}), e.g. {sample!r:.80}. Wrap it so that it returns an array of "
                    f"scores per input (for a pipeline of label dicts, e.g. the score of each class).") from err
        if out.ndim == 1:
            out = out.reshape(m, 1)
        if out.ndim != 2 or out.shape[0] != m:
            raise ModelOutputError(
                f"Expected the model to return one score vector per input, shape ({m},) or ({m}, k); it returned "
                f"shape {tuple(out.shape)}. Wrap the model so that it returns (batch, classes) scores."
            )
        return out

    def _as_fitted(self, batch):
        """The batch in the form the estimator was fitted on: images (m, …) flattened to rows where it takes rows of
        that many values, and a pandas DataFrame with its columns where it was fitted on one."""
        if self.width is not None and batch.ndim > 2 and int(np.prod(batch.shape[1:])) == self.width:
            batch = batch.reshape(batch.shape[0], -1)
        if self.columns is None or batch.ndim != 2 or batch.shape[1] != len(self.columns):
            return batch
        try:
            import pandas as pd
        except ImportError:  # fitted on another kind of data frame: plain arrays (scikit-learn may warn)
            return batch
        frame = pd.DataFrame(batch, columns=self.columns, copy=False)
        if batch.dtype != object:
            return frame
        if self.categories is None:
            return frame.infer_objects()  # a row with categories: numbers as numbers
        # the number columns as numbers and the category columns as objects, even where a batch holds only missing
        # values (NaN) in a category column, which inference would make a column of floats
        return frame.astype({c: np.float64 for c, category in zip(self.columns, self.categories) if not category})


def _check_inference_mode(model) -> None:
    """Refuse a torch model in training mode with dropout or batch norm: its outputs would be random, or depend on
    the other inputs of the batch, so v(S) would not be a function of the coalition S."""
    active = []
    for name, module in model.named_modules():
        kind = getattr(module, "original_name", type(module).__name__)  # TorchScript keeps the class name there
        if module.training and (("Dropout" in kind and float(getattr(module, "p", 1.0)) > 0) or "BatchNorm" in kind):
            active.append(f"'{name}' ({kind})" if name else f"the model itself ({kind})")
    if active:
        raise HarsanyiValueError(
            f"The torch model is in training mode, where its modules {_listed_modules(active)} make its output "
            f"random or dependent on the rest of the batch: v(S) would not be a function of the coalition. Call "
            f"model.eval() before explaining it.")


def _listed_modules(names: list[str], most: int = 3) -> str:
    return ", ".join(names[:most]) + (f" and {len(names) - most} more" if len(names) > most else "")


def _torch_device(device):
    """``device`` as a torch.device that this machine has; a clear error for a misspelt or missing one."""
    import torch

    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise HarsanyiValueError(f"Expected a torch device such as 'cpu', 'cuda' or 'cuda:1'; received {device!r}.") \
            from None
    available = {"cuda": torch.cuda.is_available,
                 "mps": lambda: getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()}
    if dev.type in available and not available[dev.type]():
        raise HarsanyiValueError(
            f"device={device!r} asks for a {dev.type.upper()} device, but torch sees none here (a CPU-only build of "
            f"torch, or no driver). Leave the device out (device=, --device) to run on the CPU.")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise HarsanyiValueError(f"device={device!r}: this machine has {torch.cuda.device_count()} CUDA device(s), "
                                 f"numbered from 0.")
    return dev


@dataclass(frozen=True)
class Output:
    """A rule scores (m, k) → v (m,): its name and whether it needs a target class."""

    name: str
    needs_target: bool
    fn: Callable  # (scores, kind, target) -> (m,)


def _lib(a):
    if is_torch(a):
        import torch

        return torch
    return np


def _binary_sign(target: int):
    if target not in (0, 1):
        raise HarsanyiValueError(f"A single-score binary model has classes 0 and 1; received target={target}.")
    return 1.0 if target == 1 else -1.0


def _column(scores, target: int):
    if not 0 <= target < scores.shape[1]:
        raise HarsanyiValueError(
            f"target={target} is out of range: the model returns {scores.shape[1]} scores per input."
        )
    return scores[:, target]


def _raw(scores, kind, target):
    if scores.shape[1] == 1:
        if target not in (None, 0, 1):  # 0 / 1: a single-score binary model's classes, which leave its score as is
            raise HarsanyiValueError(f"target={target} is out of range: the model returns one score per input, which "
                                     f"output='raw' explains as it is. Leave target out.")
        return scores[:, 0]
    if target is None:
        raise HarsanyiValueError(
            f"output='raw' needs one score per input, but the model returns {scores.shape[1]}. Pass target=INDEX (the "
            f"output, or class, to explain), or output='logit' / 'log-odds' / a callable."
        )
    return _column(scores, target)


def _logit(scores, kind, target):
    if kind == "probabilities":
        raise HarsanyiValueError(
            "output='logit' needs logits, but the model returns probabilities (predict_proba). Use output='log-odds' "
            "(the logit of the probability) or output='prob'."
        )
    if scores.shape[1] == 1:
        return _binary_sign(target) * scores[:, 0]
    return _column(scores, target)


def _prob(scores, kind, target):
    xp = _lib(scores)
    if kind == "probabilities":
        if scores.shape[1] == 1:
            return scores[:, 0] if _binary_sign(target) > 0 else 1.0 - scores[:, 0]
        return _column(scores, target)
    if scores.shape[1] == 1:
        z = _binary_sign(target) * scores[:, 0]
        return 1.0 / (1.0 + xp.exp(-z))
    z = scores - scores.max(axis=1, keepdims=True) if xp is np else scores - scores.max(dim=1, keepdim=True).values
    e = xp.exp(z)
    return _column(e, target) / e.sum(axis=1) if xp is np else _column(e, target) / e.sum(dim=1)


def _log_odds(scores, kind, target):
    xp = _lib(scores)
    if kind == "probabilities":
        p = _prob(scores, kind, target)
        p = xp.clip(p, LOG_ODDS_EPS, 1.0 - LOG_ODDS_EPS)
        return xp.log(p) - xp.log1p(-p)
    if scores.shape[1] == 1:
        return _binary_sign(target) * scores[:, 0]
    z_c = _column(scores, target)
    others = xp.concatenate([scores[:, :target], scores[:, target + 1 :]], axis=1) if xp is np else \
        xp.cat([scores[:, :target], scores[:, target + 1 :]], dim=1)
    if xp is np:
        top = others.max(axis=1)
        lse = top + np.log(np.exp(others - top[:, None]).sum(axis=1))
    else:
        lse = xp.logsumexp(others, dim=1)
    return z_c - lse  # log p_c / (1 − p_c), exact, no clamping needed


OUTPUTS: dict[str, Output] = {
    o.name: o
    for o in [
        Output("raw", False, _raw),
        Output("logit", True, _logit),
        Output("prob", True, _prob),
        Output("log-odds", True, _log_odds),
    ]
}


def make_output(output, n_scores: int, kind: str, is_classifier: bool, regressor: bool = False) -> tuple[str, Callable]:
    """Resolve ``output`` ("auto", a registered name, or a callable) to (name, rule). "auto": log-odds for
    probabilities, several scores (a torch classifier's logits) or a classifier; raw for one score and for a
    ``regressor`` (a scikit-learn estimator's predict, whose several outputs are not classes)."""
    if callable(output):
        return getattr(output, "__name__", "custom"), lambda scores, kind, target: output(scores)
    if output == "auto":
        several = n_scores > 1 and not regressor
        output = "log-odds" if (kind == "probabilities" or several or is_classifier) else "raw"
    if output not in OUTPUTS:
        raise HarsanyiValueError(
            f"Unknown output {output!r}. Valid: 'auto', {', '.join(map(repr, OUTPUTS))}, or a callable scores → (m,)."
        )
    return output, OUTPUTS[output].fn


def predicted_class(scores, kind: str) -> int:
    """The class predicted from the scores of one input (shape (1, k))."""
    row = np.asarray(scores.cpu() if is_torch(scores) else scores, dtype=np.float64)[0]
    if row.size == 1:
        return int(row[0] > (0.5 if kind == "probabilities" else 0.0))
    return int(np.argmax(row))
