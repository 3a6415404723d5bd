"""``Interactions``: the one result type. Dense, read-only, bitmask-indexed, carrying its certificate."""

from __future__ import annotations

import warnings
import zipfile
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from ._array import n_players_of
from ._certificate import Certificate
from ._files import npz_path, read_npz, saved_npz, write_npz
from ._transforms import popcounts
from .exceptions import CacheError, HarsanyiValueError

__all__ = ["Interactions", "Coalition"]

Coalition = tuple  # a coalition as a tuple of player positions or names
_FORMAT = "harsanyi.Interactions/1"


def check_player_names(names: Sequence[str] | None, n: int) -> tuple[str, ...] | None:
    if names is None:
        return None
    names = tuple(str(name) for name in names)
    if len(names) != n:
        raise HarsanyiValueError(f"Expected {n} player names (one per player); received {len(names)}: {names!r}.")
    if len(set(names)) != n:
        dupes = sorted({name for name in names if names.count(name) > 1})
        raise HarsanyiValueError(f"Player names must be unique; these repeat: {dupes}. Rename them.")
    return names


def resolve_player(player, n: int, names: tuple[str, ...] | None) -> int:
    """The position of one player given by position or name."""
    if not isinstance(player, (str, int, np.integer)) or isinstance(player, bool):
        raise KeyError(f"Expected one player: a position (int) or a name (str); received {player!r}.")
    return resolve_coalition(player, n, names).bit_length() - 1


def resolve_coalition(key, n: int, names: tuple[str, ...] | None) -> int:
    """The bitmask of a coalition given as a player (position or name) or an iterable of players."""
    if isinstance(key, (str, int, np.integer)) and not isinstance(key, bool):
        key = (key,)
    try:
        members = list(key)
    except TypeError:
        raise KeyError(f"Expected a coalition: a tuple of player positions or names; received {key!r}.") from None
    mask = 0
    for player in members:
        if isinstance(player, str):
            if names is None or player not in names:
                known = f"players are named {list(names)}" if names else "players have no names; use positions"
                raise KeyError(f"Unknown player {player!r}: {known}.")
            pos = names.index(player)
        elif isinstance(player, (int, np.integer)) and not isinstance(player, bool):
            pos = int(player)
            if not 0 <= pos < n:
                raise KeyError(f"Unknown player {pos}: players are 0 … {n - 1}.")
        else:
            raise KeyError(f"Expected a player position (int) or name (str); received {player!r}.")
        if mask >> pos & 1:
            raise KeyError(f"Player {player!r} appears twice in coalition {key!r}.")
        mask |= 1 << pos
    return mask


