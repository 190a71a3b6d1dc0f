"""The ``type`` of a node in the published schema: its check and the dispatch on it.

``layer_type`` checks the value (completion lists every layer type with its summary; a
refused type says why; a dotted name is a custom layer; anything else hears the closest type
name, or where the types are listed). ``dispatch`` applies the arguments' schema of the
node's type, ``$defs/layer.<Class>`` (aliases go to their class's), by a binary tree of short
exact patterns, so a node costs about 9 tests instead of one per layer type.
"""

from __future__ import annotations

from kspec.layers import ALIASES, LAYERS, REFUSED, canonical
from kspec.schemas.editor_keys import any_case, exact, fail, near, ref
from kspec.schemas.types import Schema

DOTTED = "^[A-Za-z_][A-Za-z0-9_]*(?:\\.[A-Za-z_][A-Za-z0-9_]*)+$"
NEAR_MAX = 18  # layer types up to this long are suggested when one or two letters are off


def _tree(names: list[str], prefix: str = "") -> Schema:
    """Dispatch on ``type`` (``names`` sorted, all starting with ``prefix``): halve the names
    at a character, testing a short pattern (``^Conv[1-2]``) per level. About 9 tests per
    node; short patterns because a validator compiles each one and words a failed test with
    the pattern in its message."""
    if len(names) == 1:
        target = ref(f"layer.{canonical(names[0])}")
        return {"if": {"properties": {"type": {"pattern": exact(names)}}}, "then": target}
    common = _common_prefix(names)
    if common != prefix and len(common) > len(prefix):
        prefix = common
    at = len(prefix)
    # the character after the prefix ("" for a name that ends there), in sorted order
    chars = sorted({n[at : at + 1] for n in names})
    if len(chars) == 1:  # cannot happen: names are distinct and share only the prefix
        raise AssertionError(names)
    counts = [sum(1 for n in names if n[at : at + 1] == c) for c in chars]
    best, total, running = 1, len(names), 0
    for i, count in enumerate(counts[:-1]):  # the split nearest to half the names
        running += count
        if abs(2 * running - total) < abs(2 * sum(counts[:best]) - total):
            best = i + 1
    left = set(chars[:best])
    test = "^" + prefix + ("$" if left == {""} else _char_class(left - {""}, "" in left))
    return {
        "if": {"properties": {"type": {"pattern": test}}},
        "then": _tree([n for n in names if n[at : at + 1] in left], prefix),
        "else": _tree([n for n in names if n[at : at + 1] not in left], prefix),
    }


def _common_prefix(names: list[str]) -> str:
    first, last = names[0], names[-1]  # sorted: theirs is everyone's
    i = 0
    while i < min(len(first), len(last)) and first[i] == last[i]:
        i += 1
    return first[:i]


def _char_class(chars: set[str], or_end: bool) -> str:
    """``[A-Ca]`` for these characters; with ``or_end`` also the end of the name."""
    body = "[" + "".join(sorted(chars)) + "]"
    return f"(?:{body}|$)" if or_end else body


def layer_type() -> Schema:
    """The value of ``type``: completion lists every layer with its summary; a refused layer
    says why; a dotted name is a custom layer; an unknown one hears the closest name."""
    names = sorted(LAYERS)
    unknown = fail(
        "Unknown layer type: see docs/layers.md (a custom layer is module.ClassName, with "
        "its module under `imports:`)."
    )
    groups: dict[str, list[str]] = {}
    for n in names:
        groups.setdefault(n[0].lower(), []).append(n)
    cases: list[Schema] = []
    for letter, group in sorted(groups.items()):
        # another case first, then one or two letters off (long names are completed, not typed)
        tiers = [any_case(n) for n in group]
        tiers += [near(n) for n in group if n not in ALIASES and len(n) <= NEAR_MAX]
        targets = group + [n for n in group if n not in ALIASES and len(n) <= NEAR_MAX]
        chain = unknown
        for pattern, n in reversed(list(zip(tiers, targets, strict=True))):
            chain = {
                "if": {"pattern": pattern},
                "then": fail(f"Unknown layer type: did you mean {n}?", n),
                "else": chain,
            }
        cases.append({"if": {"pattern": f"^[{letter}{letter.upper()}]"}, "then": chain})
    initials = "".join(sorted(groups))
    cases.append({"if": {"not": {"pattern": f"^[{initials}{initials.upper()}]"}}, "then": unknown})
    chain = {
        "if": {"pattern": DOTTED},
        # a refused class stays refused whatever module names it (keras.layers.Lambda)
        "then": {
            "if": {"pattern": "\\.(?:" + "|".join(sorted(REFUSED)) + ")$"},
            "then": fail("This layer type is not available, whatever module it comes from."),
        },
        "else": {"allOf": cases},
    }
    for r in sorted(REFUSED, reverse=True):
        chain = {
            "if": {"pattern": exact([r])},
            "then": fail(f"{r} is not available: {REFUSED[r]}."),
            "else": chain,
        }
    return {
        "type": "string",
        "anyOf": [
            # what completion offers; never an error (the check is the if/else below)
            {"enum": names, "markdownEnumDescriptions": [LAYERS[n].doc for n in names]},
            {},
        ],
        "if": {"pattern": exact(names)},
        "else": chain,
    }


def dispatch() -> Schema:
    """Apply the arguments' schema of the node's ``type`` (nothing for a custom or unknown
    type: the type's own check reports that)."""
    return {
        "if": {"required": ["type"], "properties": {"type": {"type": "string"}}},
        "then": _tree(sorted(LAYERS)),
    }
