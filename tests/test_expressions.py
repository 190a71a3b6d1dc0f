"""The ``${...}`` expression language: grammar, whitelist, evaluation bounds, source output."""

from __future__ import annotations

import ast
import math
from typing import Any

import pytest
from timing import within

import kspec
from kspec.spec.expressions import (
    MAX_INT,
    MAX_LEN,
    Expr,
    ExprError,
    evaluate,
    is_expression,
    parse,
    parse_value,
    to_source,
)

ENV: dict[str, Any] = {
    "units": 256,
    "rate": 0.5,
    "act": "relu",
    "flag": True,
    "off": False,
    "none": None,
    "sizes": [3, 5],
    "depth": 3,
    "zero": 0,
}


def ev(source: str, env: dict[str, Any] | None = None) -> Any:
    return evaluate(parse(source), ENV if env is None else env)


def error(source: str, env: dict[str, Any] | None = None) -> ExprError:
    with pytest.raises(ExprError) as info:
        ev(source, env)
    return info.value


def parse_error(source: str) -> ExprError:
    """The error ``parse`` itself raises: nothing gets to be evaluated."""
    with pytest.raises(ExprError) as info:
        parse(source)
    return info.value


# -- the allowed grammar ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("1", 1),
        ("1.5", 1.5),
        ("'s'", "s"),
        ('"s"', "s"),
        ("True", True),
        ("None", None),
        ("units", 256),
        ("units + 1", 257),
        ("units - 6", 250),
        ("units * 2", 512),
        ("units / 4", 64.0),
        ("units // 3", 85),
        ("units % 3", 1),
        ("2 ** 10", 1024),
        ("2 ** -1", 0.5),
        ("-units", -256),
        ("+units", 256),
        ("-(units // 4)", -64),
        ("(units + 4) * 2", 520),
        ("units + 4 * 2", 264),
        ("-2 ** 2", -4),
        ("2 ** 3 ** 2", 512),
        ("units == 256", True),
        ("units != 256", False),
        ("units < 300", True),
        ("units <= 256", True),
        ("units > 256", False),
        ("units >= 257", False),
        ("1 < depth <= 3", True),
        ("1 < depth < 3", False),
        ("act == 'relu'", True),
        ("flag and units", 256),
        ("off and units", False),
        ("off or units", 256),
        ("flag or units", True),
        ("not flag", False),
        ("not zero", True),
        ("units if flag else 0", 256),
        ("units if off else 0", 0),
        ("'a' if off else 'b' if flag else 'c'", "b"),
        ("[1, 2, 3]", [1, 2, 3]),
        ("[units, units // 2]", [256, 128]),
        ("[]", []),
        ("[[1, 2], [3]]", [[1, 2], [3]]),
        ("sizes + [7]", [3, 5, 7]),
        ("[0] * 3", [0, 0, 0]),
        ("act + '_x'", "relu_x"),
        ("min(units, 100)", 100),
        ("max(sizes)", 5),
        ("max(1, 2, 3)", 3),
        ("abs(-3)", 3),
        ("int(rate * 10)", 5),
        ("int('12')", 12),
        ("float(units)", 256.0),
        ("round(2.567, 2)", 2.57),
        ("round(rate * 7)", 4),
        ("len(sizes)", 2),
        ("len(act)", 4),
        ("min(max(units // 4, 8), 32)", 32),
        ("none", None),
        ("  units  ", 256),
    ],
)
def test_evaluate(source: str, expected: Any) -> None:
    got = ev(source)
    assert got == expected
    assert type(got) is type(expected)


def test_true_division_gives_a_float() -> None:
    assert isinstance(ev("units / 4"), float)
    assert isinstance(ev("units // 4"), int)


def test_names_are_the_params_used() -> None:
    e = parse("min(units, depth) + len(sizes) if flag else max(1, 2)")
    assert e.names == frozenset({"units", "depth", "sizes", "flag"})
    assert parse("1 + 2").names == frozenset()


def test_short_circuit_does_not_evaluate_the_other_side() -> None:
    # the right-hand sides would fail (unknown name, division by zero) if evaluated
    assert ev("off and missing") is False
    assert ev("flag or 1 // zero") is True
    assert ev("0 if flag else 1 // zero") == 0


def test_params_named_like_python_keywords() -> None:
    env = {"lambda": 0.01, "class": 3}
    assert evaluate(parse("lambda * 2"), env) == 0.02
    assert evaluate(parse_value("$class"), env) == 3  # type: ignore[arg-type]
    assert parse("class + 1").names == frozenset({"class"})


