"""The merge rules of ``extends:`` and ``include:`` (docs/language.md, "Composing specs").

Values travel with the span of the file they were written in: a document is lifted into a tree
of :class:`Loc` (value, span, key span), merged, and lowered back into plain data and spans.

* mappings merge by key, the child's value winning; two mappings under the same key merge in
  turn; ``~key: null`` deletes an inherited key (deletions come first, so ``~key`` next to
  ``key`` replaces a mapping instead of merging into it);
* a ``layers`` list (the model's or a block's) is edited by node name, never by position:
  an entry whose ``name`` is a node of the base replaces that node, ``{edit: NAME, ...}``
  merges keys into it, ``{insert_after: NAME, layers: [...]}`` and ``{insert_before: ...}``
  insert nodes, ``{delete: NAME}`` removes one; any other entry is appended;
* every other value (lists included) is replaced.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kspec.spec.loader import Path, Raw
from kspec.spec.report import did_you_mean

#: ``fail(code, message, raw, hint)``: report a problem at a raw span.
Fail = Callable[[str, str, Raw | None, str | None], None]

DELETE = "~"
EDIT_KEYS = ("edit", "insert_after", "insert_before", "delete")


@dataclass(slots=True)
class Loc:
    """A value (a scalar, ``dict[str, Loc]`` or ``list[Loc]``) with its span and its key's."""

    value: Any
    span: Raw | None
    key: Raw | None = None


def tag(raw: Raw | None, file: int) -> Raw | None:
    """``raw`` marked as being in file ``file`` (0, the document's own, stays unmarked)."""
    if raw is None or not file:
        return raw
    return (*raw[:4], file)


def lift(
    value: Any, spans: dict[Path, Raw], key_spans: dict[Path, Raw], file: int, path: Path = ()
) -> Loc:
    """The :class:`Loc` tree of ``value`` (at ``path`` of a document loaded from ``file``)."""
    if isinstance(value, dict):
        inner: Any = {k: lift(v, spans, key_spans, file, (*path, k)) for k, v in value.items()}
    elif isinstance(value, list):
        inner = [lift(v, spans, key_spans, file, (*path, i)) for i, v in enumerate(value)]
    else:
        inner = value
    return Loc(inner, tag(spans.get(path), file), tag(key_spans.get(path), file))


def lower(loc: Loc, spans: dict[Path, Raw], key_spans: dict[Path, Raw], path: Path = ()) -> Any:
    """Plain data for ``loc``, its spans written into ``spans`` and ``key_spans``."""
    if loc.span is not None:
        spans[path] = loc.span
    if loc.key is not None and path:
        key_spans[path] = loc.key
    if isinstance(loc.value, dict):
        return {k: lower(v, spans, key_spans, (*path, k)) for k, v in loc.value.items()}
    if isinstance(loc.value, list):
        return [lower(v, spans, key_spans, (*path, i)) for i, v in enumerate(loc.value)]
    return loc.value


def merge(base: Loc, child: Loc, fail: Fail) -> Loc:
    """``child`` written over ``base`` (the rules in the module docstring)."""
    if not (isinstance(base.value, dict) and isinstance(child.value, dict)):
        return child
    out: dict[str, Loc] = dict(base.value)
    for key, value in child.value.items():  # deletions first
        if not key.startswith(DELETE):
            continue
        name = key[len(DELETE) :]
        if value.value is not None:
            fail(
                "KS509",
                f"`{key}` must be null (it deletes the inherited key {name!r})",
                value.span,
                f"write `{key}: null`",
            )
        elif name not in out:
            hint = did_you_mean(name, [k for k in out if not k.startswith(DELETE)])
            fail(
                "KS509",
                f"`{key}`: there is no inherited key {name!r} to delete",
                value.key or value.span,
                hint or "remove the line",
            )
        else:
            del out[name]
    for key, value in child.value.items():
        if key.startswith(DELETE):
            continue
        old = out.get(key)
        if old is None:
            out[key] = value
        elif key == "layers" and isinstance(old.value, list) and isinstance(value.value, list):
            out[key] = Loc(edit_layers(old.value, value.value, fail), value.span, value.key)
        else:
            out[key] = merge(old, value, fail)
    return Loc(out, child.span, child.key)


def _name(loc: Loc) -> Any:
    return loc.value["name"].value if isinstance(loc.value, dict) and "name" in loc.value else None


def edit_layers(base: list[Loc], child: list[Loc], fail: Fail) -> list[Loc]:
    """The base's nodes edited by the child's entries, in order (by node name)."""
    out = list(base)

    def find(entry: Loc, key: str) -> int | None:
        target = entry.value[key]
        names = [_name(n) for n in out]
        if isinstance(target.value, str) and target.value in names:
            return names.index(target.value)
        wanted = target.value if isinstance(target.value, str) else repr(target.value)
        known = [n for n in names if isinstance(n, str)]
        fail(
            "KS508",
            f"`{key}: {wanted}`: the base has no node named {wanted!r}",
            target.span,
            did_you_mean(str(wanted), known) or "nodes: " + ", ".join(known),
        )
        return None

    for entry in child:
        spec = entry.value if isinstance(entry.value, dict) else {}
        ops = [k for k in EDIT_KEYS if k in spec]
        if len(ops) > 1:
            fail(
                "KS508",
                f"a layers entry has both `{ops[0]}` and `{ops[1]}`",
                spec[ops[1]].key,
                "one edit per entry",
            )
            continue
        op = ops[0] if ops else None
        if op is None:
            name = _name(entry)
            names = [_name(n) for n in out]
            if name is not None and name in names:
                out[names.index(name)] = entry  # a node of the same name replaces it
            else:
                out.append(entry)
            continue
        allowed = {"edit": set(spec), "delete": {op}}.get(op, {op, "layers"})
        extra = [k for k in spec if k not in allowed]
        if op == "delete" and extra:
            fail(
                "KS508",
                f"`delete:` takes nothing else (found `{extra[0]}`)",
                spec[extra[0]].key,
                "write `- {delete: NAME}`",
            )
            continue
        pos = find(entry, op)
        if pos is None:
            continue
        if op == "delete":
            del out[pos]
        elif op == "edit":
            keys = {k: v for k, v in spec.items() if k != "edit"}
            out[pos] = merge(out[pos], Loc(keys, entry.span, entry.key), fail)
        else:
            nodes = spec.get("layers")
            if nodes is None or not isinstance(nodes.value, list) or extra:
                fail(
                    "KS508",
                    f"`{op}:` needs `layers:`, a list of the nodes to insert",
                    (spec[extra[0]].key if extra else entry.span),
                    f"`- {{{op}: NAME, layers: [...]}}`",
                )
                continue
            at = pos + 1 if op == "insert_after" else pos
            out[at:at] = nodes.value
    return out
