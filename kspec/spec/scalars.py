"""Plain (unquoted) YAML scalars under the YAML 1.2 core schema: only ``true``/``false`` are
booleans, ``1e-6`` is a float, no dates, no octal from a leading zero, no sexagesimal numbers;
numbers too large or not finite are refused (KS009)."""

from __future__ import annotations

import math
import re
from typing import Any

MAX_INT_DIGITS = 19

_NULL = {"", "~", "null", "Null", "NULL"}
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT = re.compile(r"[-+]?[0-9]+\Z")
_OCT = re.compile(r"0o[0-7]+\Z")
_HEX = re.compile(r"0x[0-9a-fA-F]+\Z")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?\Z")
_SPECIAL_FLOAT = re.compile(r"[-+]?\.(?:inf|Inf|INF)\Z|\.(?:nan|NaN|NAN)\Z")
NUMBER_START = frozenset("-+.0123456789")  # every number pattern above starts with one
#: A plain scalar that is not one of these and does not start with one of ``NUMBER_START`` is
#: the string it reads (most of a spec: names, types, keys); :func:`resolve_plain` says so too.
NOT_STRINGS = frozenset(_NULL | set(_BOOL))


class ScalarError(Exception):
    def __init__(self, code: str, message: str, hint: str | None = None):
        super().__init__(message)
        self.code, self.message, self.hint = code, message, hint


def resolve_plain(text: str) -> Any:
    """The value of a plain (unquoted) scalar under the YAML 1.2 core schema."""
    if text in _NULL:
        return None
    if text in _BOOL:
        return _BOOL[text]
    if text[0] not in NUMBER_START:  # a name such as `Dense` or `relu`: no pattern can match
        return text
    if _INT.match(text):
        digits = text.lstrip("+-")
        if len(digits) > 1 and digits.startswith("0"):
            raise ScalarError(
                "KS009",
                f"ambiguous number {text!r}: YAML 1.1 reads a leading zero as octal, YAML 1.2 "
                "as decimal",
                f"write {int(text)} (decimal) or 0o{digits.lstrip('0') or '0'} (octal), "
                f"or quote it for a string",
            )
        if len(digits) > MAX_INT_DIGITS:
            raise ScalarError(
                "KS009",
                f"integer with {len(digits)} digits is too large (kspec allows at most "
                f"{MAX_INT_DIGITS} digits)",
            )
        return int(text)
    if _OCT.match(text) or _HEX.match(text):
        if len(text) > MAX_INT_DIGITS + 2:
            raise ScalarError("KS009", f"integer {text[:24]}... is too large")
        return int(text, 0)
    if _FLOAT.match(text) or _SPECIAL_FLOAT.match(text):
        value = float(
            text.replace(".inf", "inf")
            .replace(".Inf", "inf")
            .replace(".INF", "inf")
            .replace(".nan", "nan")
            .replace(".NaN", "nan")
            .replace(".NAN", "nan")
        )
        if not math.isfinite(value):
            raise ScalarError(
                "KS009",
                f"{text!r} is not a finite number; kspec accepts only finite numbers",
                "use a large finite value, or null where the argument accepts None",
            )
        return value
    return text
