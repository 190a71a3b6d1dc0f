"""Closed mappings for the published schema: unknown keys and names with a "did you mean".

An editor shows a JSON Schema validator's messages as they are. With ``additionalProperties:
false`` and ``required``, a typo such as ``unit: 64`` on a Dense gives two of them ("Missing
property units", "Property unit is not allowed") and no suggestion. Here a mapping's keys are
checked with ``propertyNames`` instead: a known key passes; an unknown one is compared with
each known key in turn (a regular expression that matches the words one or two edits away) and
fails with "did you mean `units`?" for the first close one, or with a list-free message naming
the mapping when none is close. A required key is required only when no key is close to it,
so the typo gives one diagnostic, at the key. yaml-language-server's ``errorMessage`` keyword
words the failures; other validators ignore it and reach the same verdicts.

The near-word patterns are shared ``$defs`` (``near.<word>``), one per distinct word.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from kspec.schemas.types import Schema

MIN_NEAR = 4  # shorter words are suggested only for a swap of two letters or another case


def ref(name: str) -> Schema:
    return {"$ref": f"#/$defs/{name}"}


def exact(words: Iterable[str]) -> str:
    """A pattern matching exactly one of ``words`` (identifiers: nothing to escape). A pattern
    rather than ``enum``: yaml-language-server compares enums and consts by prefix while it
    completes, so ``Conv2D`` would also select ``Conv2DTranspose``."""
    return "^(?:" + "|".join(words) + ")$"


def fail(message: str, *suggestions: str) -> Schema:
    """A schema every value outside ``suggestions`` fails, with ``message`` (an editor offers
    the suggestions as quick fixes)."""
    return {"enum": list(suggestions), "errorMessage": message}


def any_case(word: str) -> str:
    """A pattern for ``word`` in any letters' case (``dense``, ``conv2d``)."""
    return "^" + "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in word) + "$"


def near(word: str) -> str:
    """A pattern for the words close to ``word``: two neighbouring letters replaced by up to
    two (or three, in a longer word) letters, which covers a letter replaced, dropped, added
    or swapped with its neighbour (``Dnse``, ``unit``, ``untis``, ``activaton``). Fixed text
    around one bounded gap per alternative: no backtracking beyond a few steps."""
    n = len(word)
    if n < MIN_NEAR:
        swaps = [word[:i] + word[i + 1] + word[i] + word[i + 2 :] for i in range(n - 1)]
        return "^(?:" + "|".join(dict.fromkeys([word, *swaps])) + ")$"
    gap = ".{0,2}" if n <= 6 else ".{0,3}"
    alternatives = [word[:i] + gap + word[i + 2 :] for i in range(n - 1)]
    return "^(?:" + "|".join(dict.fromkeys(alternatives)) + ")$"


def near_defs(words: Iterable[str]) -> dict[str, Schema]:
    """The shared definitions for ``words``: ``near.<word>`` (the close words) and
    ``hint.<word>`` (the failure that suggests ``word``)."""
    out: dict[str, Schema] = {}
    for w in sorted(set(words)):
        out[f"near.{w}"] = {"pattern": near(w)}
        out[f"hint.{w}"] = fail(f"Unknown key: did you mean `{w}`?", w)
    return out


def key_check(keys_def: str, order: Sequence[str], tail: str | None = None) -> Schema:
    """``propertyNames`` of a closed mapping whose keys are the ``keys_def`` enum: an unknown
    key is told the first of ``order`` close to it; then ``tail`` (a shared check of keys
    many mappings have) or the enum's own message."""
    chain: Schema = ref(tail or keys_def)
    for key in reversed(order):
        chain = {"if": ref(f"near.{key}"), "then": ref(f"hint.{key}"), "else": chain}
    # doNotSuggest: yaml-language-server would offer a "property" placeholder for it
    return {"doNotSuggest": True, "if": ref(keys_def), "else": chain}


def required_guard(key: str) -> Schema:
    """``key`` is required unless a key close to it is there (then that key's "did you mean"
    says it all). The cheap test first: most mappings have the key."""
    return {
        "if": {"required": [key]},
        "else": {
            "if": {"propertyNames": {"not": ref(f"near.{key}")}},
            "then": {"required": [key]},
        },
    }


def closed(
    keys_def: str,
    properties: dict[str, Schema],
    required: Sequence[str] = (),
    tail: tuple[str, Sequence[str]] | None = None,
) -> Schema:
    """A mapping with exactly the keys of the ``keys_def`` enum (see :func:`keys_def`):
    ``properties``, of which ``required`` must be there; ``tail``: the name of a shared check
    and the keys it suggests (declared by whoever uses this mapping, not suggested here)."""
    shared = tail[1] if tail else ()
    order = [*required, *(k for k in properties if k not in required and k not in shared)]
    out: Schema = {
        "type": "object",
        "properties": properties,
        "propertyNames": key_check(keys_def, order, tail[0] if tail else None),
    }
    if required:
        out["allOf"] = [required_guard(k) for k in required]
    return out


def keys_def(what: str, keys: Iterable[str]) -> Schema:
    """The enum of a closed mapping's keys, referenced by :func:`key_check`, whose failure
    says that ``what`` has no such key (the editor lists the keys as quick fixes). Referenced
    bare: yaml-language-server moves the siblings of a ``$ref`` into an ``allOf``, where an
    ``errorMessage`` would no longer word the enum's failure."""
    return {
        "enum": list(dict.fromkeys(keys)),
        "errorMessage": f"Unknown key: {what} has no such key (the quick fixes list its keys).",
    }


def tail_def(what: str, order: Sequence[str]) -> Schema:
    """A shared end of key checks: suggest one of ``order``, else say ``what`` has no such
    key (without a list: the mappings that share it differ)."""
    chain: Schema = fail(f"Unknown key: {what} has no such key (completion lists its keys).")
    for key in reversed(order):
        chain = {"if": ref(f"near.{key}"), "then": ref(f"hint.{key}"), "else": chain}
    return chain