class Interactions:
    """Interaction values of every coalition of size ``min_order`` … ``max_order`` of an n-player game.

    Values are stored densely over all 2ⁿ bitmasks (bit i ↔ player i); coalitions of other sizes are not held and
    looking one up raises ``KeyError``, as does an unknown player. Read-only.

    >>> import numpy as np
    >>> from harsanyi import ValueTable
    >>> res = ValueTable(np.array([0.0, 1.0, 2.0, 6.0])).harsanyi()
    >>> res[(0, 1)]
    3.0
    >>> res.top(2)
    [((0, 1), 3.0), ((1,), 2.0)]
    """

    def __init__(
        self,
        values,
        *,
        index: str,
        max_order: int,
        min_order: int = 0,
        player_names: Sequence[str] | None = None,
        certificate: Certificate | None = None,
        baseline_value: float = 0.0,
        _owned: bool = False,
    ):
        # values the library has just made (``_owned``, float64) are adopted read-only; a caller's are copied
        adopt = _owned and isinstance(values, np.ndarray) and values.dtype == np.float64
        values = values if adopt else np.array(values, dtype=np.float64, copy=True)
        if values.ndim != 1:
            raise HarsanyiValueError(f"Expected a 1-D array of length 2**n; received shape {values.shape}.")
        n = n_players_of(values)
        if not 0 <= min_order <= max_order <= n:
            raise HarsanyiValueError(
                f"Expected 0 <= min_order <= max_order <= n_players ({n}); received {min_order}, {max_order}."
            )
        self._values = values
        self._values.flags.writeable = False
        self._n = n
        self._index = str(index)
        self._min_order = int(min_order)
        self._max_order = int(max_order)
        self._names = check_player_names(player_names, n)
        self._certificate = certificate
        self._baseline_value = float(baseline_value)

    # --- what it is ---------------------------------------------------------------------------------------------
    @property
    def values(self) -> np.ndarray:
        """The dense read-only array of length 2ⁿ (entries of coalitions not held are 0)."""
        return self._values

    @property
    def n_players(self) -> int:
        return self._n

    @property
    def index(self) -> str:
        return self._index

    @property
    def max_order(self) -> int:
        return self._max_order

    @property
    def min_order(self) -> int:
        return self._min_order

    @property
    def player_names(self) -> tuple[str, ...] | None:
        return self._names

    @property
    def certificate(self) -> Certificate | None:
        return self._certificate

    @property
    def baseline_value(self) -> float:
        """v(∅) of the game the values came from."""
        return self._baseline_value

    def held(self) -> np.ndarray:
        """Boolean array of length 2ⁿ: which bitmasks this result holds."""
        pop = popcounts(self._n)
        return (pop >= self._min_order) & (pop <= self._max_order)

    def masks(self, order: int | None = None) -> np.ndarray:
        """Bitmasks of the held coalitions (of one ``order`` if given), ascending."""
        keep = self.held()
        if order is not None:
            keep &= popcounts(self._n) == order
        return np.flatnonzero(keep)

    def coalition(self, mask: int) -> Coalition:
        """The coalition of a bitmask, as player names if the players have them, else positions."""
        positions = [i for i in range(self._n) if int(mask) >> i & 1]
        return tuple(self._names[i] for i in positions) if self._names else tuple(positions)

    # --- look-up ------------------------------------------------------------------------------------------------
    def mask_of(self, key) -> int:
        mask = resolve_coalition(key, self._n, self._names)
        order = int(mask).bit_count()
        if not self._min_order <= order <= self._max_order:
            raise KeyError(
                f"Coalition {key!r} has order {order}; this {self._index} result holds orders {self._min_order} … "
                f"{self._max_order}. Compute a higher order, e.g. table.index({self._index!r}, order={order})."
            )
        return mask

    def __getitem__(self, key) -> float:
        return float(self._values[self.mask_of(key)])

    def __contains__(self, key) -> bool:
        try:
            self.mask_of(key)
        except KeyError:
            return False
        return True

    def __len__(self) -> int:
        return int(self.held().sum())

    def __iter__(self):
        for mask in self.masks():
            yield self.coalition(mask)

    def items(self) -> Iterable[tuple[Coalition, float]]:
        for mask in self.masks():
            yield self.coalition(mask), float(self._values[mask])

    def top(self, k: int = 10, *, order: int | None = None, min_order: int = 1) -> list[tuple[Coalition, float]]:
        """The ``k`` held coalitions of size ≥ ``min_order`` (or of exactly ``order``) with the largest |value|."""
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
            raise HarsanyiValueError(f"Expected k to be a non-negative integer (how many coalitions to list); "
                                     f"received {k!r}.")
        if order is not None and (isinstance(order, bool) or not isinstance(order, (int, np.integer))
                                  or not self._min_order <= order <= self._max_order):
            raise HarsanyiValueError(f"Expected order between {self._min_order} and {self._max_order} (the orders "
                                     f"this {self._index} result holds); received {order!r}.")
        masks = self.masks(order)
        if order is None:
            masks = masks[popcounts(self._n)[masks] >= min_order]
        if k >= masks.size:
            chosen = masks
        else:
            chosen = masks[np.argpartition(-np.abs(self._values[masks]), k)[:k]]
        chosen = chosen[np.lexsort((chosen, -np.abs(self._values[chosen])))]
        return [(self.coalition(m), float(self._values[m])) for m in chosen]

    def to_dataframe(self):
        """A pandas DataFrame, one row per held coalition: mask, order, coalition, value."""
        try:
            import pandas as pd
        except ImportError:  # pragma: no cover - depends on the environment
            raise ImportError("to_dataframe() needs pandas: pip install 'harsanyi[pandas]'.") from None
        masks = self.masks()
        return pd.DataFrame(
            {
                "mask": masks,
                "order": popcounts(self._n)[masks].astype(int),
                "coalition": [self.coalition(m) for m in masks],
                "value": self._values[masks],
            }
        )

    def __repr__(self) -> str:
        cert = "uncertified" if self._certificate is None else ("certified" if self._certificate.passed else "FAILED")
        return (
            f"Interactions(index={self._index!r}, orders {self._min_order}…{self._max_order}, "
            f"n_players={self._n}, {len(self):,} coalitions, {cert})"
        )

    # --- evidence -----------------------------------------------------------------------------------------------
    def certify(self, table) -> Certificate:
        """Re-check this result against a :class:`~harsanyi.ValueTable`; raises ``CertificateError`` if it fails."""
        return table.certify(self)

    # --- persistence --------------------------------------------------------------------------------------------
    def _metadata(self) -> dict:
        return {
            "format": _FORMAT,
            "index": self._index,
            "min_order": self._min_order,
            "max_order": self._max_order,
            "n_players": self._n,
            "player_names": list(self._names) if self._names else None,
            "baseline_value": self._baseline_value,
            "certificate": None if self._certificate is None else self._certificate.to_dict(),
        }

    def save(self, path) -> Path:
        """Write a lossless ``.npz`` (the values plus JSON metadata), whole or not at all (``_files.write_npz``)."""
        path = npz_path(path, "the interactions")
        write_npz(path, self._metadata(), {"values": self._values}, meta_name="metadata")
        return path

    @classmethod
    def load(cls, path) -> "Interactions":
        path = saved_npz(path)
        try:
            meta, arrays = read_npz(path, ["values"], meta_name="metadata")
            values = arrays["values"]
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as err:
            raise CacheError(f"Cannot read interactions from {str(path)!r} ({err}). Expected a file written by "
                             f"Interactions.save().") from err
        if meta.get("format") != _FORMAT:
            raise CacheError(f"{str(path)!r} is not a harsanyi Interactions file (format {meta.get('format')!r}).")
        cert = meta["certificate"]
        return cls(
            values,
            index=meta["index"],
            max_order=meta["max_order"],
            min_order=meta["min_order"],
            player_names=meta["player_names"],
            certificate=None if cert is None else Certificate.from_dict(cert),
            baseline_value=meta["baseline_value"],
        )

    def to_shapiq(self):
        """The same values as a ``shapiq.InteractionValues`` (needs shapiq installed). The index keeps its name:
        Harsanyi dividends are shapiq's "Moebius"; the OR interactions and the AND / OR concepts of an AND-OR
        decomposition have no shapiq index ("OR", "AND"; shapiq's "Co-Moebius" is the OR interaction times
        (−1)^{|S|+1}), and are passed without shapiq's warning about an unknown index."""
        try:
            from shapiq import InteractionValues
        except ImportError:  # pragma: no cover - depends on the environment
            raise ImportError("to_shapiq() needs shapiq: pip install shapiq.") from None
        masks = self.masks()
        lookup = {tuple(i for i in range(self._n) if m >> i & 1): pos for pos, m in enumerate(masks.tolist())}
        with warnings.catch_warnings():
            if self._index in ("AND", "OR"):
                warnings.filterwarnings("ignore", message=f"Index `{self._index}` is not a valid", category=UserWarning)
            return InteractionValues(
                self._values[masks].copy(),
                index=self._index,
                max_order=self._max_order,
                min_order=self._min_order,
                n_players=self._n,
                interaction_lookup=lookup,
                estimated=False,
                estimation_budget=None,
                baseline_value=self._baseline_value,
            )