# -- $name, ${...} and $$ ---------------------------------------------------------------------


def test_dollar_name_shorthand() -> None:
    e = parse_value("$units")
    assert isinstance(e, Expr)
    assert e.source == "units"
    assert evaluate(e, ENV) == 256


def test_braced_expression() -> None:
    e = parse_value("${units // 4}")
    assert isinstance(e, Expr)
    assert evaluate(e, ENV) == 64
    assert repr(e) == "${units // 4}"


@pytest.mark.parametrize(
    ("text", "literal"),
    [("$$", "$"), ("$$units", "$units"), ("$${units}", "${units}"), ("$$5", "$5")],
)
def test_double_dollar_is_a_literal(text: str, literal: str) -> None:
    assert parse_value(text) == literal
    assert not is_expression(text)


@pytest.mark.parametrize("text", ["units", "relu", "a$b", "price: $5", "", "{units}"])
def test_plain_strings_stay_strings(text: str) -> None:
    assert parse_value(text) == text
    assert not is_expression(text)


@pytest.mark.parametrize("text", ["$units", "${units}", "${ 1 + 2 }", "$x"])
def test_is_expression(text: str) -> None:
    assert is_expression(text)
    assert not is_expression(123)


@pytest.mark.parametrize(
    "text",
    ["$", "$5", "$units.x", "$units + 1", "${units", "${units}0", "${units} ", "${a}${b}"],
)
def test_malformed_dollar_values(text: str) -> None:
    with pytest.raises(ExprError) as info:
        parse_value(text)
    assert info.value.code == "KS301"


@pytest.mark.parametrize("source", ["units //", "(units", "units +* 2", "1 2", "x if y", ""])
def test_syntax_errors(source: str) -> None:
    assert parse_error(source).code == "KS301"


def test_empty_expression() -> None:
    with pytest.raises(ExprError) as info:
        parse_value("${}")
    assert info.value.code == "KS301"
    with pytest.raises(ExprError) as info:
        parse_value("${   }")
    assert info.value.code == "KS301"


def test_overlong_expression() -> None:
    assert parse_error("1 + " * 400 + "1").code == "KS301"


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("(" * 150 + "1" + ")" * 150, id="parens-150"),
        pytest.param("(" * 490 + "1" + ")" * 490, id="parens-490"),
        pytest.param("[" * 150 + "]" * 150, id="lists-150"),
        pytest.param("-" * 300 + "1", id="unary-300"),
    ],
)
def test_nested_expressions_parse_or_fail_cleanly(source: str) -> None:
    try:
        e = parse(source)
    except ExprError as exc:
        assert exc.code == "KS301"
        return
    evaluate(e, {})


def test_deep_unary_chain_is_a_diagnostic() -> None:
    with pytest.raises(ExprError):
        evaluate(parse("-" * 990 + "4"), {})


def test_long_sum_either_refused_or_emitted() -> None:
    source = "u" + "+u" * 400
    try:
        e = parse(source)
    except ExprError as exc:
        assert exc.code == "KS301"
        return
    assert evaluate(e, {"u": 1}) == 401
    assert to_source(e, {}).count("u") == 401


# -- what is refused (KS302), before anything is evaluated -------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("units.__class__", id="attribute-dunder"),
        pytest.param("act.upper()", id="method-call"),
        pytest.param("units.real", id="attribute"),
        pytest.param("sizes[0]", id="subscript"),
        pytest.param("sizes[0:1]", id="slice"),
        pytest.param("{'a': 1}", id="dict"),
        pytest.param("{1, 2}", id="set"),
        pytest.param("(1, 2)", id="tuple"),
        pytest.param("1, 2", id="bare-tuple"),
        pytest.param("f'{units}'", id="f-string"),
        pytest.param("(x := 2)", id="walrus"),
        pytest.param("open('/etc/passwd')", id="call-open"),
        pytest.param("__import__('os')", id="call-import"),
        pytest.param("__import__('os').system('true')", id="import-system"),
        pytest.param("eval('1')", id="call-eval"),
        pytest.param("exec('1')", id="call-exec"),
        pytest.param("getattr(units, 'real')", id="call-getattr"),
        pytest.param("type(units)", id="call-type"),
        pytest.param("print(1)", id="call-print"),
        pytest.param("units(1)", id="call-param"),
        pytest.param("min(*sizes)", id="starred-arg"),
        pytest.param("max(sizes, key=abs)", id="keyword-arg"),
        pytest.param("[*sizes]", id="starred-list"),
        pytest.param("__builtins__", id="dunder-builtins"),
        pytest.param("__class__", id="dunder-class"),
        pytest.param("__x", id="dunder-prefix"),
        pytest.param("...", id="ellipsis"),
        pytest.param("b'x'", id="bytes"),
        pytest.param("1j", id="complex-literal"),
        pytest.param("~units", id="invert"),
        pytest.param("units << 100000", id="shift"),
        pytest.param("units | 1", id="bitor"),
        pytest.param("units & 1", id="bitand"),
        pytest.param("units ^ 1", id="xor"),
        pytest.param("units @ units", id="matmul"),
    ],
)
def test_not_allowed(source: str) -> None:
    err = parse_error(source)
    assert err.code == "KS302", err.message
    assert "not allowed" in err.message


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("lambda x: x", id="lambda"),
        pytest.param("(lambda: 0)()", id="lambda-call"),
        pytest.param("[x for x in sizes]", id="list-comprehension"),
        pytest.param("(x for x in sizes)", id="generator"),
        pytest.param("{x for x in sizes}", id="set-comprehension"),
        pytest.param("{x: 1 for x in sizes}", id="dict-comprehension"),
        pytest.param("3 in sizes", id="in"),
        pytest.param("none is None", id="is"),
    ],
)
def test_not_allowed_keyword_constructs(source: str) -> None:
    err = parse_error(source)
    assert err.code == "KS302", err.message


