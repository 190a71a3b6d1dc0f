"""The drawing steps that add layers: dense, convolutions, pooling, recurrent layers, wrappers,
attention, embeddings..."""

from __future__ import annotations

import os
from typing import Any

from hypothesis import strategies as st

from kspec.testing._graph import (
    GraphBase,
    _Tensor,
)
from kspec.testing._oracle import (
    _RNN_STATES,
    _op_out,
    _prod,
    _size,
)
from kspec.testing._settings import (
    _MAPPING_ANY_ORDER,
    _MASK_ZERO,
    INT,
)


def _on_jax() -> bool:
    """Whether the drawn specs are for Keras on JAX, which builds two things differently
    (docs/backends.md, "Known limits"): the strategy leaves those out there."""
    return os.environ.get("KERAS_BACKEND", "tensorflow") == "jax"


class LayerSteps(GraphBase):
    """Steps that add one layer (or a few) to the graph."""

    def op_node(self, op: str, args: dict[str, Any], ts: list[_Tensor], inputs: Any) -> None:
        """Add an ``op:`` node on tensors ``ts``; its output type from :func:`_op_out` (the
        replay of blocks uses the same function)."""
        node: dict[str, Any] = {"name": self.fresh(op[:5]), "op": op, **args, "inputs": inputs}
        if isinstance(inputs, dict):
            got: Any = {k: next(t.tt for t in ts if t.ref == v) for k, v in inputs.items()}
        else:
            got = [t.tt for t in ts]
        outs = _op_out(op, args, got)
        if outs is None:  # a bug in this module, not in kspec
            raise AssertionError(f"kspec.testing drew an invalid op node: {node} on {got}")
        self.add(node, ts, outs)

    def op_tensor_op(self) -> bool:
        """An op node: an activation, a constant scale or shift, a residual of two tensors of
        one type, a mean, a concatenation, a transpose, an index or slice."""
        x = self.pick(self.floats())
        if x is None:
            return False
        kind = self.choose(
            ["act", "scale", "one_minus", "residual", "mean", "concat", "swap", "index"]
        )
        args: dict[str, Any] = {}
        ts = [x]
        inputs: Any = self.inputs_value(ts)
        if kind == "act":
            op = self.choose(
                ["relu", "relu6", "hard_swish", "hard_sigmoid", "gelu", "silu", "tanh"]
            )
        elif kind == "scale":
            op = self.choose(["multiply", "add", "maximum"])
            args["x2"] = self.choose([0.5, 2, -1.0, 3.0])
        elif kind == "one_minus":
            op, args["x1"], inputs = "subtract", 1.0, {"x2": x.ref}
        elif kind == "residual":
            other = self.pick(lambda t: t.tt == x.tt and t.ref != x.ref)
            if other is None:
                return False
            op, ts = self.choose(["add", "subtract", "multiply", "minimum"]), [x, other]
            inputs = [x.ref, other.ref]
        elif kind == "mean":
            op, args = "mean", {"axis": -1, "keepdims": True}
        elif kind == "concat":
            other = self.pick(
                lambda t: t.tt.shape[:-1] == x.tt.shape[:-1] and self.floats()(t) and t != x
            )
            if other is None:
                return False
            op, args, ts = "concatenate", {"axis": -1}, [x, other]
            inputs = [x.ref, other.ref]
        elif kind == "index":
            if x.tt.rank < 2 and not (isinstance(x.tt.last, int) and x.tt.last >= 2):
                return False
            key = [":", 0] if x.tt.rank >= 2 and self.chance(2) else ["...", "1:"]
            if key[0] == "..." and not (isinstance(x.tt.last, int) and x.tt.last >= 2):
                key = [":", 0]
            op, args = "get_item", {"key": key}
        else:
            if x.tt.rank != 2:
                return False
            op, args = "transpose", {"axes": [0, 2, 1]}
        self.op_node(op, args, ts, inputs)
        return True

    def op_dense(self) -> bool:
        x = self.pick(self.floats())
        if x is None:
            return False
        units, _ = self.size(self.last_dims())
        args: dict[str, Any] = {"units": units}
        if self.chance(3):
            args["activation"] = self.value("act")[0]
        if self.chance(5):
            args["use_bias"] = self.value("flag")[0]
        if self.chance(6):
            args["kernel_initializer"] = self.choose(["he_normal", "lecun_uniform", "ones"])
        inputs: Any = "auto"
        if self.chance(12):
            inputs = {"inputs": x.ref}  # a mapping with the first call argument
        self.layer("Dense", "dense", args, [x], inputs)
        return True

    def op_identity(self) -> bool:
        x = self.pick(self.floats())
        if x is None:
            return False
        t = self.choose(
            ["Activation", "ReLU", "Dropout", "LayerNormalization", "BatchNormalization",
             "LeakyReLU", "ELU", "Softmax", "Rescaling", "PReLU"]
        )  # fmt: skip
        if (t == "PReLU" and not x.tt.known) or (
            t == "Softmax" and (x.tt.last == 1 or self.ctx.masked)
        ):
            t = "ReLU"
        self.ctx.softmax |= t == "Softmax"
        args: dict[str, Any] = {}
        call: dict[str, Any] | None = None
        if t == "Activation":
            args["activation"] = self.value("act")[0]
        elif t == "ReLU" and self.chance(3):
            args["max_value"] = self.choose([6.0, 1, 2.5])
        elif t == "Dropout":
            args["rate"] = self.value("rate")[0]
        elif t == "LayerNormalization" and self.chance(3):
            args["center"] = self.value("flag")[0]
        elif t == "BatchNormalization":
            if self.chance(3):
                args["momentum"] = 0.9
        elif t == "LeakyReLU" and self.chance(2):
            args["negative_slope"] = 0.1
        elif t == "Rescaling":
            args["scale"] = self.choose([0.5, 2, 1.0])
            if self.chance(2):
                args["offset"] = -1.0
        self.layer(t, t.lower()[:5], args, [x], call=call)
        return True

    def op_conv(self) -> bool:
        x = self.pick(lambda t: self.floats()(t) and t.tt.rank in (2, 3))
        if x is None:
            return False
        args: dict[str, Any] = {}
        if x.tt.rank == 2:
            t = "Conv1D"
            args["filters"] = self.size(self.last_dims())[0]
            k = self.choose([3, 1, 2])
            args["kernel_size"] = [k] if self.chance(4) else k
            padding = self.choose(["same", "causal"])
            args["padding"] = padding
            if padding == "same" and self.chance(4):
                args["strides"] = 2
        else:
            t = self.choose(["Conv2D", "SeparableConv2D", "DepthwiseConv2D"])
            if t != "DepthwiseConv2D":
                args["filters"] = self.size(self.last_dims())[0]
            elif self.chance(2):
                args["depth_multiplier"] = 2
            if self.chance(3):
                args["kernel_size"] = self.value("kernel")[0]
            else:
                args["kernel_size"] = self.choose([3, 1, [1, 3]])
            args["padding"] = "same"
            if self.chance(4):
                args["strides"] = self.choose([2, [1, 2]])
        if self.chance(3):
            args["activation"] = self.value("act")[0]
        self.layer(t, "conv", args, [x])
        return True

    def op_pool(self) -> bool:
        def ok(t: _Tensor) -> bool:
            return self.floats()(t) and t.tt.rank in (2, 3) and _size(t.tt.shape[0]) >= 2

        x = self.pick(ok)
        if x is None:
            return False
        n = x.tt.rank - 1
        t = self.choose(["MaxPooling", "AveragePooling"]) + f"{n}D"
        args: dict[str, Any] = {"pool_size": 2}
        if t == "MaxPooling1D" and self.chance(3):
            del args["pool_size"]
        if n == 2 and _size(x.tt.shape[1]) < 2:
            args["pool_size"] = [2, 1]
        args["padding"] = self.choose(["valid", "same"])
        self.layer(t, "pool", args, [x])
        return True

    def op_global(self) -> bool:
        x = self.pick(lambda t: self.floats()(t) and t.tt.rank in (2, 3))
        if x is None:
            return False
        t = self.choose(["GlobalAveragePooling", "GlobalMaxPooling"]) + f"{x.tt.rank - 1}D"
        args = {"keepdims": True} if self.chance(6) else {}
        self.layer(t, "gpool", args, [x])
        return True

    def op_flatten(self) -> bool:
        x = self.pick(
            lambda t: t.tt.is_float and t.tt.known and t.tt.rank >= 2 and _prod(t.tt.shape) <= 256
        )
        if x is None:
            return False
        self.layer("Flatten", "flat", {}, [x])
        return True

    def op_rnn(self) -> bool:
        x = self.pick(self.floats(rank=2))
        if x is None:
            return False
        t = self.choose(["LSTM", "GRU", "SimpleRNN"])
        n_states = _RNN_STATES[t]
        args: dict[str, Any] = {}
        inputs: Any = "auto"
        # initial_state: states of an earlier recurrent layer (or any vectors of one size)
        states: list[_Tensor] = []
        vectors = [p for p in reversed(self.pool) if p.tt.is_float and p.tt.rank == 1]
        vectors.sort(key=lambda p: not p.state)
        if vectors and self.chance(2):
            first = vectors[self.pick_index(len(vectors), 4)]
            same = [v for v in vectors if v.tt == first.tt]
            states = [first] + [self.choose(same) for _ in range(n_states - 1)]
            assert isinstance(first.tt.last, int)
            args["units"] = self.match(first.tt.last)
        else:
            args["units"] = self.size(self.last_dims())[0]
        if self.chance(2):
            args["return_sequences"] = True
        return_state = self.chance(3)
        if return_state:
            args["return_state"] = True
        if self.chance(6):
            args["go_backwards"] = True
        if self.chance(8):
            args["dropout"] = 0.1
        if states:
            init: Any = [s.ref for s in states]
            if n_states == 1 and self.chance(2):
                init = init[0]
            inputs = {"sequences": x.ref, "initial_state": init}
            if _MAPPING_ANY_ORDER and self.chance(2):
                inputs = {"initial_state": init, "sequences": x.ref}
        elif self.chance(8):
            inputs = {"sequences": x.ref}
        self.layer(t, t.lower(), args, [x, *states], inputs, state_from=1)
        return True

    def op_wrapper(self) -> bool:
        x = self.pick(lambda t: self.floats()(t) and t.tt.rank >= 2)
        if x is None:
            return False
        if x.tt.rank == 2 and self.chance(2):
            inner: dict[str, Any] = {"type": self.choose(["LSTM", "GRU", "SimpleRNN"])}
            inner["units"] = self.choose([2, 3, 4])
            if self.chance(2):
                inner["return_sequences"] = True
            args: dict[str, Any] = {"layer": inner}
            if self.chance(3):
                args["merge_mode"] = self.choose(["sum", "ave", "mul", "concat", None])
            self.layer("Bidirectional", "bidi", args, [x])
        else:
            if _on_jax() and not isinstance(x.tt.shape[0], int):
                return False  # Keras on JAX: a subclass's TimeDistributed needs a known time axis
            units = self.size(self.last_dims())[0]
            self.layer("TimeDistributed", "td", {"layer": {"type": "Dense", "units": units}}, [x])
        return True

    def op_attention(self) -> bool:
        q = self.pick(self.floats(rank=2))
        if q is None:
            return False
        # a value of length 1 makes Keras warn about a softmax over a size-1 axis
        v = self.pick(lambda t: self.floats(rank=2)(t) and _size(t.tt.shape[0]) >= 2)
        if v is None:
            return False
        args: dict[str, Any] = {
            "num_heads": self.value("count")[0],
            "key_dim": self.value("size")[0],
        }
        if self.chance(4):
            # Keras 3 on JAX (keras.src.backend.jax.nn.dot_product_attention) cannot attend
            # with a value_dim other than key_dim: there, value_dim is drawn equal to it
            args["value_dim"] = args["key_dim"] if _on_jax() else self.choose([2, 3])
        if self.chance(4):
            args["output_shape"] = self.size(self.last_dims())[0]
        ts = [q, v]
        key = None
        if self.chance(4):
            key = self.pick(lambda t: self.floats(rank=2)(t) and t.tt.shape[0] == v.tt.shape[0])
        form = self.draw(st.integers(0, 2))
        if form == 2:
            inputs: Any = [q.ref, v.ref] + ([key.ref] if key else [])
        else:
            inputs = {"query": q.ref, "value": v.ref}
            if key:
                inputs["key"] = key.ref
            if _MAPPING_ANY_ORDER and self.chance(3):
                inputs = dict(reversed(inputs.items()))
        if key:
            ts.append(key)
        call: dict[str, Any] = {}
        if q is v and self.chance(3):
            call["use_causal_mask"] = True
        # Keras 3.15 gives the scores the static shape (batch, heads, Tq, Tq) whatever the
        # value's length, and the two targets then disagree: only ask for them when Tq == Tv
        if q.tt.shape[0] == v.tt.shape[0] and self.chance(5):
            call["return_attention_scores"] = True
        self.layer("MultiHeadAttention", "attn", args, ts, inputs, call or None, shareable=False)
        return True

    def op_embedding(self) -> bool:
        x = self.pick(lambda t: t.tt.dtype == INT)
        if x is None:
            return False
        args: dict[str, Any] = {
            "input_dim": self.value("size", [8, 10, 16])[0] if self.chance(3) else 10,
            "output_dim": self.size(self.last_dims())[0],
        }
        if _MASK_ZERO and not self.ctx.softmax and self.chance(6):
            args["mask_zero"] = True
            self.ctx.masked = True
        self.layer("Embedding", "embed", args, [x])
        return True
