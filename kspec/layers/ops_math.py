"""Tensor ops, element by element: arithmetic and comparisons (either operand may be a number),
activations and math functions, ``where``, ``cast``, ``clip``, and the reductions.

An op node is ``{name: s, op: multiply, inputs: [x], x2: 0.5}``: ``op`` names the ``keras.ops``
function, its tensor parameters take references through ``inputs`` (in parameter order, or a
mapping by parameter name) or, where an operand may be a number, a constant (``x2: 0.5``), and its
other parameters are constants (or expressions). Both targets emit the call itself:
``tf.keras.ops.multiply(x, 0.5)``. Ops have no weights. Shapes include the batch axis (an op sees
the whole tensor): ``axis: 0`` is the batch axis. The static rules follow keras/src/ops/
(``compute_output_spec``); the ops that reshape, join, index and multiply matrices are in
``ops_shape.py``.
"""

from __future__ import annotations

from collections.abc import Sequence

from kspec.layers.args import PAIR, SEQ, VEC
from kspec.layers.base import (
    Call,
    Example,
    Op,
    Shape,
    ShapeError,
    Shapes,
    Unknown,
    axis_index,
    format_shape,
    is_int,
    is_shape,
    register_ops,
)
from kspec.schemas.types import (
    BOOL,
    DTYPE,
    INT,
    NUMBER,
    POS_INT,
    POS_NUMBER,
    Schema,
    arg,
    list_of,
    nullable,
)

# A constant operand: a number, a boolean, or a (nested) list of numbers.
OPERAND: Schema = {"anyOf": [NUMBER, BOOL, {"type": "array"}]}
AXES: Schema = {"anyOf": [{"type": "null"}, INT, list_of(INT, 1)]}


def operands(c: Call) -> list[tuple[str, Shape]]:
    """Each tensor parameter's shape (a constant's too: () for a number), in order."""
    out = []
    for name, x in c.inputs.items():
        if not is_shape(x):
            raise Unknown
        out.append((name, x))
    return out


def tensor(c: Call, name: str = "x") -> Shape:
    x = c.inputs.get(name)
    if not is_shape(x):
        raise Unknown
    return x


def broadcast(t: str, named: Sequence[tuple[str, Shape]]) -> Shape:
    """NumPy broadcasting of the operands' shapes, as Keras' ``broadcast_shapes`` does it (an
    unknown size against a known one gives the known one)."""
    out: list[int | None] = []
    rank = max(len(s) for _, s in named)
    for k in range(1, rank + 1):
        size: int | None = 1
        for _, s in named:
            d = s[-k] if k <= len(s) else 1
            if d == 1:
                continue
            if size == 1 or size is None:
                size = d if d is not None or size == 1 else None
            elif d is not None and d != size:
                shown = " and ".join(f"{n} {format_shape(s)}" for n, s in named)
                raise ShapeError(
                    "KS401",
                    f"{t} cannot broadcast {shown}: sizes {size} and {d} on axis -{k}",
                    "operands must have equal sizes on each axis (counted from the last), or "
                    "size 1 to broadcast; reshape or project one of them",
                )
        out.append(size)
    return tuple(reversed(out))


def _elementwise(c: Call) -> Shapes:
    return [broadcast(c.type, operands(c))]


def _same(c: Call) -> Shapes:
    return [tensor(c)]


def axes_of(c: Call, rank: int, key: str = "axis") -> list[int] | None:
    """The ``axis`` argument as indexes (None: every axis)."""
    raw = c.arg(key)
    if raw is None:
        return None
    axes = raw if isinstance(raw, list) else [raw]
    if not all(is_int(a) for a in axes):
        raise Unknown
    return sorted({axis_index(a, rank, c.type, (None,) * rank) for a in axes})


