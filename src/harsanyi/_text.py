"""Which words of a text are players: the content words, as the lab chooses them (REFERENCE §1.1)."""

from __future__ import annotations

import string
from collections.abc import Sequence

import numpy as np

from .exceptions import HarsanyiValueError

__all__ = ["content_words"]

_MARKERS = "Ġ▁"  # the word-start marks of byte-level BPE and SentencePiece tokens
# the pieces of English contractions that tokenizers split off, with their quote stripped ("'s", "'d" and "'m" are
# single letters then, and "'re" is in the stop list already)
_CLITICS = frozenset({"n't", "nt", "ll", "ve"})


def _stop_words() -> frozenset:
    try:
        from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS
    except ImportError as err:
        raise HarsanyiValueError("Content words are told apart by scikit-learn's English stop-word list: pip install "
                                 "scikit-learn, or give the players' positions with select=[…].") from err
    return ENGLISH_STOP_WORDS


def _is_content(word: str, stop: frozenset) -> bool:
    core = word.lstrip(_MARKERS).removeprefix("##").strip(string.punctuation + "“”‘’«»–—…").lower()
    return len(core) > 1 and not core.isdigit() and core not in stop and core not in _CLITICS


def content_words(words: Sequence[str], k: int | None = None, *, seed: int = 0) -> list[int]:
    """The positions (from 0) of the content words of ``words``: not English stop words (scikit-learn's list) or
    pieces of contractions ("n't", "'ll"), not punctuation, single letters or numbers. All of them in order, or ``k`` of them drawn at random with ``seed``
    and kept in the text's order, as the lab picks 10 players of a longer sentence (ICLR 2024).

    >>> content_words("The film is not a triumph , but Tom shines .".split())
    [1, 5, 8, 9]

    A string is taken as its words (split at white space).
    """
    if isinstance(words, str):
        words = words.split()
    elif not isinstance(words, (Sequence, np.ndarray)):
        raise HarsanyiValueError(f"Expected the words of a text (a list of words, or a string); received "
                                 f"{type(words).__name__}.")
    stop = _stop_words()
    found = [i for i, word in enumerate(words) if _is_content(str(word), stop)]
    if not found:
        raise HarsanyiValueError(f"The text has no content words (all of {len(words)} are stop words, punctuation, "
                                 f"single letters or numbers); give the players' positions with select=[…].")
    if k is None:
        return found
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise HarsanyiValueError(f"Expected the number of content words as a positive integer; received {k!r}.")
    if k > len(found):
        raise HarsanyiValueError(f"Asked for {k} content words, but the text has {len(found)}: "
                                 f"{[str(words[i]) for i in found]}. Ask for at most {len(found)}, or for all of them.")
    chosen = np.random.default_rng(seed).choice(len(found), size=int(k), replace=False)
    return [found[i] for i in sorted(chosen)]


def resolve_select(select, units: Sequence[str], unit: str):
    """``select=`` of a text game: positions as given, or "content" / "content:K" resolved against ``units`` (the
    words, or tokens with ``players="tokens"``). In a list, a string stands for the position of that word."""
    if isinstance(select, (list, tuple)) and any(isinstance(item, str) for item in select):
        return [_position_of(item, units, unit) if isinstance(item, str) else item for item in select]
    if not isinstance(select, str):
        return select
    name, _, count = select.partition(":")
    if name.strip() != "content":
        raise HarsanyiValueError(f"Expected select= as a list of {unit[:-1]} positions or {unit}, 'content' (every "
                                 f"content word) or 'content:K' (K of them at random, seed 0); received {select!r}.")
    try:
        k = int(count) if count.strip() else None
    except ValueError:
        raise HarsanyiValueError(f"Expected select='content:K' with a whole number K, e.g. 'content:10'; received "
                                 f"{select!r}.") from None
    return content_words(units, k)


def _position_of(word: str, units: Sequence[str], unit: str) -> int:
    """The position of ``word`` among ``units``; refused where it is not there, or there more than once."""
    places = [i for i, u in enumerate(units) if u == word]
    if len(places) == 1:
        return places[0]
    if not places:
        raise HarsanyiValueError(f"select= names {word!r}, which is not one of the text's {unit}: "
                                 f"{list(units)[:20]}{' …' if len(units) > 20 else ''}.")
    raise HarsanyiValueError(f"select= names {word!r}, which the text has {len(places)} times (positions "
                             f"{', '.join(map(str, places))}); give the position of the one you mean.")
