"""JSON Schema validation, with errors turned into kspec diagnostics at their positions.

The top level is validated against the strict kspec-1 document; each node against the schema of
its own kind and layer ``type`` (chosen before validating, so a Dense with ``units: "ten"`` is
told that ``units`` must be an integer, not that some other layer type was expected). Values are
validated *after* expressions are evaluated; a wrong type that came from an expression is
reported as such (KS305), with the ``//`` hint for integer division.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from itertools import islice
from typing import TYPE_CHECKING, Any

from kspec.layers import LAYERS, OPS
from kspec.schemas.build import (
    NAME_PATTERN,
    REF_PATTERN,
    layer_args_schema,
    nested_args_schema,
    op_args_schema,
    strict_document,
)
from kspec.spec.loader import Path
from kspec.spec.quick_schema import is_valid
from kspec.spec.report import Reporter
from kspec.spec.schema_errors import report

if TYPE_CHECKING:  # imported when a value is invalid (kspec.spec.quick_schema says the rest)
    import jsonschema


@cache
def _schema(kind: str) -> dict[str, Any]:
    """The schema of ``kind``: ``top``, ``share_node``, ``block_node``, ``layer.T``,
    ``nested.T``, ``op.T`` or another of the document's definitions."""
    doc = strict_document()
    if kind == "top":
        return doc
    if kind.startswith("layer."):
        name = kind.split(".", 1)[1]
        return {**layer_args_schema(name, LAYERS[name]), "$defs": doc["$defs"]}
    if kind.startswith("nested."):
        name = kind.split(".", 1)[1]
        return {**nested_args_schema(name, LAYERS[name]), "$defs": doc["$defs"]}
    if kind.startswith("op."):
        return {**op_args_schema(OPS[kind.split(".", 1)[1]]), "$defs": doc["$defs"]}
    return {**doc["$defs"][kind], "$defs": doc["$defs"]}


@cache
def _validator(kind: str) -> jsonschema.Draft202012Validator:
    """A compiled validator of ``kind`` (see :func:`_schema`)."""
    from jsonschema import Draft202012Validator, validators

    # JSON Schema counts 64.0 as an integer; Keras does not (Dense(units=64.0) fails), nor does
    # kspec.
    types = Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda _, v: isinstance(v, int) and not isinstance(v, bool)
    )
    return validators.extend(Draft202012Validator, type_checker=types)(_schema(kind))


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
                report(err, sub_base, rep, expr_paths, node, what, key)
    return count


REPORT_LIMIT = 600  # described per validation: more than a check shows (Reporter.MAX_DIAGNOSTICS)
ERROR_LIMIT = 2_000  # made per validation; a document with more is reported as "more than"

_NODE_KINDS = ("layer.", "nested.", "op.", "share_node", "block_node")
_PLACEHOLDER = "n"


def _parts(kind: str, value: Any, base: Path) -> list[tuple[str, Any, Path]]:
    """Split a node into what varies from node to node (its name, its inputs) and its
    arguments, so that the arguments' validation can be cached: in a large spec most nodes
    share their arguments (a 10,000-layer spec validates in a fraction of the time)."""
    if not (kind.startswith(_NODE_KINDS) and isinstance(value, dict)) or kind.startswith(
        "nested."
    ):  # a nested layer has no name or inputs of its own: they are unknown keys there
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


_CACHE: dict[tuple[str, Any], list[jsonschema.ValidationError]] = {}
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
    """The (leaf) errors of ``value`` against ``kind``, memoised by the value's JSON text
    (:func:`_key`)."""
    fast = _FAST.get(kind)
    if fast is not None and fast(value):
        return []
    try:
        key = (kind, _key(value))
    except (TypeError, ValueError):
        return _found(kind, value)
    found = _CACHE.get(key)
    if found is None:
        found = _found(kind, value)
        if len(_CACHE) < _CACHE_LIMIT:
            _CACHE[key] = found
    return found


def _found(kind: str, value: Any) -> list[jsonschema.ValidationError]:
    """The errors of ``value`` against ``kind``: none when it is plainly valid, else
    jsonschema's. A hostile document can hold hundreds of thousands of errors: past
    ERROR_LIMIT (more than a check ever shows) they are not even made."""
    if is_valid(_schema(kind), value, _schema(kind)):
        return []
    return _leaves(islice(_validator(kind).iter_errors(value), ERROR_LIMIT))


def _key(value: Any) -> Any:
    """A hashable stand-in for ``value``'s JSON text with sorted keys: equal only for values
    of equal JSON text (scalars by their exact type; floats by their text, as JSON writes
    them). Raises TypeError or ValueError for what has no JSON text (those are not memoised).
    """
    t = type(value)
    if t is str or t is int or t is bool or value is None:
        return t, value
    if t is float:
        if value != value or value in (_INF, -_INF):
            raise ValueError("not JSON")
        return t, repr(value)
    if t is dict:
        if not all(type(k) is str for k in value):
            raise TypeError("not a JSON object")
        return t, *sorted((k, _key(v)) for k, v in value.items())
    if t is list:
        return t, *map(_key, value)
    raise TypeError("not JSON")


_INF = float("inf")


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
    from jsonschema.exceptions import best_match

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
            return best_match(subs) or subs[0]
    for i, branch in enumerate(branches):
        if isinstance(branch, dict) and branch.get("type") != "null" and i in by_branch:
            subs = by_branch[i]
            return best_match(subs) or subs[0]
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