def _reduce(c: Call) -> Shapes:
    x = tensor(c)
    axes = axes_of(c, len(x))
    keep = c.arg("keepdims", False)
    if not isinstance(keep, bool):
        raise Unknown
    if axes is None:
        return [(1,) * len(x) if keep else ()]
    if keep:
        return [tuple(1 if i in axes else d for i, d in enumerate(x))]
    return [tuple(d for i, d in enumerate(x) if i not in axes)]


def _binary(name: str, doc: str) -> Op:
    """An element-wise op of two operands, either of which may be a constant."""
    return Op(
        name,
        doc,
        params=("x1", "x2"),
        tensors=("x1", "x2"),
        constants=("x1", "x2"),
        args={
            "x1": arg(OPERAND, "The first operand, when it is a constant (a number)."),
            "x2": arg(OPERAND, "The second operand, when it is a constant (a number)."),
        },
        shape=_elementwise,
        example=Example(PAIR, node_inputs=["a", "b"]),
    )


def _unary(name: str, doc: str, args: dict[str, Schema] | None = None) -> Op:
    """An element-wise op of one tensor (activations, math functions)."""
    params = ("x", *(args or {}))
    return Op(
        name,
        doc,
        params=params,
        tensors=("x",),
        args=args or {},
        shape=_same,
        example=Example(VEC),
    )


_EXTRA: dict[str, dict[str, Schema]] = {
    "max": {
        "initial": arg(nullable(NUMBER), "The smallest value the maximum may be (default: null).")
    },
    "min": {
        "initial": arg(nullable(NUMBER), "The largest value the minimum may be (default: null).")
    },
    "prod": {"dtype": arg(nullable(DTYPE), "The element type of the product (default: null).")},
}


def _reduction(name: str, what: str) -> Op:
    extra = _EXTRA.get(name, {})
    return Op(
        name,
        f"The {what} of the elements along `axis` (null: all of them, the batch axis too).",
        params=("x", "axis", "keepdims", *extra),
        tensors=("x",),
        args={
            "axis": arg(
                AXES,
                "The axis or axes to reduce, 0 being the batch axis (default: null, every axis).",
            ),
            "keepdims": arg(BOOL, "Keep the reduced axes with size 1 (default: false)."),
            **extra,
        },
        shape=_reduce,
        example=Example(SEQ, {"axis": -1}),
    )