@pytest.mark.parametrize(
    "source",
    ["lambda x: x", "[x for x in sizes]", "{x: 1 for x in sizes}", "3 in sizes", "none is None"],
)
def test_keyword_constructs_are_refused_somehow(source: str) -> None:
    """Whatever the code, lambda and comprehensions never get to be evaluated."""
    assert parse_error(source).code in ("KS301", "KS302")


def test_refused_before_evaluation() -> None:
    """parse() alone rejects: the evaluator never sees the construct, whatever the env."""
    with pytest.raises(ExprError):
        parse_value("${__import__('os').system('touch /tmp/kspec_pwned')}")


def test_whitelisted_functions_only_by_name() -> None:
    assert ev("min(1, 2)") == 1
    # a param called like a function is still a param when not called ...
    assert evaluate(parse("min + 1"), {"min": 4}) == 5
    # ... and the call still means the function
    assert evaluate(parse("min(min, 3)"), {"min": 4}) == 3


# -- unknown names (KS303) --------------------------------------------------------------------


def test_unknown_name() -> None:
    err = error("unit * 2")
    assert err.code == "KS303"
    assert "'unit'" in err.message


def test_unknown_name_in_a_branch_that_runs() -> None:
    assert error("missing if flag else 0").code == "KS303"


def test_true_is_not_a_yaml_boolean_in_expressions() -> None:
    """Python's True/False, not YAML's true/false: `true` is a (missing) param."""
    assert error("1 if true else 0").code == "KS303"


def test_function_name_without_call_is_a_param_name() -> None:
    assert error("len").code == "KS303"


# -- evaluation failures and bounds (KS304) -----------------------------------------------------


@pytest.mark.parametrize(
    "source",
    ["units / 0", "units // zero", "units % 0", "1.0 // 0", "0 ** -1", "rate / zero"],
)
def test_division_by_zero(source: str) -> None:
    err = error(source)
    assert err.code == "KS304"
    assert "zero" in err.message


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("10 ** 100", id="huge-power"),
        pytest.param("10 ** 10 ** 10", id="tower"),
        pytest.param("9 ** 9 ** 9", id="tower-9"),
        pytest.param("2.0 ** 1000", id="float-power"),
        pytest.param("2 ** 64", id="over-max-int"),
        pytest.param("(2 ** 62) ** 2", id="square"),
        pytest.param("units * 2 ** 60", id="product"),
        pytest.param("-(2 ** 63) - 1", id="negative"),
        pytest.param("int(1e300)", id="int-of-huge-float"),
        pytest.param("round(1e300)", id="round-of-huge-float"),
        pytest.param("[0] * 10 ** 9", id="list-repetition"),
        pytest.param("10 ** 9 * [0]", id="list-repetition-left"),
        pytest.param("[0] * 5000 * 3", id="list-repetition-twice"),
        pytest.param("'ab' * 6000", id="string-repetition"),
        pytest.param("act * 10 ** 6", id="param-string-repetition"),
    ],
)
def test_bounds(source: str) -> None:
    """Refused before any big value is built: within one reference workload (tests/timing.py;
    bench/bounds.md has the measured ratios)."""
    err = within(lambda: error(source), 1, f"evaluating {source}")
    assert err.code == "KS304", err.message


