"""What a layer rule is made of: the record, the call it is applied to, and the helpers rules
are written with.

A :class:`Layer` holds everything kspec knows about one Keras layer class: the hand-written part
(argument refinements, how it is called, how many values it returns, its static shape rule, its
weight-count rule, what its first call fixes, hints, the smallest context it is tested in),
written once in the family module of ``kspec/layers/`` (``conv.py``, ``recurrent.py``, ...), and
the part generated from the installed Keras (``kspec/schemas/keras_layers.json``: its signature,
defaults, descriptions), merged in by :mod:`kspec.layers.catalog`. Rules follow Keras' own
``compute_output_shape`` and ``build`` (keras/src/layers/...), as Keras keeps them beside the
layer's ``__init__``.

A rule never guesses: whenever it cannot say for sure (an unknown size, an argument that is not a
plain value, a nested custom layer), it raises :class:`Unknown`; a definite problem that Keras
would refuse is a :class:`ShapeError` with its KS4xx code. TensorFlow-free by design.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, TypeGuard

Schema = dict[str, Any]
Shape = tuple[int | None, ...]
Shapes = list[Shape | None]
Count = tuple[int, int]  # (trainable, non-trainable) weights
Inputs = Literal["one", "many", "call"]


class ShapeError(Exception):
    """A definite shape problem: Keras would refuse to build the layer call."""

    def __init__(self, code: str, message: str, hint: str | None = None):
        super().__init__(message)
        self.code, self.message, self.hint = code, message, hint


class Unknown(Exception):
    """The rule cannot say for sure: the result is unknown and nothing is reported."""


#: An argument whose expression could not be evaluated (its error is reported elsewhere).
BAD_VALUE = object()


@dataclass(frozen=True)
class Nested:
    """A nested layer argument (``layer:`` of a wrapper, ``cell:``...), its arguments plain."""

    type: str
    args: Mapping[str, Any]


@dataclass(slots=True)
class Call:
    """One call of a layer, as a rule sees it: the layer's plain arguments (expressions
    evaluated, nested layers as :class:`Nested`), the shapes it is called on (a shape; a list of
    shapes for a merge or positional query/value/key; a mapping call argument -> shape(s)), its
    ``call:`` constants, and labels naming the inputs in messages."""

    type: str
    args: Mapping[str, Any]
    inputs: Any
    call: Mapping[str, Any] = field(default_factory=dict)
    labels: Sequence[str] = ()
    first: str | None = "inputs"  # the call argument that takes the main input
    rank: int = 0  # the layer's spatial rank, from its record (Conv2D: 2)

    def main(self) -> Any:
        """What the first call argument is given (a shape, a list of shapes, or None)."""
        if isinstance(self.inputs, Mapping):
            return self.inputs.get(self.first) if self.first else None
        return self.inputs

    def arg(self, key: str, default: Any = None) -> Any:
        """An argument's value (``default`` when not given); Unknown if it failed to evaluate."""
        return get_arg(self.args, key, default)

    @property
    def x(self) -> Shape:
        """The tensor the layer is built on: its first call argument (Unknown if not known)."""
        value = self.main()
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        if not is_shape(value):
            raise Unknown
        return value

    def tensors(self) -> list[Shape]:
        """A merge layer's list of input shapes (Unknown unless every one is known)."""
        inputs = self.main()
        if not isinstance(inputs, list | tuple) or not inputs or not all(map(is_shape, inputs)):
            raise Unknown
        return list(inputs)


ShapeRule = Callable[[Call], Shapes]
WeightRule = Callable[[Call], Count]
# What the first call fixes (Keras' InputSpec after build): {axis: size} (negative axes count
# from the end) and the rank, if it fixes one. A shared layer must be called alike again.
BuiltRule = Callable[[Call], tuple[dict[int, int], int | None]]
OutputsRule = Callable[[str, Mapping[str, Any], Mapping[str, Any]], int]
# The multiply-adds of one call, per example (see kspec/layers/macs.py for the convention).
MacsRule = Callable[[Call], int]


@dataclass(frozen=True)
class Example:
    """The smallest spec context a layer is used in by the coverage test: the model's
    ``inputs:``, the node's arguments, and its ``inputs:`` (None: the only model input)."""

    inputs: Mapping[str, Any]
    args: Mapping[str, Any] = field(default_factory=dict)
    node_inputs: Any = None
    node_type: str | None = None  # the node's type when the layer is used inside another