_BINARY = {
    "add": "Element-wise x1 + x2 (broadcasting).",
    "subtract": "Element-wise x1 - x2 (broadcasting).",
    "multiply": "Element-wise x1 * x2 (broadcasting).",
    "divide": "Element-wise x1 / x2 (broadcasting).",
    "floor_divide": "Element-wise x1 // x2 (broadcasting).",
    "mod": "Element-wise x1 % x2 (broadcasting).",
    "power": "Element-wise x1 ** x2 (broadcasting).",
    "maximum": "Element-wise maximum of x1 and x2 (broadcasting).",
    "minimum": "Element-wise minimum of x1 and x2 (broadcasting).",
    "equal": "Element-wise x1 == x2, a boolean tensor.",
    "not_equal": "Element-wise x1 != x2, a boolean tensor.",
    "greater": "Element-wise x1 > x2, a boolean tensor.",
    "greater_equal": "Element-wise x1 >= x2, a boolean tensor.",
    "less": "Element-wise x1 < x2, a boolean tensor.",
    "less_equal": "Element-wise x1 <= x2, a boolean tensor.",
    "logical_and": "Element-wise logical and of two boolean tensors.",
    "logical_or": "Element-wise logical or of two boolean tensors.",
    "logical_xor": "Element-wise logical exclusive or of two boolean tensors.",
    "true_divide": "Element-wise x1 / x2 (broadcasting).",
    "divide_no_nan": "Element-wise x1 / x2, 0 where x2 is 0 (broadcasting).",
    "fmod": "Element-wise remainder of x1 / x2 with the sign of x1 (broadcasting).",
    "arctan2": "Element-wise arc tangent of x1 / x2, in the quadrant of (x2, x1).",
    "hypot": "Element-wise sqrt(x1 ** 2 + x2 ** 2).",
    "logaddexp": "Element-wise log(exp(x1) + exp(x2)).",
    "heaviside": "Element-wise step: 0 where x1 < 0, 1 where x1 > 0, x2 where x1 is 0.",
}
_UNARY = {
    "abs": "Element-wise absolute value.",
    "negative": "Element-wise -x.",
    "exp": "Element-wise exponential.",
    "log": "Element-wise natural logarithm.",
    "sqrt": "Element-wise square root.",
    "square": "Element-wise square.",
    "sign": "Element-wise sign (-1, 0 or 1).",
    "floor": "Element-wise floor.",
    "ceil": "Element-wise ceiling.",
    "erf": "Element-wise Gauss error function.",
    "logical_not": "Element-wise logical not of a boolean tensor.",
    "relu": "Rectified linear unit: max(x, 0).",
    "relu6": "Rectified linear unit capped at 6: min(max(x, 0), 6).",
    "sigmoid": "Sigmoid: 1 / (1 + exp(-x)).",
    "hard_sigmoid": "Hard sigmoid: relu6(x + 3) / 6.",
    "hard_silu": "Hard SiLU (hard swish): x * relu6(x + 3) / 6.",
    "hard_swish": "Hard swish (hard SiLU): x * relu6(x + 3) / 6.",
    "silu": "SiLU (swish): x * sigmoid(x).",
    "swish": "Swish (SiLU): x * sigmoid(x).",
    "softplus": "Softplus: log(exp(x) + 1).",
    "softsign": "Softsign: x / (abs(x) + 1).",
    "tanh": "Hyperbolic tangent.",
    "selu": "Scaled exponential linear unit.",
    "log_sigmoid": "Logarithm of the sigmoid.",
    "absolute": "Element-wise absolute value.",
    "reciprocal": "Element-wise 1 / x.",
    "rsqrt": "Element-wise 1 / sqrt(x).",
    "cbrt": "Element-wise cube root.",
    "exp2": "Element-wise 2 ** x.",
    "expm1": "Element-wise exp(x) - 1.",
    "log1p": "Element-wise log(1 + x).",
    "log2": "Element-wise base-2 logarithm.",
    "log10": "Element-wise base-10 logarithm.",
    "trunc": "Element-wise truncation toward zero.",
    "sin": "Element-wise sine.",
    "cos": "Element-wise cosine.",
    "tan": "Element-wise tangent.",
    "arcsin": "Element-wise inverse sine.",
    "arccos": "Element-wise inverse cosine.",
    "arctan": "Element-wise inverse tangent.",
    "sinh": "Element-wise hyperbolic sine.",
    "cosh": "Element-wise hyperbolic cosine.",
    "arcsinh": "Element-wise inverse hyperbolic sine.",
    "arccosh": "Element-wise inverse hyperbolic cosine.",
    "arctanh": "Element-wise inverse hyperbolic tangent.",
    "erfinv": "Element-wise inverse error function.",
    "isnan": "Element-wise test for NaN, a boolean tensor.",
    "isinf": "Element-wise test for infinity, a boolean tensor.",
    "isfinite": "Element-wise test for a finite value, a boolean tensor.",
    "signbit": "Element-wise test for a set sign bit (negative values, -0.0), a boolean tensor.",
    "hard_tanh": "Hard tanh: clip(x, -1, 1).",
    "tanh_shrink": "Tanh shrink: x - tanh(x).",
    "sparse_plus": "SparsePlus: 0 below -1, x above 1, (x + 1) ** 2 / 4 between.",
    "sparse_sigmoid": "Sparse sigmoid: 0 below -1, 1 above 1, (x + 1) / 2 between.",
}
_THRESHOLD = arg(NUMBER, "The threshold (default: 0.5).")
_AXIS_LAST = arg(INT, "The axis to normalize over (default: -1).")

