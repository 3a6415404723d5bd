"""Fast O(n·2ⁿ) transforms on value tables (SPEC §2).

Every function works on the last axis of a NumPy array or a torch tensor of length 2ⁿ, whose index is the
coalition bitmask (bit i ↔ player i); leading axes are batch axes. Each transform is a butterfly over the bits:
for bit i the table is viewed as (…, 2^{n-i-1}, 2, 2^i) and slice 1 (bit i set) is combined with slice 0.
No Python loop over subsets and no 2ⁿ×2ⁿ matrix is ever formed.

The four transforms and their relations:

* ``subset_zeta``      (ζf)(S) = Σ_{T⊆S} f(T)
* ``subset_moebius``   its inverse: (μf)(S) = Σ_{T⊆S} (−1)^{|S|−|T|} f(T)
* ``superset_zeta``    (ζ⁺f)(S) = Σ_{T⊇S} f(T)          — the adjoint (transpose) of ``subset_zeta``
* ``superset_moebius`` its inverse                      — the adjoint of ``subset_moebius``
"""

from __future__ import annotations

import functools

import numpy as np

from ._array import complement, copy_float64, empty, is_torch, n_players_of, namespace, torch_for
from .exceptions import HarsanyiValueError

__all__ = [
    "subset_zeta",
    "subset_moebius",
    "superset_zeta",
    "superset_moebius",
    "or_transform",
    "or_reconstruct",
    "or_reconstruct_adjoint",
    "popcounts",
    "masks_of_size",
    "kronecker_transform",
]


_LOW_BITS = 5  # the lowest bits are combined at once by a 32×32 matrix product (see _butterfly)


@functools.lru_cache(maxsize=None)
def _kron_block(bits: int, subtract: bool, superset: bool) -> np.ndarray:
    """The butterfly of ``bits`` bits as one (2^bits × 2^bits) matrix K, applied to rows as ``block @ K``.

    Per bit the 2×2 map sends (f(S), f(S∪{i})) to (f(S), f(S∪{i}) ± f(S)) (subset) or (f(S) ± f(S∪{i}),
    f(S∪{i})) (superset); several bits compose as a Kronecker product (bit 0 the rightmost factor).
    """
    sign = -1.0 if subtract else 1.0
    step = (1.0, sign, 0.0, 1.0) if superset else (1.0, 0.0, sign, 1.0)
    return np.ascontiguousarray(_kron_factor_power((2, 2), step, bits).T)  # row form: new_block = block @ k.T


def _butterfly(table, *, subtract: bool, superset: bool):
    """Apply the butterfly for every bit; returns a new float64 array (or tensor on the input's device).

    A torch tensor gets one in-place add per bit (torch's kernels are multithreaded and handle the short strided
    slices of the low bits well); so does a NumPy table of 2¹³ values or more when torch is already loaded, through
    a zero-copy view (below that, NumPy's lower cost a call wins). Otherwise the lowest ``_LOW_BITS`` bits are done
    together as one small matrix product over contiguous blocks of 32 values: there NumPy's per-bit slices are only
    1…16 values long and its strided kernels are 3× slower.
    """
    n = n_players_of(table)
    batch = tuple(table.shape[:-1])
    a = copy_float64(table)
    torch = torch_for(a)
    if is_torch(a):
        _butterfly_bits(a, batch, 0, n, subtract, superset)
    elif torch is not None:  # a large NumPy table, torch loaded: torch's kernels on the same memory
        _butterfly_bits(torch.from_numpy(a), batch, 0, n, subtract, superset)
    else:
        low = min(_LOW_BITS, n)
        a = (a.reshape(*batch, -1, 1 << low) @ _kron_block(low, subtract, superset)).reshape(*batch, 1 << n)
        _butterfly_bits(a, batch, low, n, subtract, superset)
    return a


def _butterfly_bits(a, batch: tuple, low: int, n: int, subtract: bool, superset: bool) -> None:
    """In place: the butterfly of bits low … n−1 of ``a`` (NumPy array or torch tensor, contiguous float64)."""
    for i in range(low, n):
        view = a.reshape(*batch, -1, 2, 1 << i)  # (..., 2^{n-i-1}, 2, 2^i); axis -2 is bit i
        without_i = view[..., 0, :]
        with_i = view[..., 1, :]
        if superset:  # S without bit i gathers from S ∪ {i}
            target, source = without_i, with_i
        else:  # S with bit i gathers from S ∖ {i}
            target, source = with_i, without_i
        if subtract:
            target -= source
        else:
            target += source


