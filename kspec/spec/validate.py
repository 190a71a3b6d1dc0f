"""JSON Schema validation, with errors turned into kspec diagnostics at their positions.

The top level is validated against the strict kspec-1 document; each node against the schema of
its own kind and layer ``type`` (chosen before validating, so a Dense with ``units: "ten"`` is
told that ``units`` must be an integer, not that some other layer type was expected). Values are
validated *after* expressions are evaluated; a wrong type that came from an expression is
reported as such (KS305), with the ``//`` hint for integer division.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from functools import cache
from itertools import islice
from typing import Any

import jsonschema
from jsonschema import Draft202012Validator, validators

from kspec.layers import LAYERS
from kspec.schemas.build import (
    NAME_PATTERN,
    REF_PATTERN,
    layer_args_schema,
    nested_args_schema,
    strict_document,
)
from kspec.spec.loader import Path
from kspec.spec.report import Reporter, did_you_mean, suggest

# JSON Schema counts 64.0 as an integer; Keras does not (Dense(units=64.0) fails), nor does kspec.
_types = Draft202012Validator.TYPE_CHECKER.redefine(
    "integer", lambda _, v: isinstance(v, int) and not isinstance(v, bool)
)
_Validator = validators.extend(Draft202012Validator, type_checker=_types)


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


def _describe(value: Any) -> str:
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


def _type_name(schema_type: Any) -> str:
    if isinstance(schema_type, list):
        return " or ".join(_TYPE_NAMES.get(t, str(t)) for t in schema_type)
    return _TYPE_NAMES.get(schema_type, str(schema_type))


@cache
def _validator(kind: str) -> Draft202012Validator:
    """A compiled validator: ``top``, ``share_node``, ``block_node``, ``layer.T``, ``nested.T``."""
    doc = strict_document()
    if kind == "top":
        schema: dict[str, Any] = doc
    elif kind.startswith("layer."):
        name = kind.split(".", 1)[1]
        schema = {**layer_args_schema(name, LAYERS[name]), "$defs": doc["$defs"]}
    elif kind.startswith("nested."):
        name = kind.split(".", 1)[1]
        schema = {**nested_args_schema(name, LAYERS[name]), "$defs": doc["$defs"]}
    else:
        schema = {**doc["$defs"][kind], "$defs": doc["$defs"]}
    return _Validator(schema)


def validate(
    kind: str,
    value: Any,
    base: Path,
    rep: Reporter,
    exprs: Any = None,
    node: str | None = None,
    what: str = "",
    key: bool = False,
) -> int:
    """Validate ``value`` (found at ``base``) against the ``kind`` schema; report; count errors.
    ``key``: ``value`` is the mapping key at ``base`` (a block's name), reported at the key.

    ``exprs`` (the resolver's context) tells which paths hold expressions (``expr_paths``) and
    which already failed to evaluate (``failed``: not reported again as a wrong type).
    """
    expr_paths: dict[Path, Any] = getattr(exprs, "expr_paths", {})
    failed: set[Path] = getattr(exprs, "failed", set())
    count = 0
    for sub_kind, sub_value, sub_base in _parts(kind, value, base):
        errors = _errors(sub_kind, sub_value)
        count += len(errors)
        if rep.full:  # describing them would cost time nobody gets back
            rep.unreported += len(errors)
            continue
        if len(errors) > REPORT_LIMIT:  # describe the first ones in file order, count the rest
            errors = sorted(errors, key=lambda e: _line_of(rep, (*sub_base, *e.absolute_path)))
            rep.unreported += len(errors) - REPORT_LIMIT
            rep.truncated |= len(errors) >= ERROR_LIMIT
        for err in errors[:REPORT_LIMIT]:  # the rest are counted, not described (KS010)
            if (*sub_base, *err.absolute_path) not in failed:
                _report(err, sub_value, sub_base, rep, expr_paths, node, what, key)
    return count


REPORT_LIMIT = 600  # described per validation: more than a check shows (Reporter.MAX_DIAGNOSTICS)
ERROR_LIMIT = 2_000  # made per validation; a document with more is reported as "more than"

_NODE_KINDS = ("layer.", "nested.", "share_node", "block_node")
_PLACEHOLDER = "n"


def _parts(kind: str, value: Any, base: Path) -> list[tuple[str, Any, Path]]:
    """Split a node into what varies from node to node (its name, its inputs) and its
    arguments, so that the arguments' validation can be cached: in a large spec most nodes
    share their arguments (a 10,000-layer spec validates in a fraction of the time)."""
    if not (kind.startswith(_NODE_KINDS) and isinstance(value, dict)):
        return [(kind, value, base)]
    core = {k: v for k, v in value.items() if k not in ("name", "inputs")}
    if "name" in value:
        core["name"] = _PLACEHOLDER
    parts = [(kind, core, base)]
    if "name" in value:
        parts.append(("name", value["name"], (*base, "name")))
    if "inputs" in value:
        parts.append(("node_inputs", value["inputs"], (*base, "inputs")))
    return parts


_CACHE: dict[tuple[str, str], list[jsonschema.ValidationError]] = {}
_CACHE_LIMIT = 50_000


_NAME = re.compile(NAME_PATTERN)
_REF = re.compile(REF_PATTERN)


def _is_ref(v: Any) -> bool:
    return type(v) is str and _REF.match(v) is not None


def _is_refs(v: Any) -> bool:
    return _is_ref(v) or (type(v) is list and bool(v) and all(map(_is_ref, v)))


# Obviously valid names and references skip jsonschema (which then only explains the invalid).
_FAST = {
    "name": lambda v: type(v) is str and _NAME.match(v) is not None,
    "node_inputs": lambda v: (
        _is_refs(v)
        or (
            type(v) is dict
            and bool(v)
            and all(type(k) is str and _NAME.match(k) for k in v)
            and all(map(_is_refs, v.values()))
        )
    ),
}


def _line_of(rep: Reporter, path: Path) -> tuple[int, int]:
    span = rep.doc.span(path)
    return (span.line, span.column) if span else (0, 0)


def _errors(kind: str, value: Any) -> list[jsonschema.ValidationError]:
    """The (leaf) errors of ``value`` against ``kind``, memoised by the value's JSON text."""
    fast = _FAST.get(kind)
    if fast is not None and fast(value):
        return []
    try:
        key = (kind, json.dumps(value, sort_keys=True, allow_nan=False))
    except (TypeError, ValueError):
        return _leaves(islice(_validator(kind).iter_errors(value), ERROR_LIMIT))
    found = _CACHE.get(key)
    if found is None:
        # a hostile document can hold hundreds of thousands of errors: past ERROR_LIMIT
        # (more than a check ever shows) they are not even made
        found = _leaves(islice(_validator(kind).iter_errors(value), ERROR_LIMIT))
        if len(_CACHE) < _CACHE_LIMIT:
            _CACHE[key] = found
    return found


def _leaves(errors: Iterable[jsonschema.ValidationError]) -> list[jsonschema.ValidationError]:
    """Replace ``anyOf``/``oneOf`` errors by the most relevant error of the branch that fits."""
    out: list[jsonschema.ValidationError] = []
    for err in errors:
        if err.validator in ("anyOf", "oneOf") and err.context:
            out.append(_best_branch(err))
        else:
            out.append(err)
    return out


def _best_branch(err: jsonschema.ValidationError) -> jsonschema.ValidationError:
    """For ``nullable(X)`` or ``int or list``: the error from the branch of the value's kind."""
    value = err.instance
    by_branch: dict[int, list[jsonschema.ValidationError]] = {}
    for sub in err.context or []:
        by_branch.setdefault(sub.schema_path[0] if sub.schema_path else 0, []).append(sub)
    branches = err.schema[err.validator]

    def fits(schema: dict[str, Any]) -> bool:
        t = schema.get("type")
        if t is None:
            return "enum" in schema or "const" in schema or "$ref" in schema
        kinds = t if isinstance(t, list) else [t]
        return any(_is_type(value, k) for k in kinds)

    for i, branch in enumerate(branches):
        if (
            isinstance(branch, dict)
            and branch.get("type") != "null"
            and fits(branch)
            and i in by_branch
        ):
            subs = by_branch[i]
            return jsonschema.exceptions.best_match(subs) or subs[0]
    for i, branch in enumerate(branches):
        if isinstance(branch, dict) and branch.get("type") != "null" and i in by_branch:
            subs = by_branch[i]
            return jsonschema.exceptions.best_match(subs) or subs[0]
    return err


def _is_type(value: Any, kind: str) -> bool:
    return {
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
        "string": isinstance(value, str),
        "boolean": isinstance(value, bool),
        "array": isinstance(value, list),
        "object": isinstance(value, dict),
        "null": value is None,
    }.get(kind, False)


def _report(
    err: jsonschema.ValidationError,
    root: Any,
    base: Path,
    rep: Reporter,
    expr_paths: dict[Path, Any],
    node: str | None,
    what: str,
    at_key: bool = False,
) -> None:
    rel = tuple(err.absolute_path)
    path = (*base, *rel)
    field = ".".join(str(p) for p in rel) if rel else (what or "value")
    value = err.instance
    schema = err.schema if isinstance(err.schema, dict) else {}
    in_expr = path in expr_paths
    hint = None
    v = err.validator
    subject = f"`{field}`" + (f" of {what}" if what and rel else "")
    if v == "additionalProperties":
        allowed = [k for k in schema.get("properties", {}) if k not in value]
        extras = [k for k in value if k not in schema.get("properties", {})]
        required = [k for k in schema.get("required", []) if k not in value]
        for key in extras:
            where = f" for {what}" if what else ""
            best = suggest(key, allowed)
            needed = f" (it needs `{best}`)" if best in required else ""
            rep.add(
                "KS101",
                f"unknown key `{key}`{where}{needed}",
                (*path, key),
                key=True,
                node=node,
                hint=f"did you mean {best!r}?"
                if best
                else ("allowed keys: " + ", ".join(sorted(allowed)) if allowed else None),
            )
        return
    if v == "required":
        missing = _missing_key(err)
        known = schema.get("properties", {})
        extras = [k for k in err.instance if isinstance(k, str) and k not in known]
        if "additionalProperties" in schema and any(suggest(k, [missing]) for k in extras):
            return  # said with the misspelt key (KS101): `unit` for `units`
        rep.add("KS103", f"{what or 'this mapping'} needs `{missing}`", path, node=node)
        return
    if v == "type":
        expected = _type_name(err.validator_value)
        if in_expr:
            source = getattr(expr_paths[path], "source", "")
            if err.validator_value == "integer" and isinstance(value, float):
                hint = (
                    "`/` always gives a float; use `//` for integer division (or int(...))"
                    if "/" in source
                    else "the expression's params give a float here; give them integer values "
                    "(or use int(...))"
                )
            rep.add(
                "KS305",
                f"{subject} must be {expected}, but its expression gives {_describe(value)}",
                path,
                node=node,
                hint=hint,
            )
            return
        if err.validator_value == "boolean" and value in _YAML11_BOOLS:
            hint = f"kspec reads YAML 1.2: only true and false are booleans; '{value}' is a string"
        elif err.validator_value == "integer" and isinstance(value, float) and value.is_integer():
            hint = f"write {int(value)} without the decimal point"
        elif isinstance(value, str) and err.validator_value in ("integer", "number"):
            hint = "a number must not be quoted" if _numeric(value) else None
        rep.add(
            "KS102",
            f"{subject} must be {expected}, got {_describe(value)}",
            path,
            node=node,
            hint=hint,
        )
        return
    if v in ("enum", "const"):
        allowed_values = err.validator_value if v == "enum" else [err.validator_value]
        hint = (
            did_you_mean(value, [a for a in allowed_values if isinstance(a, str)])
            if isinstance(value, str)
            else None
        )
        listed = ", ".join(_describe(a) for a in allowed_values)
        notes: tuple[str, ...] = ()
        if len(allowed_values) > 8:  # a long list goes to a note, after the suggestion
            message = (
                f"{subject}: {_describe(value)} is not one of its {len(allowed_values)} values"
            )
            notes = (f"allowed: {listed}",)
        else:
            message = f"{subject} must be one of {listed}; got {_describe(value)}"
        rep.add("KS104", message, path, node=node, hint=hint, notes=notes)
        return
    if v in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        op = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}[v]
        rep.add(
            "KS105",
            f"{subject} must be {op} {err.validator_value}, got {_describe(value)}",
            path,
            node=node,
        )
        return
    if v in ("minItems", "maxItems", "minProperties"):
        bound = {"minItems": "at least", "maxItems": "at most", "minProperties": "at least"}[v]
        n = err.validator_value
        items = "entries" if v == "minProperties" else "items"
        items = items if n != 1 else items[:-1] if items == "items" else "entry"
        got = f", got {len(value)}" if isinstance(value, list | dict) else ""
        rep.add("KS109", f"{subject} must have {bound} {n} {items}{got}", path, node=node)
        return
    if v == "pattern":
        rep.add(
            "KS104",
            f"{subject} must be a name made of letters, digits and _ (not starting with a digit); "
            f"got {_describe(value)}",
            path,
            key=at_key,
            node=node,
            hint="names are ASCII identifiers such as hidden_1",
        )
        return
    if v == "oneOf" and not err.context:
        rep.add(
            "KS104",
            f"{what or 'this node'} must have exactly one of `type`, `share`, `block`",
            path,
            node=node,
        )
        return
    rep.add("KS104", f"{subject}: {err.message}", path, node=node)


def _missing_key(err: jsonschema.ValidationError) -> str:
    """The key a ``required`` error is about (its message is "'units' is a required ...")."""
    return str(err.message.split("'")[1] if "'" in err.message else err.message)


def _numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