register_ops(
    "ops",
    *(_binary(name, doc) for name, doc in _BINARY.items()),
    *(_unary(name, doc) for name, doc in _UNARY.items()),
    _unary(
        "gelu",
        "Gaussian error linear unit.",
        {"approximate": arg(BOOL, "Use the tanh approximation (default: true).")},
    ),
    _unary(
        "elu",
        "Exponential linear unit.",
        {"alpha": arg(NUMBER, "Scale of the negative part (default: 1.0).")},
    ),
    _unary(
        "leaky_relu",
        "Leaky ReLU.",
        {"negative_slope": arg(NUMBER, "Slope of the negative part (default: 0.2).")},
    ),
    _unary("softmax", "Softmax along `axis`.", {"axis": _AXIS_LAST}),
    _unary("sparsemax", "Sparsemax along `axis`.", {"axis": _AXIS_LAST}),
    _unary(
        "celu",
        "Continuously differentiable exponential linear unit.",
        {"alpha": arg(NUMBER, "The scale of the negative part (default: 1.0).")},
    ),
    _unary(
        "squareplus",
        "Squareplus: (x + sqrt(x ** 2 + b)) / 2.",
        {"b": arg(NUMBER, "The smoothness (default: 4).")},
    ),
    _unary("soft_shrink", "Soft shrink: towards 0 by `threshold`.", {"threshold": _THRESHOLD}),
    _unary("hard_shrink", "Hard shrink: 0 within `threshold` of 0.", {"threshold": _THRESHOLD}),
    _unary("log_softmax", "Logarithm of the softmax along `axis`.", {"axis": _AXIS_LAST}),
    _unary(
        "round",
        "Element-wise rounding to `decimals` decimals.",
        {"decimals": arg(INT, "Decimals to round to (default: 0).")},
    ),
    _unary(
        "flip",
        "Reverse the order of elements along `axis`.",
        {"axis": arg(AXES, "The axis or axes to flip (default: null, every axis).")},
    ),
    _unary(
        "normalize",
        "Divide by the `order`-norm along `axis`.",
        {
            "axis": _AXIS_LAST,
            "order": arg(POS_INT, "The order of the norm (default: 2)."),
            "epsilon": arg(nullable(POS_NUMBER), "Added to the norm (default: null, Keras')."),
        },
    ),
    Op(
        "cast",
        "Convert to another element type.",
        params=("x", "dtype"),
        tensors=("x",),
        args={"dtype": arg(DTYPE, "The element type.")},
        required=("dtype",),
        shape=_same,
        example=Example(VEC, {"dtype": "float16"}),
    ),
    Op(
        "clip",
        "Clip values to [x_min, x_max].",
        params=("x", "x_min", "x_max"),
        tensors=("x",),
        args={
            "x_min": arg(NUMBER, "The smallest value."),
            "x_max": arg(NUMBER, "The largest value."),
        },
        required=("x_min", "x_max"),
        shape=_same,
        example=Example(VEC, {"x_min": 0.0, "x_max": 6.0}),
    ),
    Op(
        "where",
        "x1 where condition is true, else x2 (broadcasting).",
        params=("condition", "x1", "x2"),
        tensors=("condition", "x1", "x2"),
        constants=("x1", "x2"),
        args={
            "x1": arg(OPERAND, "The value where the condition holds, when it is a constant."),
            "x2": arg(OPERAND, "The value elsewhere, when it is a constant."),
        },
        shape=_elementwise,
        example=Example(PAIR, {"x2": 0.0}, {"condition": "a", "x1": "b"}),
    ),
    *(
        _reduction(name, what)
        for name, what in (
            ("sum", "sum"),
            ("mean", "mean"),
            ("max", "maximum"),
            ("min", "minimum"),
            ("prod", "product"),
            ("std", "standard deviation"),
            ("var", "variance"),
            ("any", "logical or"),
            ("all", "logical and"),
            ("argmax", "index of the maximum"),
            ("argmin", "index of the minimum"),
            ("amax", "maximum"),
            ("amin", "minimum"),
            ("logsumexp", "log of the sum of the exponentials"),
        )
    ),
)
