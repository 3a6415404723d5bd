"""The few array operations that differ between NumPy and torch. torch is never imported here."""

from __future__ import annotations

import sys

import numpy as np

from .exceptions import HarsanyiValueError


def is_torch(a) -> bool:
    return type(a).__module__.startswith("torch")


def copy_float64(a):
    """A contiguous float64 copy of a NumPy array or torch tensor (on the tensor's device)."""
    if is_torch(a):
        import torch

        return a.detach().to(dtype=torch.float64, copy=True).contiguous()
    return np.array(a, dtype=np.float64, copy=True, order="C")


def namespace(a):
    """The module whose functions take ``a``'s kind of array, with ``out=``: torch for a tensor, else NumPy."""
    if is_torch(a):
        import torch

        return torch
    return np


def empty(shape, a):
    """An uninitialised float64 array of ``shape`` in the backend and on the device of ``a``."""
    if is_torch(a):
        import torch

        return torch.empty(shape, dtype=torch.float64, device=a.device)
    return np.empty(shape)


def complement(a):
    """A bitmask-indexed table read at the complements, f(N∖S) at S: the last axis reversed, since N∖S = (2ⁿ−1) − S.
    A NumPy view; torch returns a new tensor."""
    return a.flip(-1) if is_torch(a) else a[..., ::-1]


# Below 2¹³ values (n ≤ 12 players) NumPy's passes beat torch's on the same memory, 2–3× on two cores: torch's
# threads wake for each of some sixty calls behind the dividends, their certificate, SV and k-SII-2. From 2¹³ on,
# NumPy's matrix products are large enough for OpenBLAS to start threads of its own, and right after a model's
# forward passes, while torch's threads still spin, the two pools contend: bench/exact.py's pipeline at n = 13 / 16
# took 1.2–1.6 / 2.7–2.8× as long on NumPy's kernels (bench/kernels.py), though the table alone is faster there.
TORCH_MIN_SIZE = 1 << 13


def torch_for(a):
    """The torch module where a float64 NumPy array ``a`` is better handled by torch's kernels, on the same memory
    (torch already loaded and ``a`` at least :data:`TORCH_MIN_SIZE` values); else None (and None for a tensor)."""
    torch = sys.modules.get("torch")
    if torch is None or is_torch(a) or a.size < TORCH_MIN_SIZE:
        return None
    return torch


def _reducible(a):
    """``a`` as a torch tensor where torch reduces it without a temporary |a|: a tensor, or a float64 NumPy array
    viewed without a copy once torch is loaded (its reductions are multithreaded: 2–3× NumPy's at 2²⁰ entries;
    torch takes writable arrays only); None for a NumPy array otherwise."""
    if is_torch(a):
        return a
    torch = torch_for(a) if isinstance(a, np.ndarray) else None
    if torch is not None and a.dtype == np.float64 and a.flags.writeable:
        return torch.from_numpy(a)
    return None


def abs_max(a) -> float:
    """max |a| as a float (one min-max pass; NaN if ``a`` holds one)."""
    t = _reducible(a)
    if t is not None:
        import torch

        low, high = torch.aminmax(t)
        return max(abs(float(low)), abs(float(high)))
    return float(np.abs(a).max())


def abs_sum(a) -> float:
    """Σ |a| as a float."""
    t = _reducible(a)
    if t is not None:
        import torch

        return float(torch.linalg.vector_norm(t, 1))
    return float(np.abs(a).sum())


def to_numpy(a) -> np.ndarray:
    if is_torch(a):
        return a.detach().cpu().numpy()
    return np.asarray(a)


def like(values: np.ndarray, a):
    """``values`` (NumPy) moved to the backend and device of ``a``."""
    if is_torch(a):
        import torch

        return torch.as_tensor(values, device=a.device)
    return values


def n_players_of(table) -> int:
    """n such that the last axis of ``table`` has length 2ⁿ; a clear error otherwise."""
    if table.ndim < 1:
        raise HarsanyiValueError(
            "Expected a value table: an array whose last axis has length 2**n (index = coalition bitmask); "
            "received a scalar. Pass one value per coalition."
        )
    length = int(table.shape[-1])
    n = length.bit_length() - 1
    if length < 1 or (1 << n) != length:
        raise HarsanyiValueError(
            f"Expected a value table whose last axis has length 2**n (one value per coalition); received length "
            f"{length}, which is not a power of two. Evaluate every coalition of the n players, e.g. with "
            f"Game.evaluate()."
        )
    return n
