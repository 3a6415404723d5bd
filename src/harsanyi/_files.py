"""Files written whole or not at all: results and checkpoints are .npz archives of arrays plus JSON metadata."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import numpy as np

from .exceptions import HarsanyiValueError

__all__ = ["write_npz", "read_npz", "jsonable", "make_folder", "file_in_the_way"]


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
