"""The ``${...}`` expression language: parsed with ``ast``, checked against a whitelist,
evaluated by a small tree walker (never ``eval``), and emitted back as Python source.

Allowed: numbers, strings, booleans, null, param names, ``+ - * / // % **``, unary ``-``/``+``,
comparisons, ``and or not``, ``x if c else y``, list literals, and the functions
``min max abs int float round len``. Results are bounded (no ``10 ** 10 ** 10``, no
``[0] * 10 ** 9``) so a hostile spec cannot exhaust memory or time.
"""

from __future__ import annotations

import ast
import io
import keyword
import operator
import re
import tokenize
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

MAX_SOURCE = 1000
MAX_DEPTH = 64
MAX_INT = 2**63
MAX_LEN = 10_000

FUNCTIONS: dict[str, Callable[..., Any]] = {
    "min": min,
    "max": max,
    "abs": abs,
    "int": int,
    "float": float,
    "round": round,
    "len": len,
}

_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_CMPOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class ExprError(Exception):
    """A problem with an expression: ``code`` is KS301 (syntax), KS302 (not allowed),
    KS303 (unknown name) or KS304 (evaluation failed)."""

    def __init__(self, code: str, message: str, hint: str | None = None):
        super().__init__(message)
        self.code, self.message, self.hint = code, message, hint


@dataclass(frozen=True, eq=False)
class Expr:
    """A parsed, whitelisted expression. ``source`` is the text inside ``${...}``.

    ``aliases`` maps stand-in identifiers to params named like Python keywords (``lambda``),
    which Python itself could not parse as names.
    """

    source: str
    tree: ast.Expression
    names: frozenset[str]
    aliases: tuple[tuple[str, str], ...] = ()

    def param(self, identifier: str) -> str:
        """The param an identifier in ``tree`` stands for."""
        return dict(self.aliases).get(identifier, identifier)

    def __repr__(self) -> str:
        return f"${{{self.source}}}"


def is_expression(value: object) -> bool:
    """Whether a YAML string is written as an expression (``$name`` or ``${...}``)."""
    return isinstance(value, str) and value.startswith("$") and not value.startswith("$$")


def parse_value(text: str) -> Expr | str:
    """Turn a YAML string into an :class:`Expr`, or the literal string it stands for."""
    if text.startswith("$$"):
        return text[1:]
    if not text.startswith("$"):
        return text
    if text.startswith("${"):
        if not text.endswith("}"):
            raise ExprError(
                "KS301",
                f"expression {_short(text)} is not closed, or is only part of the value",
                "an expression is the whole value: ${...}; for a literal '$' write '$$'",
            )
        source = text[2:-1]
    else:
        source = text[1:]
        if not _NAME.match(source):
            raise ExprError(
                "KS301",
                f"{_short(text)} is neither $name nor ${{...}}",
                "write ${...} around an expression, or '$$' for a literal '$'",
            )
    return parse(source)


def parse(source: str) -> Expr:
    """Parse and whitelist-check ``source`` (the text inside ``${...}``)."""
    if len(source) > MAX_SOURCE:
        raise ExprError("KS301", f"expression is longer than {MAX_SOURCE} characters")
    if not source.strip():
        raise ExprError("KS301", "empty expression ${}")
    aliases: dict[str, str] = {}
    try:
        try:
            tree = ast.parse(source.strip(), mode="eval")
        except SyntaxError as exc:
            # A param may be named like a keyword (`lambda`): read it as a name, if that parses.
            text, aliases = _alias_keywords(source.strip())
            if not aliases:
                raise
            try:
                tree = ast.parse(text, mode="eval")
            except SyntaxError:
                raise exc from None
    except SyntaxError as exc:
        raise ExprError("KS301", f"invalid expression ${{{_short(source)}}}: {exc.msg}") from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise ExprError("KS301", f"invalid expression: {exc}") from None
    if _depth(tree) > MAX_DEPTH:
        raise ExprError(
            "KS301",
            f"expression is nested more than {MAX_DEPTH} levels deep",
            "split it, or compute the value in a param",
        )
    for node in ast.walk(tree):
        _check_node(node)
    calls = {n.func for n in ast.walk(tree) if isinstance(n, ast.Call)}
    names = {
        aliases.get(n.id, n.id)
        for n in ast.walk(tree)
        if isinstance(n, ast.Name) and n not in calls
    }
    return Expr(source.strip(), tree, frozenset(names), tuple(aliases.items()))


def _depth(tree: ast.AST) -> int:
    """The nesting depth of ``tree``, iteratively (evaluating and emitting recurse)."""
    deepest = 0
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > MAX_DEPTH:
            break
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


# Keywords the expression language itself uses; any other keyword is a param's name.
_OPERATOR_KEYWORDS = frozenset({"and", "or", "not", "if", "else", "True", "False", "None"})
_ALIAS = "kspec_kw_"


def _alias_keywords(source: str) -> tuple[str, dict[str, str]]:
    """Replace keywords used as param names (``lambda``, ``class``) by stand-ins."""
    if not any(k in source for k in keyword.kwlist if k not in _OPERATOR_KEYWORDS):
        return source, {}
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return source, {}
    aliases: dict[str, str] = {}
    out = []
    for tok in tokens:
        if (
            tok.type == tokenize.NAME
            and keyword.iskeyword(tok.string)
            and tok.string not in _OPERATOR_KEYWORDS
        ):
            alias = _ALIAS + tok.string
            aliases[alias] = tok.string
            tok = tok._replace(string=alias)
        out.append(tok)
    return tokenize.untokenize(out), aliases


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


