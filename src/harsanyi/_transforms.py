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

import numpy as np

from ._array import copy_float64, n_players_of

__all__ = [
    "subset_zeta",
    "subset_moebius",
    "superset_zeta",
    "superset_moebius",
    "or_transform",
    "or_reconstruct",
]


def _butterfly(table, *, subtract: bool, superset: bool, out_of_place: bool = True):
    """Apply the butterfly for every bit; returns a new float64 array unless ``out_of_place`` is False."""
    a = copy_float64(table) if out_of_place else table
    n = n_players_of(a)
    batch = tuple(a.shape[:-1])
    for i in range(n):
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
    return a


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
    u = v.flip(-1) if hasattr(v, "flip") else v[..., ::-1]  # (..., 2^n): u[T] = v[N∖T]
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
    within_complement = within.flip(-1) if hasattr(within, "flip") else within[..., ::-1]
    return i_or[..., :1] + total - within_complement


def popcounts(n: int) -> np.ndarray:
    """|S| for every mask S of n players, as uint8 array of length 2ⁿ."""
    return np.bitwise_count(np.arange(1 << n, dtype=np.uint64)).astype(np.uint8)