def subset_zeta(f):
    """(ζf)(S) = Σ_{T⊆S} f(T). Reconstructs a value table from its Harsanyi dividends.

    >>> import numpy as np
    >>> subset_zeta(np.array([1.0, 2.0, 3.0, 4.0]))
    array([ 1.,  3.,  4., 10.])
    """
    return _butterfly(f, subtract=False, superset=False)


def subset_moebius(v):
    """(μv)(S) = Σ_{T⊆S} (−1)^{|S|−|T|} v(T): the Harsanyi dividends (AND interactions) of a value table.

    >>> import numpy as np
    >>> subset_moebius(np.array([1.0, 3.0, 4.0, 10.0]))
    array([1., 2., 3., 4.])
    """
    return _butterfly(v, subtract=True, superset=False)


def superset_zeta(f):
    """(ζ⁺f)(S) = Σ_{T⊇S} f(T); the adjoint of :func:`subset_zeta`."""
    return _butterfly(f, subtract=False, superset=True)


def superset_moebius(f):
    """Inverse of :func:`superset_zeta`; the adjoint of :func:`subset_moebius`."""
    return _butterfly(f, subtract=True, superset=True)


def or_transform(v):
    """OR interactions of a value table (SPEC §2).

    I_or(∅) = v(∅) and, for S ≠ ∅, I_or(S) = −Σ_{T⊆S} (−1)^{|S|−|T|} v(N∖T), the negated Möbius transform of the
    complement game u(T) = v(N∖T). The complement of mask T is (2ⁿ−1) − T, so u is v reversed along the last axis.
    """
    u = complement(v)  # (..., 2^n): u[T] = v[N∖T]
    out = subset_moebius(u)
    out *= -1.0
    out[..., 0] = v[..., 0]
    return out


def or_reconstruct(i_or):
    """Inverse of :func:`or_transform`: v(S) = I_or(∅) + Σ_{T: T∩S≠∅} I_or(T) for every S.

    Σ_{T∩S≠∅} I(T) = Σ_{T≠∅} I(T) − Σ_{∅≠T⊆N∖S} I(T), and Σ_{T⊆N∖S} is the subset-zeta read at the complement.
    """
    nonempty = copy_float64(i_or)
    nonempty[..., 0] = 0.0
    within = subset_zeta(nonempty)  # (..., 2^n): Σ_{∅≠T⊆R} I(T) at index R
    total = within[..., -1:]  # Σ_{T≠∅} I(T), kept 2-D for broadcasting
    within_complement = complement(within)
    return i_or[..., :1] + total - within_complement


def or_reconstruct_adjoint(w):
    """The adjoint (transpose) of :func:`or_reconstruct`: (Rᵀw)(∅) = Σ_S w(S), (Rᵀw)(T) = Σ_{S: S∩T≠∅} w(S).

    Σ_{S∩T≠∅} w(S) = Σ_S w(S) − Σ_{S⊆N∖T} w(S), the total minus the subset-zeta read at the complement.
    """
    within = subset_zeta(w)  # (..., 2^n): Σ_{S⊆R} w(S) at index R
    total = within[..., -1:]
    out = total - complement(within)
    out[..., 0] = total[..., 0]
    return out


_GROUP_BITS = 4  # kronecker_transform combines this many bits at once, as one (16 × 16) matrix product


@functools.lru_cache(maxsize=64)
def _kron_factor_power(shape: tuple, factor: tuple, bits: int) -> np.ndarray:
    """⊗^bits of each 2×2 factor (``factor`` flat, of ``shape`` (…, 2, 2)), bit 0 the rightmost (read-only)."""
    step = np.array(factor, dtype=np.float64).reshape(shape)
    out = np.ones((*shape[:-2], 1, 1))
    for _ in range(bits):
        out = (step[..., :, None, :, None] * out[..., None, :, None, :]).reshape(
            *shape[:-2], 2 * out.shape[-2], 2 * out.shape[-1])
    out.flags.writeable = False
    return out


