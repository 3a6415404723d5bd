"""Files written whole or not at all: results and checkpoints are .npz archives of arrays plus JSON metadata."""

from __future__ import annotations

import json
import os
import time
import warnings
import zipfile
from pathlib import Path

import numpy as np

from ._array import to_numpy
from .exceptions import CacheError, HarsanyiValueError

__all__ = ["write_npz", "read_npz", "jsonable", "make_folder", "file_in_the_way", "npz_path", "saved_npz", "Checkpoint"]


def file_in_the_way(folder) -> Path | None:
    """The file that stands where ``folder`` or one of its parents would be (so the folder cannot be made), or None."""
    folder = Path(folder)
    return next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), None)


def make_folder(folder, what: str) -> Path:
    """Make ``folder`` and its parents, for ``what`` (the file or cache to be written there, as the error names
    it); where part of the path is a file, a clear error instead of FileExistsError / NotADirectoryError."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise HarsanyiValueError(f"Cannot write {what}: {str(file_in_the_way(folder) or folder)!r} is a file, not a "
                                 f"folder. Choose another path, or move that file.") from None
    return folder


def npz_path(path, what: str) -> Path:
    """Where ``save(path)`` writes ``what``: ``path``, with ".npz" added where it ends otherwise (as numpy.savez
    does); a folder is refused (a name in it is asked for)."""
    path = Path(path)
    if path.is_dir():
        raise HarsanyiValueError(f"{str(path)!r} is a folder; pass a file path for {what}, e.g. "
                                 f"{str(path / 'name.npz')!r}.")
    return path if path.suffix == ".npz" else path.with_name(path.name + ".npz")


def saved_npz(path) -> Path:
    """The file ``load(path)`` reads: ``path``, or ``path`` + ".npz" where only that exists (what ``save(path)``
    wrote for a path without the suffix)."""
    path = Path(path)
    added = path.with_name(path.name + ".npz")
    return added if path.suffix != ".npz" and not path.exists() and added.exists() else path


def jsonable(value):
    """``json.dumps``'s fallback for NumPy arrays and scalars."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def write_npz(path, meta: dict, arrays: dict, *, compress: bool = False, meta_name: str = "meta") -> None:
    """Write ``arrays`` and ``meta`` (as JSON, under ``meta_name``) to ``path`` (its folder made if need be): to
    PATH.part first, flushed to disk, then renamed over ``path``, so an interruption leaves the previous file, never
    half of one. The part file is removed whatever happens; errors propagate."""
    path = Path(path)
    make_folder(path.parent, f"{str(path)!r}")
    part = path.with_name(path.name + ".part")
    save = np.savez_compressed if compress else np.savez
    try:
        with open(part, "wb") as fh:
            save(fh, **{meta_name: np.array(json.dumps(meta, default=jsonable))}, **arrays)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(part, path)
    finally:
        part.unlink(missing_ok=True)


def read_npz(path, names=None, *, meta_name: str = "meta") -> tuple[dict, dict]:
    """(meta, arrays) of a file written by :func:`write_npz`: the arrays named in ``names`` (default: all). Raises
    what reading raises (OSError, ValueError, KeyError, json.JSONDecodeError, zipfile.BadZipFile); callers say which
    file it was and what to do."""
    if Path(path).is_file() and not zipfile.is_zipfile(path):
        raise ValueError("it is not a .npz archive")
    with np.load(path, allow_pickle=False) as data:
        missing = [name for name in [meta_name, *(names or [])] if name not in data.files]
        if missing:
            raise ValueError(f"the archive has no {missing}; it holds {data.files}")
        meta = json.loads(str(data[meta_name]))
        arrays = {name: data[name] for name in (names if names is not None else data.files) if name != meta_name}
    return meta, arrays


class Checkpoint:
    """A long run's state in one .npz file: its float64 arrays (named, of known shapes), its scalars, and what
    identifies its problem (``identity``, compared exactly on loading) as JSON.

    A file is written whole under a temporary name, flushed to disk and renamed over the old one, so an
    interruption leaves the previous state, never half of one. ``what`` names the file in messages ("the AND-OR
    checkpoint"), ``problem`` what it was written for, ``resumes`` what may resume from it, ``example`` a path to
    suggest; :meth:`due` says when ``every`` seconds have passed since the last save."""

    def __init__(self, path, identity: dict, shapes: dict, *, what: str, problem: str, resumes: str, every: float,
                 example: str):
        self.path = Path(path)
        parent = self.path.parent
        if self.path.is_dir() or not parent.is_dir() or not os.access(parent, os.W_OK):
            raise HarsanyiValueError(
                f"Expected checkpoint to be a file path in a writable directory; received {str(self.path)!r}. "
                f"Create the directory first, or pass another path (e.g. {example!r}).")
        self.identity = dict(identity)
        self.shapes = {name: tuple(shape) for name, shape in shapes.items()}
        self.what, self.problem, self.resumes, self.every = what, problem, resumes, every
        self.saved_at, self.failed = time.perf_counter(), False

    def load(self) -> tuple[dict, dict] | None:
        """(the saved scalars, the saved arrays as NumPy) from the file, or None if there is none yet."""
        if not self.path.exists():
            return None
        differ: list = []
        try:
            meta, arrays = read_npz(self.path, tuple(self.shapes))
            differ = [key for key, value in self.identity.items() if meta.get(key) != value]
            wrong = [name for name, a in arrays.items() if a.shape != self.shapes[name] or a.dtype != np.float64]
            if wrong and not differ:
                raise ValueError(f"its arrays {wrong} are not float64 of the shapes this run needs")
        except (OSError, ValueError, KeyError, TypeError, AttributeError, json.JSONDecodeError,
                zipfile.BadZipFile) as err:
            raise CacheError(f"Cannot read {self.what} {str(self.path)!r} ({err}). Delete it to start afresh, or "
                             f"pass another path.") from err
        if differ:  # before the shapes: another problem's arrays have other shapes too
            self.refuse(f"its {', '.join(differ)} {'differs' if len(differ) == 1 else 'differ'} from this run's "
                        f"({', '.join(f'{key}={self.identity[key]!r}' for key in differ)})")
        return meta["state"], arrays

    def refuse(self, how: str) -> None:
        """Raise the error for a file written for another problem; ``how`` says what differs."""
        raise CacheError(
            f"{self.what[0].upper()}{self.what[1:]} {str(self.path)!r} was written for another {self.problem}: "
            f"{how}. A checkpoint resumes {self.resumes}; delete it to start afresh, or pass another path.")

    def due(self) -> bool:
        return time.perf_counter() - self.saved_at >= self.every

    def save(self, state: dict, arrays: dict) -> None:
        """Write the state; a write that fails (a full disk, say) leaves the previous file, warns, and stops the
        saving, not the run: its result is worth more than the checkpoint."""
        if self.failed:
            return
        try:
            write_npz(self.path, {**self.identity, "state": state}, {name: to_numpy(a) for name, a in arrays.items()})
        except OSError as err:
            self.failed = True
            warnings.warn(f"Could not write {self.what} {str(self.path)!r} ({err}); the run goes on without "
                          f"saving, and the file keeps the state it had before.", RuntimeWarning, stacklevel=2)
        self.saved_at = time.perf_counter()