def test_bounds_are_inclusive() -> None:
    assert ev("2 ** 63") == MAX_INT
    assert ev("-(2 ** 63)") == -MAX_INT
    assert len(ev("[0] * 10000")) == MAX_LEN


def test_bounds_on_values_from_params() -> None:
    assert error("x + x", {"x": "a" * 6000}).code == "KS304"
    assert error("x * x", {"x": 2**40}).code == "KS304"


def test_bounds_count_nested_lists() -> None:
    assert error("[[0] * 10000] * 10000").code == "KS304"


def test_complex_results_refused() -> None:
    assert error("(-1) ** 0.5").code == "KS304"


@pytest.mark.parametrize(
    "source",
    ["max([])", "min()", "len(5)", "abs('x')", "int('x')", "'a' + 1", "[1] < 2", "-act"],
)
def test_type_and_value_errors(source: str) -> None:
    assert error(source).code == "KS304"


def test_non_finite_results_are_errors_in_a_spec() -> None:
    """evaluate() may return inf or nan (they are floats); the resolver refuses them."""
    assert math.isinf(ev("1e308 * 10"))
    assert math.isnan(ev("float('nan')"))
    for source in ("1e308 * 10", "float('nan')", "float('-inf')"):
        text = (
            "kspec: 1\nname: demo\ninputs:\n  x: {shape: [8]}\nlayers:\n"
            f'  - {{name: d, type: Dropout, rate: "${{{source}}}"}}\noutputs: d\n'
        )
        diags = kspec.check_text(text)
        assert [(d.code, d.line) for d in diags] == [("KS304", 6)], source


# -- to_source ----------------------------------------------------------------------------------

ROUND_TRIP = [
    "units // 4",
    "units / 4",
    "(units + 4) * 2",
    "units + 4 * 2",
    "-units ** 2",
    "(-units) ** 2",
    "2 ** 3 ** 2",
    "(2 ** 3) ** 2",
    "units - (depth - 1)",
    "units - depth - 1",
    "1 < depth <= 3",
    "not flag and off or units",
    "not (flag and off)",
    "units if flag else depth if off else 0",
    "(units if flag else depth) + 1",
    "[units, [depth, 2]] + sizes",
    "min(units, max(depth, 2)) + abs(-1) + int(rate) + float(1) + round(rate) + len(sizes)",
    "act + '\\n\"\\'' + 'x'",
    "'a' if act == 'relu' else 'b'",
]


@pytest.mark.parametrize("source", ROUND_TRIP)
def test_to_source_round_trips_through_ast(source: str) -> None:
    e = parse(source)
    out = to_source(e, {})
    tree = ast.parse(out, mode="eval")
    assert ast.dump(tree) == ast.dump(e.tree)
    again = parse(out)
    assert to_source(again, {}) == out
    assert evaluate(again, ENV) == evaluate(e, ENV)


RENAME = {"units": "units_", "class": "class_", "lambda": "lambda_", "min": "min_"}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("units // 4", "units_ // 4"),
        ("class * 2", "class_ * 2"),
        ("lambda + 1 if lambda > 0 else -lambda", "lambda_ + 1 if lambda_ > 0 else -lambda_"),
        ("min(min, units)", "min(min_, units_)"),
        ("[units, depth]", "[units_, depth]"),
        ("max(units // 2, 8)", "max(units_ // 2, 8)"),
        ("'units'", "'units'"),
    ],
)
def test_to_source_renames_params(source: str, expected: str) -> None:
    e = parse(source)
    out = to_source(e, RENAME)
    assert out == expected
    tree = ast.parse(out, mode="eval")  # valid Python, keywords renamed away
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    assert not names & {"class", "lambda"}


def test_renamed_source_evaluates_the_same() -> None:
    e = parse("class * 2 + units // 4")
    out = to_source(e, RENAME)
    env = {"class": 3, "units": 256}
    renamed_env = {RENAME.get(k, k): v for k, v in env.items()}
    assert evaluate(parse(out), renamed_env) == evaluate(e, env) == 70


def test_to_source_does_not_change_the_expression() -> None:
    e = parse("units // 4")
    to_source(e, {"units": "other"})
    assert to_source(e, {}) == "units // 4"
    assert evaluate(e, ENV) == 64


def test_to_source_never_contains_spec_code() -> None:
    """A string stays a string literal in the output, whatever it contains."""
    e = parse("'); import os; os.system(\"x\") #'")
    out = to_source(e, {})
    tree = ast.parse(out, mode="eval")
    assert isinstance(tree.body, ast.Constant)
    assert tree.body.value == '); import os; os.system("x") #'