@functools.lru_cache(maxsize=64)
def _kron_factor_power_on(shape: tuple, factor: tuple, bits: int, device):
    import torch

    return torch.from_numpy(_kron_factor_power(shape, factor, bits).copy()).to(device)


def kronecker_transform(table, factor, *, out=None, work=None):
    """(⊗ⁿ A) f for a 2×2 matrix A = ``factor`` (A[out bit][in bit], the same map on every player's bit).

    Every transform above is one of these (ζ: A = [[1, 0], [1, 1]]; μ: [[1, 0], [−1, 1]]); this one takes any A, or
    a stack of them of shape (…, 2, 2) that broadcasts against the table's leading axes (one map per table). Bits
    are combined four at a time as one (16 × 16) matrix product over the table viewed as (…, 16, 2^low): one
    batched BLAS call per four bits instead of four strided passes of several elementwise operations each. Works
    on the last axis of a float64 NumPy array or torch tensor (on its device) and returns a new array, or, given
    ``out`` and ``work`` (contiguous float64 arrays of the result's shape and backend, neither the table itself),
    alternates its passes between them, ends in ``out`` and returns it: a loop that calls it allocates nothing.
    """
    n = n_players_of(table)
    batch = tuple(table.shape[:-1])
    factor = np.asarray(factor, dtype=np.float64)
    if factor.ndim < 2 or factor.shape[-2:] != (2, 2):
        raise HarsanyiValueError(f"Expected 2×2 factors, shape (…, 2, 2); received shape {factor.shape}. Pass one "
                                 f"2×2 matrix, or a stack of them that broadcasts against the table's leading axes.")
    key = (factor.shape, tuple(factor.ravel().tolist()))
    lead = np.broadcast_shapes(batch, factor.shape[:-2])
    shape = (*lead, 1 << n)
    if (out is None) != (work is None) or (out is not None and not (tuple(out.shape) == tuple(work.shape) == shape)):
        raise HarsanyiValueError(f"Expected both out and work, each of the result's shape {shape}, or neither; "
                                 f"received {_shape_of(out)} and {_shape_of(work)}.")
    if out is not None and not (_contiguous(out) and _contiguous(work)):
        raise HarsanyiValueError("Expected out and work to be contiguous (the passes write through reshaped views of "
                                 "them); pass np.empty / torch.empty arrays, or neither.")
    if not n:
        return copy_float64(table) if out is None else _copy_into(table, out)
    if out is None:
        out, work = empty(shape, table), empty(shape, table)
    on_torch, passes = is_torch(table), -(-n // _GROUP_BITS)
    source, low = table, 0
    for index in range(passes):
        bits = min(_GROUP_BITS, n - low)
        block = _kron_factor_power_on(*key, bits, table.device) if on_torch else _kron_factor_power(*key, bits)
        target = out if (passes - 1 - index) % 2 == 0 else work  # the last pass lands in out
        if low == 0:
            left, right = source.reshape(*batch, -1, 1 << bits), block.swapaxes(-1, -2)
            view = target.reshape(*lead, -1, 1 << bits)
        else:
            left, right = block[..., None, :, :], source.reshape(*lead, -1, 1 << bits, 1 << low)
            view = target.reshape(*lead, -1, 1 << bits, 1 << low)
        namespace(view).matmul(left, right, out=view)
        source, low = target, low + bits
    return out


def _copy_into(table, out):
    out[...] = table
    return out


def _contiguous(a) -> bool:
    return a.is_contiguous() if is_torch(a) else a.flags.c_contiguous


def _shape_of(a) -> str:
    return "None" if a is None else f"shape {tuple(a.shape)}"


@functools.lru_cache(maxsize=4)
def popcounts(n: int) -> np.ndarray:
    """|S| for every mask S of n players, as a read-only uint8 array of length 2ⁿ (cached)."""
    pop = np.bitwise_count(np.arange(1 << n, dtype=np.uint64)).astype(np.uint8)
    pop.flags.writeable = False
    return pop


@functools.lru_cache(maxsize=64)
def masks_of_size(n: int, size: int) -> np.ndarray:
    """The bitmasks of all coalitions of ``size`` players out of n, ascending, as a read-only int64 array (cached)."""
    masks = np.flatnonzero(popcounts(n) == size)
    masks.flags.writeable = False
    return masks
