"""The text a generation shows, token by token, and where it stops.

``TextStream`` turns each new token into the text it adds. ``StopStrings`` watches that text for
stop strings: text that may be the start of one is held back until the next tokens tell, so a
stop string (and anything a token brings after it) is never shown. The stop string itself is
excluded, as in common completion APIs; a tokenizer's end token likewise adds no text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

MAX_STOPS = 4  # stop strings a generation may watch for
MAX_STOP_CHARS = 32  # characters in one stop string
HALF_CHARACTER_TOKENS = 4  # a half character at the end of a prompt lies in its last 4 tokens at most


class Detokenizer(Protocol):
    def decode(self, ids: Sequence[int]) -> str: ...


class TextStream:
    """The text each new token adds. Byte-level BPE tokens may split a UTF-8 character, so a
    trailing half character (decoded as �) is held back until the token that completes it arrives.

    Only the tokens whose text is not all given yet are decoded, after one token before them for
    context (a word tokenizer puts a space between words): what they add is the text of context
    + them less the context's own text and what was given of them already. A token's text depends
    on the tokens before it only through a character they began, and the context ends on a whole
    character, so this is the whole text's new end, and a step costs the same at the thousandth
    token as at the first (decoding the whole text each time grew with its length)."""

    def __init__(self, tokenizer: Detokenizer, prompt: Sequence[int]):
        self.tokenizer, self.ids = tokenizer, list(prompt)
        text = tokenizer.decode(self.ids).rstrip("\ufffd")  # the prompt's text, less a half character
        self.whole = len(self.ids)  # the first ids[:whole] end on a whole character
        for _ in range(HALF_CHARACTER_TOKENS):
            if not self.whole or not tokenizer.decode(self.ids[: self.whole]).endswith("\ufffd"):
                break
            self.whole -= 1
        else:
            self.whole = 0  # no whole end found near the end: decode from the start
        self.given = text[len(tokenizer.decode(self.ids[: self.whole])) :]  # the text of ids[whole:] given

    def add(self, token: int) -> str:
        self.ids.append(token)
        context = self.ids[self.whole - 1 : self.whole] if self.whole else []
        full = self.tokenizer.decode(context + self.ids[self.whole :])
        if full.endswith("\ufffd"):
            return ""
        new = full[len(self.tokenizer.decode(context)) + len(self.given) :]
        self.whole, self.given = len(self.ids), ""
        return new


def checked_stops(stops: Sequence[str]) -> tuple[str, ...]:
    """``stops`` as a tuple, or ValueError: at most ``MAX_STOPS``, each 1..``MAX_STOP_CHARS`` characters."""
    stops = tuple(stops)
    if len(stops) > MAX_STOPS:
        raise ValueError(f"at most {MAX_STOPS} stop strings, got {len(stops)}")
    for s in stops:
        if not isinstance(s, str) or not 1 <= len(s) <= MAX_STOP_CHARS:
            raise ValueError(f"a stop string has 1 to {MAX_STOP_CHARS} characters, got {s!r}")
    return stops


@dataclass
class StopStrings:
    """Generated text in, text that may be shown out, until a stop string appears."""

    stops: tuple[str, ...]
    held: str = ""  # text not shown yet: it may be the start of a stop string

    def feed(self, text: str) -> tuple[str, str | None]:
        """(the text that may be shown now, the stop string found or None). After a stop string
        nothing more is shown: the text before it is returned, it and the rest are dropped."""
        pending = self.held + text
        found = [(pending.find(s), i, s) for i, s in enumerate(self.stops) if s in pending]
        if found:
            at, _, stop = min(found)  # the earliest; at a tie, the first listed
            self.held = ""
            return pending[:at], stop
        cut = len(pending) - self._partial(pending)
        self.held = pending[cut:]
        return pending[:cut], None

    def flush(self) -> str:
        """The held text, released: the generation ended without the stop string completing."""
        text, self.held = self.held, ""
        return text

    def _partial(self, text: str) -> int:
        """The length of the longest end of ``text`` that begins some stop string."""
        for n in range(min(len(text), max((len(s) for s in self.stops), default=0) - 1), 0, -1):
            if any(s.startswith(text[-n:]) for s in self.stops):
                return n
        return 0