_ALLOWED = (
    ast.Expression, ast.Constant, ast.Name, ast.Load, ast.BinOp, ast.UnaryOp, ast.BoolOp,
    ast.Compare, ast.IfExp, ast.List, ast.Call, ast.And, ast.Or, ast.Not, ast.USub, ast.UAdd,
    *_BINOPS, *_CMPOPS,
)  # fmt: skip


def _check_node(node: ast.AST) -> None:
    if not isinstance(node, _ALLOWED):
        what = {
            ast.Attribute: "attribute access", ast.Subscript: "subscripts", ast.Lambda: "lambda",
            ast.ListComp: "comprehensions", ast.GeneratorExp: "comprehensions",
            ast.Dict: "dict literals", ast.Tuple: "tuples (use a list)", ast.Set: "set literals",
            ast.JoinedStr: "f-strings", ast.NamedExpr: "assignment expressions",
        }.get(type(node), type(node).__name__)  # fmt: skip
        raise ExprError(
            "KS302",
            f"{what} not allowed in expressions",
            "expressions may use params, numbers, strings, + - * / // % **, comparisons, "
            "and/or/not, x if c else y, lists and min max abs int float round len",
        )
    if isinstance(node, ast.Constant) and not isinstance(node.value, int | float | str | None):
        raise ExprError("KS302", f"constant {node.value!r} not allowed in expressions")
    if isinstance(node, ast.Call):
        func = node.func
        if not (isinstance(func, ast.Name) and func.id in FUNCTIONS):
            called = f"{func.id!r}" if isinstance(func, ast.Name) else "methods or attributes"
            raise ExprError(
                "KS302",
                f"calling {called} is not allowed in expressions",
                "the functions available are " + ", ".join(FUNCTIONS),
            )
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            raise ExprError("KS302", "keyword or * arguments are not allowed in expressions")
    if isinstance(node, ast.Name) and node.id.startswith("__"):
        raise ExprError("KS302", f"name {node.id!r} is not allowed in expressions")


def evaluate(expr: Expr, env: Mapping[str, Any]) -> Any:
    """Evaluate ``expr`` with ``env`` (param values). Raises :class:`ExprError`."""
    try:
        return _eval(expr.tree.body, env, dict(expr.aliases))
    except ExprError:
        raise
    except ZeroDivisionError:
        raise ExprError("KS304", f"${{{expr.source}}} divides by zero") from None
    except (TypeError, ValueError, OverflowError) as exc:
        raise ExprError("KS304", f"${{{expr.source}}} cannot be evaluated: {exc}") from None


def _size(value: Any) -> int:
    """How many elements (or characters) a value holds, nested lists included."""
    if isinstance(value, list):
        return len(value) + sum(_size(v) for v in value if isinstance(v, list))
    return len(value) if isinstance(value, str) else 1


def _bounded(value: Any) -> Any:
    if isinstance(value, complex):
        raise ExprError("KS304", "expression result is a complex number")
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
        raise ExprError("KS304", f"expression result exceeds {MAX_INT} in magnitude")
    if isinstance(value, str | list) and _size(value) > MAX_LEN:
        raise ExprError("KS304", f"expression result is larger than {MAX_LEN} elements")
    return value


def _eval(node: ast.AST, env: Mapping[str, Any], aliases: Mapping[str, str]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        name = aliases.get(node.id, node.id)
        if name not in env:
            raise ExprError("KS303", f"unknown param {name!r} in expression")
        return env[name]
    if isinstance(node, ast.BinOp):
        left, right = _eval(node.left, env, aliases), _eval(node.right, env, aliases)
        if isinstance(node.op, ast.Pow) and isinstance(right, int | float) and abs(right) > 64:
            raise ExprError("KS304", "exponent larger than 64 in expression")
        if isinstance(node.op, ast.Mult):
            for seq, n in ((left, right), (right, left)):
                if isinstance(seq, str | list) and isinstance(n, int) and _size(seq) * n > MAX_LEN:
                    raise ExprError("KS304", f"expression result is larger than {MAX_LEN} elements")
        return _bounded(_BINOPS[type(node.op)](left, right))
    if isinstance(node, ast.UnaryOp):
        operand = _eval(node.operand, env, aliases)
        if isinstance(node.op, ast.Not):
            return not operand
        return _bounded(-operand if isinstance(node.op, ast.USub) else +operand)
    if isinstance(node, ast.BoolOp):
        result = None
        for value_node in node.values:
            result = _eval(value_node, env, aliases)
            if isinstance(node.op, ast.And) and not result:
                return result
            if isinstance(node.op, ast.Or) and result:
                return result
        return result
    if isinstance(node, ast.Compare):
        left = _eval(node.left, env, aliases)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = _eval(comparator, env, aliases)
            if not _CMPOPS[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.IfExp):
        return _eval(node.body if _eval(node.test, env, aliases) else node.orelse, env, aliases)
    if isinstance(node, ast.List):
        return _bounded([_eval(e, env, aliases) for e in node.elts])
    if isinstance(node, ast.Call):
        assert isinstance(node.func, ast.Name)
        return _bounded(FUNCTIONS[node.func.id](*[_eval(a, env, aliases) for a in node.args]))
    raise ExprError("KS302", f"{type(node).__name__} not allowed in expressions")  # unreachable


def to_source(expr: Expr, rename: Mapping[str, str]) -> str:
    """Python source for ``expr`` with param names replaced by ``rename`` (their identifiers)."""

    class _Rename(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.AST:
            param = expr.param(node.id)
            return ast.copy_location(ast.Name(id=rename.get(param, param), ctx=node.ctx), node)

        def visit_Call(self, node: ast.Call) -> ast.AST:
            node.args = [self.visit(a) for a in node.args]
            return node

    import copy

    tree = _Rename().visit(copy.deepcopy(expr.tree))
    return ast.unparse(tree)