@dataclass(frozen=True)
class Layer:
    """One Keras layer class as kspec knows it (see the module docstring).

    Written by hand (``None`` or empty means "from the generated Keras data"): ``doc``; ``args``
    (argument -> schema with description, replacing the schema inferred from the signature);
    ``required``; ``inputs``: ``one`` (a single tensor), ``many`` (a list of
    ``min_inputs``..``max_inputs`` tensors: merge layers) or ``call`` (named call arguments, the
    first of ``call_args`` taking the main input); ``call_args``: the keyword arguments of its
    ``call``; ``call_outputs``: values a call returns when no option adds any (an RNN cell: 2);
    ``state_outputs``: state tensors ``return_state`` adds (recurrent layers); ``cell_states``:
    for a cell, the states an RNN over it returns; ``outputs``: a rule for the number of outputs
    when arguments change it; ``shape``, ``weights``, ``built``: the static rules (``shape``
    None: unknown; ``weights`` None: the layer creates no weights); ``macs``: the FLOPs rule, the
    multiply-adds of a call (None: none, see :mod:`kspec.layers.macs`); ``index_hint``: why it may
    have fewer outputs than a ``node[i]`` assumes; ``note``: what the docs say about it;
    ``example``: its coverage context. Filled in by the catalog: ``name`` (the class name),
    ``family``, ``adapt`` (a preprocessing layer whose state comes from ``adapt()``).
    """

    name: str = ""
    family: str = ""
    doc: str = ""
    args: dict[str, Schema] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    inputs: Inputs = "one"
    min_inputs: int = 1
    max_inputs: int | None = None
    call_args: tuple[str, ...] = ()
    call_outputs: int = 1
    state_outputs: int = 0
    cell_states: int = 0
    outputs: OutputsRule | None = None
    shape: ShapeRule | None = None
    weights: WeightRule | None = None
    macs: MacsRule | None = None
    built: BuiltRule | None = None
    index_hint: str | None = None
    note: str = ""
    example: Example | None = None
    adapt: bool = False
    rank: int = 0  # spatial rank for the families that have one (Conv2D: 2)


@dataclass(frozen=True)
class Op:
    """One ``keras.ops`` function an op node may call: a pure tensor function, no weights.

    ``params``: its parameters in signature order (what the generated call passes, by
    position for tensors); ``tensors``: those that take tensors (given through the node's
    ``inputs``); ``constants``: tensor parameters that may be a constant instead (``x2: 0.5``);
    ``variadic``: the parameter that takes a list of tensors (``concatenate``'s ``xs``,
    ``einsum``'s ``operands``); ``args``: the other parameters' schemas with descriptions;
    ``required``: those without a default; ``shape``: the static shape rule (a :class:`Call`
    whose ``inputs`` map each tensor parameter to its shape, constants to theirs); ``macs``: its
    multiply-adds (None: none, an element-wise or shape op; see :mod:`kspec.layers.macs`);
    ``outputs``: how many values it returns (``split``); ``emit``: its source when it is not
    the call ``keras.ops.NAME(...)`` (``get_item``'s subscript; given each tensor parameter's
    source, the constants and the function that writes a constant); ``example``: its coverage
    context.
    """

    name: str
    doc: str
    params: tuple[str, ...]
    tensors: tuple[str, ...]
    constants: tuple[str, ...] = ()
    variadic: str | None = None
    args: dict[str, Schema] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    shape: ShapeRule | None = None
    macs: MacsRule | None = None
    outputs: Callable[[Mapping[str, Any]], int] | None = None
    emit: Callable[[Mapping[str, str], Mapping[str, Any], Callable[[Any], str]], str] | None = None
    example: Example | None = None
    family: str = ""


#: The hand-written records, by class name, as the family modules register them.
RULES: dict[str, Layer] = {}
#: The ops, by ``keras.ops`` name.
OPS: dict[str, Op] = {}


def register_ops(family: str, *ops: Op) -> None:
    """Add op records to the registry (each name once)."""
    for op in ops:
        if op.name in OPS:
            raise ValueError(f"kspec/layers: op {op.name} is registered twice")
        OPS[op.name] = replace(op, family=family)


def register(family: str, *layers: Layer) -> None:
    """Add hand-written records to the registry (each class once)."""
    for layer in layers:
        if layer.name in RULES:
            raise ValueError(f"kspec/layers: {layer.name} is registered twice")
        RULES[layer.name] = _with(layer, family=family)


def _with(layer: Layer, **changes: Any) -> Layer:
    return replace(layer, **changes)


# -- values ---------------------------------------------------------------------------------


def is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def is_shape(x: Any) -> TypeGuard[Shape]:
    return isinstance(x, tuple) and all(d is None or is_int(d) for d in x)


def to_int(v: Any, minimum: int = 1) -> int:
    if is_int(v) and v >= minimum:
        return int(v)
    raise Unknown


