"""A JSON Schema validation error as a kspec diagnostic: one function per schema keyword (the
``_BY_KEYWORD`` table), each saying what is wrong in the spec's own terms, with its KS code and
a hint (a misspelt key's likely spelling, YAML 1.2's booleans, ``//`` for integer division...).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kspec.spec.loader import Path
from kspec.spec.report import Reporter, did_you_mean, suggest

if TYPE_CHECKING:
    import jsonschema

_TYPE_NAMES = {
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "boolean": "a boolean (true or false)",
    "array": "a list",
    "object": "a mapping",
    "null": "null",
}
_YAML11_BOOLS = {"yes", "no", "on", "off", "y", "n", "Yes", "No", "On", "Off", "YES", "NO"}


@dataclass(frozen=True, slots=True)
class Found:
    """One validation error where it was found: the error, the path of the value in the
    document, the node it is in (for the message's context), what the value is (``what``: "the
    Dense layer", "input `x`"...), and the expressions the value came from (by path)."""

    err: jsonschema.ValidationError
    path: Path
    rel: tuple[Any, ...]
    node: str | None
    what: str
    expr_paths: dict[Path, Any]
    at_key: bool

    @property
    def subject(self) -> str:
        field = ".".join(str(p) for p in self.rel) if self.rel else (self.what or "value")
        return f"`{field}`" + (f" of {self.what}" if self.what and self.rel else "")

    @property
    def schema(self) -> dict[str, Any]:
        return self.err.schema if isinstance(self.err.schema, dict) else {}


def report(
    err: jsonschema.ValidationError,
    base: Path,
    rep: Reporter,
    expr_paths: dict[Path, Any],
    node: str | None,
    what: str,
    at_key: bool = False,
) -> None:
    """Add the diagnostic for ``err`` (the value at ``base`` + the error's path) to ``rep``."""
    rel = tuple(err.absolute_path)
    found = Found(err, (*base, *rel), rel, node, what, expr_paths, at_key)
    handler = _BY_KEYWORD.get(str(err.validator), _other)
    handler(found, rep)


def describe(value: Any) -> str:
    """A value as a message shows it: ``true``, ``null``, ``a mapping``, ``'ten'``..."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) < 60 else text[:57] + "..."


def type_name(schema_type: Any) -> str:
    """A schema ``type`` as words: ``an integer or null``."""
    if isinstance(schema_type, list):
        return " or ".join(_TYPE_NAMES.get(t, str(t)) for t in schema_type)
    return _TYPE_NAMES.get(schema_type, str(schema_type))


def _unknown_keys(f: Found, rep: Reporter) -> None:
    value, schema = f.err.instance, f.schema
    allowed = [k for k in schema.get("properties", {}) if k not in value]
    extras = [k for k in value if k not in schema.get("properties", {})]
    required = [k for k in schema.get("required", []) if k not in value]
    for key in extras:
        where = f" for {f.what}" if f.what else ""
        best = suggest(key, allowed)
        needed = f" (it needs `{best}`)" if best in required else ""
        listed = "allowed keys: " + ", ".join(sorted(allowed)) if allowed else None
        rep.add(
            "KS101",
            f"unknown key `{key}`{where}{needed}",
            (*f.path, key),
            key=True,
            node=f.node,
            hint=f"did you mean {best!r}?" if best else listed,
        )


def _missing(f: Found, rep: Reporter) -> None:
    message = f.err.message
    missing = str(message.split("'")[1] if "'" in message else message)
    known = f.schema.get("properties", {})
    extras = [k for k in f.err.instance if isinstance(k, str) and k not in known]
    if "additionalProperties" in f.schema and any(suggest(k, [missing]) for k in extras):
        return  # said with the misspelt key (KS101): `unit` for `units`
    rep.add("KS103", f"{f.what or 'this mapping'} needs `{missing}`", f.path, node=f.node)


def _wrong_type(f: Found, rep: Reporter) -> None:
    value, wanted = f.err.instance, f.err.validator_value
    expected = type_name(wanted)
    if f.path in f.expr_paths:
        rep.add(
            "KS305",
            f"{f.subject} must be {expected}, but its expression gives {describe(value)}",
            f.path,
            node=f.node,
            hint=_expression_hint(f, value, wanted),
        )
        return
    hint = None
    if wanted == "boolean" and isinstance(value, str) and value in _YAML11_BOOLS:
        hint = f"kspec reads YAML 1.2: only true and false are booleans; '{value}' is a string"
    elif wanted == "integer" and isinstance(value, float) and value.is_integer():
        hint = f"write {int(value)} without the decimal point"
    elif isinstance(value, str) and wanted in ("integer", "number"):
        hint = "a number must not be quoted" if _numeric(value) else None
    rep.add(
        "KS102", f"{f.subject} must be {expected}, got {describe(value)}", f.path, node=f.node,
        hint=hint,
    )  # fmt: skip


def _expression_hint(f: Found, value: Any, wanted: Any) -> str | None:
    if wanted != "integer" or not isinstance(value, float):
        return None
    if "/" in getattr(f.expr_paths[f.path], "source", ""):
        return "`/` always gives a float; use `//` for integer division (or int(...))"
    return "the expression's params give a float here; give them integer values (or use int(...))"


def _not_allowed(f: Found, rep: Reporter) -> None:
    value, err = f.err.instance, f.err
    allowed = err.validator_value if err.validator == "enum" else [err.validator_value]
    names = [a for a in allowed if isinstance(a, str)]
    hint = did_you_mean(value, names) if isinstance(value, str) else None
    listed = ", ".join(describe(a) for a in allowed)
    notes: tuple[str, ...] = ()
    if len(allowed) > 8:  # a long list goes to a note, after the suggestion
        message = f"{f.subject}: {describe(value)} is not one of its {len(allowed)} values"
        notes = (f"allowed: {listed}",)
    else:
        message = f"{f.subject} must be one of {listed}; got {describe(value)}"
    rep.add("KS104", message, f.path, node=f.node, hint=hint, notes=notes)


_BOUNDS = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}


def _out_of_range(f: Found, rep: Reporter) -> None:
    op = _BOUNDS[str(f.err.validator)]
    message = f"{f.subject} must be {op} {f.err.validator_value}, got {describe(f.err.instance)}"
    rep.add("KS105", message, f.path, node=f.node)


def _wrong_count(f: Found, rep: Reporter) -> None:
    v, n, value = f.err.validator, f.err.validator_value, f.err.instance
    bound = "at most" if v == "maxItems" else "at least"
    if v == "minProperties":
        items = "entries" if n != 1 else "entry"
    else:
        items = "items" if n != 1 else "item"
    got = f", got {len(value)}" if isinstance(value, list | dict) else ""
    rep.add("KS109", f"{f.subject} must have {bound} {n} {items}{got}", f.path, node=f.node)


def _bad_name(f: Found, rep: Reporter) -> None:
    if _described(f, rep):
        return
    rep.add(
        "KS104",
        f"{f.subject} must be a name made of letters, digits and _ (not starting with a digit); "
        f"got {describe(f.err.instance)}",
        f.path,
        key=f.at_key,
        node=f.node,
        hint="names are ASCII identifiers such as hidden_1",
    )


def _one_of(f: Found, rep: Reporter) -> None:
    if f.err.context:
        _other(f, rep)
        return
    message = f"{f.what or 'this node'} must have exactly one of `type`, `share`, `block` or `op`"
    rep.add("KS104", message, f.path, node=f.node)


def _described(f: Found, rep: Reporter) -> bool:
    """A schema that says in its ``$comment`` what it accepts: that, and the value."""
    form = f.schema.get("$comment")
    if not isinstance(form, str):
        return False
    rep.add(
        "KS104", f"{f.subject} must be {form}; got {describe(f.err.instance)}", f.path, node=f.node
    )
    return True


def _other(f: Found, rep: Reporter) -> None:
    if _described(f, rep):
        return
    rep.add("KS104", f"{f.subject}: {f.err.message}", f.path, node=f.node)


def _numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


_BY_KEYWORD: dict[str, Callable[[Found, Reporter], None]] = {
    "additionalProperties": _unknown_keys,
    "required": _missing,
    "type": _wrong_type,
    "enum": _not_allowed,
    "const": _not_allowed,
    **dict.fromkeys(_BOUNDS, _out_of_range),
    **dict.fromkeys(("minItems", "maxItems", "minProperties"), _wrong_count),
    "pattern": _bad_name,
    "oneOf": _one_of,
}
