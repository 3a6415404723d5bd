"""``ValueTable``: the 2ⁿ values of a game, and every exact quantity computed from them."""

from __future__ import annotations

import math
import os
import zipfile
from dataclasses import dataclass
from math import comb
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

from ._array import abs_max, abs_sum, copy_float64, is_torch, like, n_players_of, to_numpy, torch_for
from ._certificate import Certificate, Check, rounding_tolerance
from ._files import npz_path, read_npz, saved_npz, write_npz
from ._indices import IndexSpec, SizeSums, check_order, compute_index, get_index
from ._interactions import Interactions, check_player_names, resolve_coalition, resolve_player
from ._transforms import masks_of_size, or_reconstruct, or_transform, popcounts, subset_moebius, subset_zeta
from ._tree import InteractionTree, interaction_tree
from .exceptions import CacheError, CertificateError, HarsanyiValueError

if TYPE_CHECKING:
    from ._andor import Concepts

__all__ = ["ValueTable", "MultiOrder"]

MAX_PLAYERS = 40  # 2^40 float64 values are 8 TiB; anything larger is surely a mistake
_FORMAT = "harsanyi.ValueTable/1"


@dataclass(frozen=True, repr=False)
class MultiOrder:
    """Multi-order interactions I⁽ᵐ⁾(i, j) of every pair and their strength per order (SPEC §5).

    ``interactions[m, i, j]`` = E_{S⊆N∖{i,j}, |S|=m} Δ_{ij} v(S) for m = 0 … n−2 (symmetric in i, j; 0 on the
    diagonal). ``strength[m]`` = E_{i<j} |I⁽ᵐ⁾(i,j)| / Σ_{m'} E_{i<j} |I⁽ᵐ'⁾(i,j)|; ``ratios`` = m / n, the x-axis
    of the papers' plots. ``certificate`` checks that the mean over m of I⁽ᵐ⁾(i, j) equals the Shapley interaction
    index of the pair computed independently from the dividends.
    """

    interactions: np.ndarray  # (n-1, n, n)
    strength: np.ndarray  # (n-1,)
    mean_abs: np.ndarray  # (n-1,) E_{i<j} |I^(m)(i,j)| before normalisation
    orders: np.ndarray  # (n-1,)
    ratios: np.ndarray  # (n-1,)
    player_names: tuple[str, ...] | None
    certificate: Certificate

    def __repr__(self) -> str:
        shown = ", ".join(f"{s:.3g}" for s in self.strength[:8]) + (", …" if self.strength.size > 8 else "")
        return (f"MultiOrder({self.interactions.shape[1]} players, orders 0 … {self.orders[-1]}; strength per "
                f"order {shown}; certificate {'holds' if self.certificate.passed else 'FAILS'})")

    def pair(self, i, j) -> np.ndarray:
        n = self.interactions.shape[1]
        a, b = resolve_player(i, n, self.player_names), resolve_player(j, n, self.player_names)
        if a == b:
            raise KeyError(f"Multi-order interactions are defined for two different players; received {i!r} twice.")
        return self.interactions[:, a, b].copy()