def to_ints(v: Any, n: int, minimum: int = 1) -> tuple[int, ...]:
    """An ``int or list of n ints`` argument, as a tuple of n ints."""
    if is_int(v):
        return (to_int(v, minimum),) * n
    if isinstance(v, list) and len(v) == n:
        return tuple(to_int(x, minimum) for x in v)
    raise Unknown


def choice(v: Any, *allowed: str) -> str:
    if isinstance(v, str) and v.lower() in allowed:
        return v.lower()
    raise Unknown


def flag(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    raise Unknown


def get_arg(a: Mapping[str, Any], key: str, default: Any = None) -> Any:
    v = a.get(key, default)
    if v is BAD_VALUE:
        raise Unknown
    return v


def nested(v: Any) -> Nested:
    """A nested layer argument (a wrapper's ``layer``, an RNN's ``cell``)."""
    if isinstance(v, Nested):
        return v
    raise Unknown


def channels_first(c: Call | Mapping[str, Any]) -> bool:
    args = c.args if isinstance(c, Call) else c
    v = get_arg(args, "data_format")
    if v is None:
        return False  # keras.config.image_data_format(), normally channels_last
    return choice(v, "channels_last", "channels_first") == "channels_first"


def dim(x: Shape, axis: int) -> int:
    """A known size of ``x`` on ``axis`` (Unknown otherwise)."""
    if not -len(x) <= axis < len(x):
        raise Unknown
    d = x[axis]
    if d is None:
        raise Unknown
    return d


def format_shape(shape: Shape | None) -> str:
    """``(None, 28, 28)``; ``(None,)`` for rank 1; ``unknown`` when the shape is not known."""
    if shape is None:
        return "unknown"
    if len(shape) == 1:
        return f"({shape[0]},)"
    return "(" + ", ".join(str(d) for d in shape) + ")"


def axis_index(axis: int, rank: int, t: str, shape: Shape, what: str = "axis") -> int:
    """``axis`` (Python indexing over the shape, batch axis 0 included) as an index."""
    if -rank <= axis < rank:
        return axis % rank
    raise ShapeError(
        "KS406",
        f"{t} {what} {axis} is out of range for a rank-{rank} input {format_shape(shape)}",
        f"the axes of a rank-{rank} tensor are 0..{rank - 1} (or -{rank}..-1; 0 is the batch axis)",
    )


def need_rank(t: str, x: Shape, rank: int, layout: str, hint: str | None = None) -> None:
    if len(x) != rank:
        raise ShapeError(
            "KS402", f"{t} needs a rank-{rank} input {layout}; got {format_shape(x)}", hint
        )


def need_known(t: str, x: Shape, axes: Sequence[int], what: str) -> None:
    for ax in axes:
        if x[ax] is None:
            raise ShapeError(
                "KS403",
                f"{t} needs a known size on axis {ax} ({what}); got {format_shape(x)}",
                "its weights are sized by that axis: give the input a fixed size there",
            )


def identity(c: Call) -> Shapes:
    """The output has the input's shape (activations, dropout, noise, augmentation...)."""
    return [c.x]


def total(counts: Sequence[Count]) -> Count:
    """The sum of (trainable, non-trainable) counts."""
    trainable = frozen = 0
    for t, f in counts:
        trainable, frozen = trainable + t, frozen + f
    return trainable, frozen


def canonical(type_name: str) -> str:
    """The class name of a layer type (an alias resolved: ``AvgPool2D`` -> ``AveragePooling2D``)."""
    from kspec.layers import catalog  # assembled after the family modules are imported

    return catalog.canonical(type_name)


def nested_type(v: Any) -> str | None:
    """The type of a nested layer given as :class:`Nested` or as a ``{type: ...}`` mapping."""
    if isinstance(v, Nested):
        return v.type
    if isinstance(v, Mapping) and isinstance(v.get("type"), str):
        return str(v["type"])
    return None


def nested_args(v: Any) -> Mapping[str, Any]:
    """The arguments of a nested layer (see :func:`nested_type`)."""
    if isinstance(v, Nested):
        return v.args
    return v if isinstance(v, Mapping) else {}


def inner_shapes(v: Any, inputs: Any) -> Shapes:
    """A nested layer's output shapes when called on ``inputs`` (by its own rule)."""
    from kspec.layers import apply  # assembled after the family modules are imported

    n = nested(v)
    return apply.apply_shape(apply.make_call(n.type, n.args, inputs))


def inner_weights(v: Any, x: Shape) -> Count:
    """A nested layer's weights when built on ``x`` (by its own rule)."""
    from kspec.layers import apply

    n = nested(v)
    return apply.apply_weights(apply.make_call(n.type, n.args, x))


def bias(c: Call, size: int, key: str = "use_bias") -> int:
    """``size`` weights if the layer has a bias (``use_bias``, true by default), else 0."""
    return size * int(flag(c.arg(key, True)))
