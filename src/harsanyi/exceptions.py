"""Exception and warning classes users can catch."""

from __future__ import annotations

__all__ = [
    "HarsanyiError",
    "HarsanyiValueError",
    "CertificateError",
    "MemoryBudgetError",
    "ModelOutputError",
    "ModelInputError",
    "CacheError",
    "ExponentialCostWarning",
]


class HarsanyiError(Exception):
    """Base class of every error raised by harsanyi."""


class HarsanyiValueError(HarsanyiError, ValueError):
    """An argument has the wrong type, shape or value; the message says what was expected and how to fix it."""


class CertificateError(HarsanyiError, ArithmeticError):
    """A result failed its own check (reconstruction residual or efficiency gap above tolerance)."""


class MemoryBudgetError(HarsanyiError, MemoryError):
    """An exact computation would not fit in the memory budget; raised before any work starts. ``need``: what it
    needs against the budget, in words (the message without its fix); ``batch_size``: the largest batch (a power of
    two) with which it would fit, or None when even the value table does not."""

    def __init__(self, message: str, batch_size: int | None = None, need: str | None = None):
        super().__init__(message)
        self.batch_size, self.need = batch_size, need if need is not None else message


class ModelOutputError(HarsanyiError, ValueError):
    """The model (or game function) returned something that is not one finite number per coalition."""


class ModelInputError(HarsanyiValueError):
    """The model raised an error on the input as the game gives it (a layout, size or dtype it does not take); the
    message shows that input's shape and the model's own error, which is chained as ``__cause__``."""


class CacheError(HarsanyiError, OSError):
    """A resume cache cannot be read, or belongs to a different game."""


class ExponentialCostWarning(UserWarning):
    """An exact run costs 2ⁿ model calls for a large n; the warning says how many and how long it may take."""
