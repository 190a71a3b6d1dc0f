"""A quick yes to "is this value valid against this schema?", without jsonschema.

Most of what a spec holds is valid; jsonschema (a tenth of a second to import) is then needed
only to describe what is not. :func:`is_valid` knows the JSON Schema 2020-12 keywords kspec's
schemas use, as jsonschema reads them (with kspec's ``integer``: not a bool, not ``64.0``). It
says True only when it has checked every keyword that applies; False when the value is invalid
or when it is unsure (a keyword or a value it does not know): the caller then asks jsonschema,
whose errors are the ones reported.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sized
from typing import Any

Schema = dict[str, Any]

_PLAIN = frozenset({dict, list, str, int, float, bool, type(None)})
_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: type(v) is dict,
    "array": lambda v: type(v) is list,
    "string": lambda v: type(v) is str,
    "integer": lambda v: type(v) is int,
    "number": lambda v: type(v) is int or type(v) is float,
    "boolean": lambda v: type(v) is bool,
    "null": lambda v: v is None,
}
# Keywords that never make a value invalid (``then`` is read with ``if``).
_ANNOTATIONS = frozenset(
    {"description", "title", "$comment", "$schema", "$id", "$defs", "default", "then"}
)


class _Unsure(Exception):
    """The schema or the value holds something this check does not know."""


def is_valid(schema: Any, value: Any, root: Schema) -> bool:
    """Whether ``value`` is certainly valid against ``schema`` (``$ref`` resolved in ``root``)."""
    try:
        return _valid(schema, value, root)
    except _Unsure:
        return False


def _valid(schema: Any, value: Any, root: Schema) -> bool:
    if schema is True or schema is False:
        return schema
    if type(schema) is not dict or type(value) not in _PLAIN:
        raise _Unsure
    for keyword, want in schema.items():
        check = _KEYWORDS.get(keyword)
        if check is None:
            if keyword in _ANNOTATIONS:
                continue
            raise _Unsure
        if not check(want, value, schema, root):
            return False
    return True


def _type(want: Any, value: Any, schema: Schema, root: Schema) -> bool:
    names = want if type(want) is list else [want]
    for name in names:
        if name not in _TYPES:
            raise _Unsure
    return any(_TYPES[name](value) for name in names)


def _ref(want: Any, value: Any, schema: Schema, root: Schema) -> bool:
    if type(want) is not str or not want.startswith("#/$defs/") or "/" in want[8:]:
        raise _Unsure
    defs = root.get("$defs", {})
    if want[8:] not in defs:
        raise _Unsure
    return _valid(defs[want[8:]], value, root)


def _properties(want: Any, value: Any, schema: Schema, root: Schema) -> bool:
    if type(value) is not dict:
        return True
    return all(_valid(sub, value[k], root) for k, sub in want.items() if k in value)


def _additional(want: Any, value: Any, schema: Schema, root: Schema) -> bool:
    if type(value) is not dict:
        return True
    known = schema.get("properties", {})
    return all(_valid(want, v, root) for k, v in value.items() if k not in known)


def _names(want: Any, value: Any, schema: Schema, root: Schema) -> bool:
    return type(value) is not dict or all(_valid(want, k, root) for k in value)


def _equal(one: Any, two: Any) -> bool:
    """jsonschema's equality: ``1 == 1.0``, but ``True != 1``."""
    if one is two:
        return True
    if type(one) is str or type(two) is str:
        return bool(one == two)
    if type(one) not in _PLAIN or type(two) not in _PLAIN:
        raise _Unsure
    if type(one) in (list, dict) or type(two) in (list, dict):
        raise _Unsure
    if type(one) is bool or type(two) is bool:
        return False  # equal booleans are the same object
    return bool(one == two)


def _if(want: Any, value: Any, schema: Schema, root: Schema) -> bool:
    if _valid(want, value, root):
        return "then" not in schema or _valid(schema["then"], value, root)
    return "else" not in schema or _valid(schema["else"], value, root)


def _number(test: Callable[[Any, Any], bool]) -> Callable[[Any, Any, Schema, Schema], bool]:
    def check(want: Any, value: Any, schema: Schema, root: Schema) -> bool:
        return not _TYPES["number"](value) or test(value, want)

    return check


def _size(kind: type[Sized], test: Callable[[int, Any], bool]) -> Callable[..., bool]:
    def check(want: Any, value: Any, schema: Schema, root: Schema) -> bool:
        return type(value) is not kind or test(len(value), want)

    return check


_KEYWORDS: dict[str, Callable[[Any, Any, Schema, Schema], bool]] = {
    "type": _type,
    "$ref": _ref,
    "properties": _properties,
    "additionalProperties": _additional,
    "required": lambda want, v, s, r: type(v) is not dict or all(k in v for k in want),
    "propertyNames": lambda want, v, s, r: (
        type(v) is not dict or all(_valid(want, k, r) for k in v)
    ),
    "items": lambda want, v, s, r: type(v) is not list or all(_valid(want, x, r) for x in v),
    "enum": lambda want, v, s, r: any(_equal(e, v) for e in want),
    "const": lambda want, v, s, r: _equal(v, want),
    "anyOf": lambda want, v, s, r: any(_valid(sub, v, r) for sub in want),
    "allOf": lambda want, v, s, r: all(_valid(sub, v, r) for sub in want),
    "oneOf": lambda want, v, s, r: sum(_valid(sub, v, r) for sub in want) == 1,
    "if": _if,
    "else": lambda want, v, s, r: True,  # read with `if`
    "pattern": lambda want, v, s, r: type(v) is not str or re.search(want, v) is not None,
    "minimum": _number(lambda v, n: v >= n),
    "maximum": _number(lambda v, n: v <= n),
    "exclusiveMinimum": _number(lambda v, n: v > n),
    "exclusiveMaximum": _number(lambda v, n: v < n),
    "minItems": _size(list, lambda n, want: n >= want),
    "maxItems": _size(list, lambda n, want: n <= want),
    "minProperties": _size(dict, lambda n, want: n >= want),
    "maxProperties": _size(dict, lambda n, want: n <= want),
    "minLength": _size(str, lambda n, want: n >= want),
    "maxLength": _size(str, lambda n, want: n <= want),
}
