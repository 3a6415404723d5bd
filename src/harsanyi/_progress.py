"""Progress bars: tqdm's, redrawn ten times a second on a terminal (a widget in a notebook), but only every
``LOG_INTERVAL`` seconds where they go to a file or a pipe, so that the log of a long run holds a line every half
minute instead of thousands."""

from __future__ import annotations

import sys

LOG_INTERVAL = 30.0  # seconds between the redraws of a bar that is written to a file or pipe


def progress_bar(iterable=None, **kwargs):
    """``tqdm.auto.tqdm(iterable, **kwargs)``, redrawn at most every ``LOG_INTERVAL`` s when not on a terminal."""
    from tqdm.auto import tqdm

    widget = any(cls.__module__ == "tqdm.notebook" for cls in tqdm.__mro__)  # tqdm.auto's choice in a notebook
    if not widget and not _is_terminal(kwargs.get("file") or sys.stderr):
        kwargs.setdefault("mininterval", LOG_INTERVAL)
    return tqdm(iterable, **kwargs)


def _is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False
