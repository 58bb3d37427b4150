"""The one rule for text people read: no control or format characters.

NUL, RTL overrides, zero-width joiners and BOMs (Unicode Cc, Cf, and the line/paragraph separators,
surrogates and private use around them) would make a stored name look like another, or hide text.
The reason names the field and fits the 30-byte reason of an 852 reply for a two-character label.
"""
from __future__ import annotations

import unicodedata

from .rules import RuleError

_LINE_BREAKS = frozenset("\n\r")
_HIDDEN = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})


def check_visible(value: str, name: str, label: str, *, multiline: bool = False) -> str:
    for c in value:
        if multiline and c in _LINE_BREAKS:
            continue
        if unicodedata.category(c) in _HIDDEN:
            raise RuleError(name, f"{label}含不可见字符U+{ord(c):04X}")
    return value