class ValueTable:
    """The values v(S) of all 2ⁿ coalitions of an n-player game: float64, index = bitmask (bit i ↔ player i).

    Accepts a NumPy array or a torch tensor (kept on its device; transforms run there). Read-only.

    >>> import numpy as np
    >>> table = ValueTable(np.array([0.0, 1.0, 2.0, 6.0]))  # v(∅)=0, v({0})=1, v({1})=2, v({0,1})=6
    >>> table.harsanyi()[(0, 1)]
    3.0
    >>> table.shapley()
    array([2.5, 3.5])
    """

    def __init__(self, values, *, player_names: Sequence[str] | None = None, _owned: bool = False):
        if not (is_torch(values) or isinstance(values, np.ndarray)):
            values = np.asarray(values)
        if values.ndim != 1:
            raise HarsanyiValueError(
                f"Expected a 1-D value table of length 2**n (index = coalition bitmask); received shape "
                f"{tuple(values.shape)}. For several games, make one ValueTable each."
            )
        n = n_players_of(values)
        if n > MAX_PLAYERS:
            raise HarsanyiValueError(f"Expected at most {MAX_PLAYERS} players; received a table for {n}.")
        # numbers, or objects that are numbers (a pandas column of objects, say); not text
        text = not (is_torch(values) or np.issubdtype(values.dtype, np.number) or values.dtype in (bool, object))
        # a table the library has just filled (``_owned``: float64, contiguous, referenced nowhere else) is adopted
        # as is; anything a caller passes is copied, so the table can never change under its results
        try:
            if text:
                raise ValueError(values.dtype)
            table = values if _owned else copy_float64(values)
        except (TypeError, ValueError):
            raise HarsanyiValueError(f"Expected numbers in the value table; received {values.dtype} values that are "
                                     f"not all numbers.") from None
        # a finite sum means every value is finite (a NaN or inf would propagate); only an overflowing sum of
        # finite values needs the elementwise check
        total = table.sum()
        finite = bool(math.isfinite(float(total))) or bool(
            table.isfinite().all() if is_torch(table) else np.isfinite(table).all())
        if not finite:
            bad = np.flatnonzero(~np.isfinite(to_numpy(table)))[:5].tolist()
            raise HarsanyiValueError(
                f"Expected finite values; the table holds NaN or inf at coalition masks {bad}. Check the model "
                f"output on those masked inputs (e.g. use log-odds with clamping instead of log-probabilities)."
            )
        # the array the transforms run on: a large NumPy table is viewed as a CPU tensor when torch is loaded (no
        # copy), so the elementwise passes of the certificates and indices use torch's threads too
        torch = torch_for(table)
        self._work = torch.from_numpy(table) if torch is not None else table
        if not is_torch(table):
            table.flags.writeable = False
        self._table = table
        self._n = n
        self._names = check_player_names(player_names, n)
        self._dividends = None
        self._dividend_certificate: Certificate | None = None
        self._dividend_l1: float | None = None
        self._sums: SizeSums | None = None  # one pass over the dividends, shared by every index's sums of ≤ 2 players

    # --- the table itself ---------------------------------------------------------------------------------------
    @property
    def n_players(self) -> int:
        return self._n

    @property
    def player_names(self) -> tuple[str, ...] | None:
        return self._names

    @property
    def values(self) -> np.ndarray:
        """The table as a read-only NumPy float64 array of length 2ⁿ."""
        out = to_numpy(self._table)
        if out.flags.writeable:
            out = out.copy()
            out.flags.writeable = False
        return out

    @property
    def data(self):
        """The table in its own backend (NumPy array or torch tensor on its device)."""
        return self._table

    def save(self, path) -> Path:
        """Write the table (float64, lossless) and its player names to a .npz, whole or not at all."""
        path = npz_path(path, "the value table")
        meta = {"format": _FORMAT, "n_players": self._n, "player_names": list(self._names) if self._names else None}
        write_npz(path, meta, {"values": self.values})
        return path

    @classmethod
    def load(cls, path) -> "ValueTable":
        """A table written by :meth:`save` (on the CPU; ``torch.as_tensor(table.values, device=...)`` moves it)."""
        path = saved_npz(path)
        try:
            meta, arrays = read_npz(path, ["values"])
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as err:
            raise CacheError(f"Cannot read a value table from {str(path)!r} ({err}). Expected a file written by "
                             f"ValueTable.save().") from err
        if meta.get("format") != _FORMAT:
            raise CacheError(f"{str(path)!r} is not a harsanyi value table (format {meta.get('format')!r}).")
        return cls(arrays["values"], player_names=meta.get("player_names"))

    @property
    def v_empty(self) -> float:
        return float(self._table[0])

    @property
    def v_full(self) -> float:
        return float(self._table[-1])

    @property
    def scale(self) -> float:
        """|v(N) − v(∅)|, the unit in which residuals are reported."""
        return abs(self.v_full - self.v_empty)

    def __len__(self) -> int:
        return 1 << self._n

    def __getitem__(self, coalition) -> float:
        """v(S) for a coalition given as player positions / names (``table[()]`` is v(∅))."""
        return float(self._table[resolve_coalition(coalition, self._n, self._names)])

    def __repr__(self) -> str:
        device = f", device={self._table.device}" if is_torch(self._table) else ""
        return f"ValueTable(n_players={self._n}, v(∅)={self.v_empty:.6g}, v(N)={self.v_full:.6g}{device})"

    def _result(self, values, **kwargs) -> Interactions:
        # the results hold the library's own fresh arrays (or the cached dividends, never written to): no copy
        return Interactions(to_numpy(values), player_names=self._names, baseline_value=self.v_empty, _owned=True,
                            **kwargs)

    # --- dividends and their certificate ------------------------------------------------------------------------
    def _matching_check(self, dividends) -> Check:
        reconstruction = subset_zeta(dividends)
        reconstruction -= self._work  # in place: no further 2ⁿ temporaries (each costs page faults at large n)
        residual = abs_max(reconstruction)
        magnitude = max(self._l1(dividends), abs_max(self._work))
        return Check("universal matching (AND)", residual, rounding_tolerance(self._n, magnitude), 1 << self._n)

    def _l1(self, dividends) -> float:
        """Σ_S |I(S)|, the magnitude that bounds rounding in every sum of dividends (cached for the table's own)."""
        if dividends is self._dividends and self._dividend_l1 is not None:
            return self._dividend_l1
        l1 = abs_sum(dividends)
        if dividends is self._dividends:
            self._dividend_l1 = l1
        return l1

    def _certificate(self, *checks: Check) -> Certificate:
        return Certificate(tuple(checks), self.scale, self._n).raise_if_failed()

    def _certified_dividends(self):
        if self._dividends is None:
            self._dividends = subset_moebius(self._work)
            try:
                self._dividend_certificate = self._certificate(self._matching_check(self._dividends))
            except Exception:
                self._dividends = self._dividend_l1 = None
                raise
        return self._dividends

    def harsanyi(self) -> Interactions:
        """Harsanyi dividends (AND interactions) I(S) = Σ_{T⊆S} (−1)^{|S|−|T|} v(T) of every coalition.

        Certified by universal matching: v(S) = Σ_{T⊆S} I(T) for all 2ⁿ coalitions.
        """
        dividends = self._certified_dividends()
        return self._result(dividends, index="Moebius", max_order=self._n, certificate=self._dividend_certificate)

    def or_interactions(self) -> Interactions:
        """OR interactions (SPEC §2): I(∅) = v(∅), I(S) = −Σ_{T⊆S} (−1)^{|S|−|T|} v(N∖T) for S ≠ ∅.

        Certified by universal matching: v(S) = I(∅) + Σ_{T∩S≠∅} I(T) for all 2ⁿ coalitions.
        """
        i_or = or_transform(self._work)
        return self._result(i_or, index="OR", max_order=self._n, certificate=self._certificate(self._or_check(i_or)))

    def _or_check(self, i_or) -> Check:
        reconstruction = or_reconstruct(i_or)
        reconstruction -= self._work
        residual = abs_max(reconstruction)
        magnitude = max(abs_sum(i_or), abs_max(self._work))
        return Check("universal matching (OR)", residual, rounding_tolerance(self._n, magnitude), 1 << self._n)

    # --- indices --------------------------------------------------------------------------------------------------
    def _efficiency_check(self, nonempty, spec: IndexSpec) -> Check:
        """Σ of the index over the held non-empty coalitions (``nonempty``, any order) = v(N) − v(∅)."""
        gap = abs(float(nonempty.sum()) - (self.v_full - self.v_empty))
        magnitude = max(abs_sum(nonempty), self._l1(self._certified_dividends()))
        return Check(f"efficiency ({spec.name})", gap, rounding_tolerance(self._n, magnitude), 1, "equation")

    def _size_sums(self) -> SizeSums:
        if self._sums is None:
            self._sums = SizeSums(self._certified_dividends())
        return self._sums

    def index(self, name: str, order: int | None = None) -> Interactions:
        """Interaction index ``name`` of every coalition of size ≤ ``order``.

        ``name`` is one of ``harsanyi.INDICES``: "SII", "BII", "STII", "FSII", "FBII", "k-SII", "CHII", "SV", "BV",
        "Moebius". Conventions (the empty coalition's entry) match shapiq's ``ExactComputer``. Cost O(order·n·2ⁿ).
        """
        spec = get_index(name)
        order = check_order(spec, order, self._n)
        values = compute_index(self._certified_dividends(), spec, order, self._size_sums())
        checks = list(self._dividend_certificate.checks)
        if spec.efficient:
            held = np.concatenate([masks_of_size(self._n, t) for t in range(1, order + 1)])
            checks.append(self._efficiency_check(values[like(held, values)], spec))
        return self._result(values, index=spec.name, max_order=order, certificate=self._certificate(*checks))

    def _player_values(self, name: str) -> np.ndarray:
        """SV or BV of every player, shape (n,), certified like :meth:`index` without its dense 2ⁿ table."""
        spec = get_index(name)
        values = self._size_sums().singles(spec.weights_of(self._n, 1, 1))
        checks = list(self._dividend_certificate.checks)
        if spec.efficient:
            checks.append(self._efficiency_check(values, spec))
        self._certificate(*checks)
        return to_numpy(values).copy()

    def shapley(self) -> np.ndarray:
        """Shapley values φ_i = Σ_{S∋i} I(S)/|S|, shape (n,). Raises CertificateError if efficiency fails."""
        return self._player_values("SV")

    def banzhaf(self) -> np.ndarray:
        """Banzhaf values β_i = Σ_{S∋i} I(S)/2^{|S|−1}, shape (n,)."""
        return self._player_values("BV")

    # --- AND-OR concepts ----------------------------------------------------------------------------------------------
    def and_or(self, qthres: float = 0.02, *, tau: float | None = None, tol: float = 1e-3, max_iter: int | None = None,
               time_limit: float | None = None, method: str = "auto", progress: bool | None = None,
               checkpoint: str | os.PathLike | None = None) -> "Concepts":
        """Sparse AND and OR concepts that reproduce v on all 2ⁿ coalitions within |ε| ≤ τ (SPEC §3).

        Minimises Σ|I_and| + Σ|I_or| over the AND/OR split and the noise ε, |ε_S| ≤ τ = qthres · |v(N) − v(∅)|
        (or ``tau`` in the units of v), as the linear program it is. ``method``:

        - "highs" solves it exactly as one sparse LP with scipy's HiGHS, n ≤ 12 (about 3 / 10 / 56 s at n = 10 / 11
          / 12 on two cores); it stops with an error at ``time_limit``.
        - "working-set" solves it on a working set of coalitions and concepts that grows by pricing all of them with
          the fast transforms (column-and-row generation, highspy's warm-started simplex). Exact, and fast when the
          optimum is sparse (1.5 s at n = 12, 10 s at n = 14 on a trained MLP, two cores); it can stall where it is
          not. Stops at ``tol`` / ``time_limit`` with its best certified decomposition.
        - "splitting" runs restarted Halpern Peaceman–Rachford splitting on the LP in value form (v_and, v_or and
          the concepts): its one linear step is the exact projection onto the graphs of the Möbius and OR
          transforms, which is a diagonal between Kronecker transforms (O(n·2ⁿ), any n, CPU or GPU). It stops when
          the certified optimality gap is below ``tol`` (relative), after ``max_iter`` iterations or
          ``time_limit`` seconds, with its best certified decomposition (the iterate's concepts, repaired into an
          exact match, never worse than the plain dividends). In a metric that weighs the value tables less as n
          grows, it certifies a 1e-3 gap in 25 s at n = 16 on two cores, where PDHG's L1 is still 6–8× higher
          after a minute; after 60 s the gap is 2.3 % at n = 18 and 87 % at n = 20 (BENCHMARKS.md).
        - "pdhg" runs restarted Halpern PDHG whose operators are the fast transforms (any n, CPU or GPU), with the
          same stopping rules; on a GPU the iterations between two checks replay as one CUDA graph.
        - "auto" (default): "highs" for n ≤ 10 (with scipy); for n ≤ 15 (with highspy) the working set for 2 s
          (half of a shorter ``time_limit``), or until it stalls (20 rounds without a better L1 while a tenth of
          all concepts would still lower it), then, if it has not converged, the splitting for the rest; beyond,
          the splitting. Then, with highspy, where the splitting's concepts above 1e-4 of the largest are at most
          1 200 (a sparse optimum), the working set again from those concepts, for at most twice the splitting's
          time and what ``time_limit`` leaves: the exact optimum, a vertex without the splitting's tail of tiny
          concepts (at n = 16 on a trained MLP: 1 900 concepts instead of 130 000, exact instead of within 0.1 %,
          in 35–50 s more). The result is the best certified one of the runs.

        ``max_iter``: iterations of the splitting or PDHG (rounds of the working set); None (default) caps a run
        without a ``time_limit`` at 20 000 and leaves a run with one to its limit. ``time_limit``: seconds, or None.

        ``checkpoint``: a file (.npz) the splitting saves its state to, at most once a minute and when it stops, and
        resumes from when it exists: an interrupted run loses at most a minute, and a run that stopped at its
        ``time_limit`` can be continued for a tighter bound by calling again with the same table and τ (``max_iter``
        counts the iterations already made; ``time_limit`` is this call's). With method "splitting", or "auto" where
        it picks the splitting (n > 15). The file is replaced whole or not at all; a write that fails warns and the
        run goes on.

        ``result.solver`` says how far from optimal the L1 can be at most. The result's certificate checks universal
        matching within τ on every coalition; ``l1_before`` is the L1 of the plain Harsanyi dividends.
        """
        from ._andor import and_or_decomposition

        return and_or_decomposition(self._table, qthres=qthres, tau=tau, tol=tol, max_iter=max_iter,
                                    time_limit=time_limit, method=method, progress=progress, checkpoint=checkpoint,
                                    player_names=self._names)

    # --- multi-order and coalition interactions ---------------------------------------------------------------------
    def multi_order(self) -> MultiOrder:
        """I⁽ᵐ⁾(i, j) for every pair and m = 0 … n−2, and the normalised strength per order (SPEC §5). O(n²·2ⁿ)."""
        n = self._n
        if n < 2:
            raise HarsanyiValueError(f"Multi-order interactions need at least 2 players; this table has {n}.")
        table = self._table.reshape((2,) * n)  # axis a is bit n-1-a
        rest_pop = like(popcounts(n - 2).astype(np.int64), self._table)  # |S| of the other players' coalitions
        counts = np.array([comb(n - 2, m) for m in range(n - 1)], dtype=np.float64)
        inter = np.zeros((n - 1, n, n))
        for i in range(n):
            for j in range(i + 1, n):
                def at(bit_i, bit_j):
                    idx = [slice(None)] * n
                    idx[n - 1 - i], idx[n - 1 - j] = bit_i, bit_j
                    return table[tuple(idx)].reshape(-1)  # (2^{n-2},) over S ⊆ N∖{i,j}
                delta = at(1, 1) - at(1, 0) - at(0, 1) + at(0, 0)  # Δ_ij v(S)
                sums = _bincount(rest_pop, delta, n - 1)  # Σ over |S| = m
                inter[:, i, j] = inter[:, j, i] = sums / counts
        iu = np.triu_indices(n, 1)
        mean_abs = np.abs(inter[:, iu[0], iu[1]]).mean(axis=1)
        total = mean_abs.sum()
        strength = mean_abs / total if total > 0 else np.zeros_like(mean_abs)
        sii = self.index("SII", 2).values
        pair_masks = (1 << iu[0]) | (1 << iu[1])
        residual = float(np.abs(inter[:, iu[0], iu[1]].mean(axis=0) - sii[pair_masks]).max())
        magnitude = max(float(np.abs(inter).max()), self._l1(self._certified_dividends()))
        check = Check("mean over orders = SII of the pair", residual, rounding_tolerance(n, magnitude), iu[0].size,
                      "pairs")
        orders = np.arange(n - 1)
        return MultiOrder(inter, strength, mean_abs, orders, orders / n, self._names, self._certificate(check))

    def coalition_interaction(self, coalition) -> float:
        """Multivariate interaction B(A) = φ([A] | N_A) − Σ_{a∈A} φ(a | N_a) of a coalition A (SPEC §6).

        In dividends: B(A) = Σ_{T: |T∩A| ≥ 2} I(T) / (|T∖A| + 1); for |A| = 2 it is the SII of the pair.
        """
        a_mask = resolve_coalition(coalition, self._n, self._names)
        if a_mask.bit_count() < 2:
            raise HarsanyiValueError(
                f"A coalition interaction needs at least 2 players; received {coalition!r}."
            )
        dividends = to_numpy(self._certified_dividends())
        masks = np.arange(1 << self._n, dtype=np.uint64)
        inside = np.bitwise_count(masks & np.uint64(a_mask))
        outside = np.bitwise_count(masks & ~np.uint64(a_mask) & np.uint64((1 << self._n) - 1))
        weights = np.where(inside >= 2, 1.0 / (outside.astype(np.float64) + 1.0), 0.0)
        return float(dividends @ weights)

    def interaction_tree(self, order: Sequence[int] | None = None) -> InteractionTree:
        """The interaction tree over the players (SPEC §6): adjacent constituents merged bottom-up, the strongest
        interaction per pair across the split first. See :class:`harsanyi.InteractionTree`; ``str(tree)`` prints it.

        ``order``: the players' indices in reading order (default 0 … n−1, the order of a text game's words). A text
        game built with ``select=`` in another order numbers its players as selected: pass
        ``order=np.argsort(select)``. O(n·2ⁿ)."""
        n = self._n
        if n < 2:
            raise HarsanyiValueError(f"An interaction tree needs at least 2 players; this table has {n}.")
        order = list(range(n)) if order is None else [int(p) for p in order]
        if sorted(order) != list(range(n)):
            raise HarsanyiValueError(f"Expected order= to list each of the {n} players' indices once (a "
                                     f"permutation of 0 … {n - 1}); received {order!r}.")
        labels = self._names if self._names is not None else [str(i) for i in range(n)]
        return interaction_tree(to_numpy(self._certified_dividends()), n, labels, to_numpy(self._table),
                                self._certificate, order)

    # --- re-checking a result ---------------------------------------------------------------------------------------
    def certify(self, result: "Interactions | Concepts") -> Certificate:
        """Re-check ``result`` against this table; returns its certificate or raises ``CertificateError``.

        ``result``: an :class:`Interactions` (dividends, OR interactions, an index), or AND-OR :class:`Concepts`
        (universal matching within their τ on all 2ⁿ coalitions)."""
        from ._andor import Concepts

        if not isinstance(result, (Interactions, Concepts)):
            raise HarsanyiValueError(
                f"certify() re-checks an Interactions (table.harsanyi(), table.index(name, order), …) or the "
                f"Concepts of table.and_or(); received {type(result).__name__}. For Shapley or Banzhaf values, "
                f"certify table.index('SV', 1) or table.index('BV', 1).")
        if result.n_players != self._n:
            raise HarsanyiValueError(
                f"The result is for {result.n_players} players; this table has {self._n}. Certify against the "
                f"table it was computed from."
            )
        try:
            return self._recheck(result)
        except CertificateError as err:
            raise CertificateError(f"{err} (certify() checks against this table: a result computed from another "
                                   f"table, of another input, baseline or model, fails here too.)") from None

    def _recheck(self, result) -> Certificate:
        from ._andor import Concepts, matching_certificate

        if isinstance(result, Concepts):
            return matching_certificate(self.values, result.and_.values, result.or_.values, result.tau)
        values = result.values
        if result.index in ("OR", "Moebius") and result.max_order == self._n:
            held = like(np.array(values), self._work)  # a writable copy in the backend the checks run on
            check = self._or_check(held) if result.index == "OR" else self._matching_check(held)
            return self._certificate(check)
        spec = get_index(result.index)
        expected = to_numpy(compute_index(self._certified_dividends(), spec, result.max_order))
        held = result.held()
        residual = float(np.abs(values[held] - expected[held]).max())
        magnitude = max(float(np.abs(expected).sum()), self._l1(self._certified_dividends()))
        checks = [Check(f"agreement with the table ({spec.name})", residual,
                        rounding_tolerance(self._n, magnitude), int(held.sum()), "held coalitions")]
        if spec.efficient and result.min_order == 0:
            checks.append(self._efficiency_check(values[1:], spec))  # the coalitions it does not hold are 0
        return self._certificate(*checks)


def _bincount(groups, weights, length: int):
    """Σ of ``weights`` per group id, as a NumPy array of ``length`` (NumPy or torch inputs)."""
    if is_torch(weights):
        import torch

        return torch.bincount(groups, weights=weights, minlength=length).cpu().numpy()
    return np.bincount(groups, weights=weights, minlength=length)

