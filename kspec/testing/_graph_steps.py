"""The drawing steps that shape the graph: merges, residuals, encoder-decoders, shares, and
blocks (defined, used, repeated)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st

from kspec.testing._graph import (
    _Tensor,
)
from kspec.testing._layer_steps import (
    LayerSteps,
)
from kspec.testing._oracle import (
    _ELEMENTWISE,
    _RNN_STATES,
    TT,
    _axis_index,
    _layer_out,
    _prod,
    _shareable,
    _size,
)
from kspec.testing._replay import (
    BlockDef,
    _run_graph,
)
from kspec.testing._settings import (
    _BLOCK_NAMED_NAME,
    _DESCRIPTIONS,
    _SHARE_LIST_OF_ONE,
    HOSTILE_NAMES,
    INT,
)
from kspec.testing._values import (
    _DOMAINS,
    _ev,
    _param,
)


class Graph(LayerSteps):
    """The whole set of steps; ``step`` draws one."""

    def op_merge(self) -> bool:
        groups: dict[TT, list[_Tensor]] = {}
        for t in self.pool:
            if self.floats()(t):
                groups.setdefault(t.tt, []).append(t)
        multi = [g for g in groups.values() if len(g) >= 2]
        if not multi:
            if not groups or not self.chance(6):
                return False
            x = self.pick(self.floats())
            assert x is not None
            t = self.choose([*_ELEMENTWISE, "Concatenate"])
            self.layer(t, "merge", {}, [x], [x.ref])  # a merge of a single tensor
            return True
        group = self.choose(multi)
        t = self.choose(["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"])
        n = 2 if t == "Subtract" else self.draw(st.integers(2, min(3, len(group))))
        picked = [group[-1 - self.pick_index(len(group))] for _ in range(n)]
        if len({id(p) for p in picked}) == 1 and len(group) > 1:
            picked[-1] = next(p for p in group if p is not picked[0])
        self.layer(t, t.lower()[:3], {}, picked, [p.ref for p in picked], shareable=False)
        return True

    def op_concat(self) -> bool:
        x = self.pick(self.floats())
        if x is None or not isinstance(x.tt.last, int):
            return False
        axis = -1
        if x.tt.rank >= 2 and isinstance(x.tt.shape[0], int) and self.chance(4):
            axis = 1

        def fits(t: _Tensor) -> bool:
            if not t.tt.is_float or t.tt.rank != x.tt.rank:
                return False
            idx = _axis_index(axis, x.tt.rank)
            return all(
                (isinstance(d, int) and d <= 64) if k == idx else d == x.tt.shape[k]
                for k, d in enumerate(t.tt.shape)
            )

        others = [t for t in reversed(self.pool) if fits(t)]
        if not others:  # x itself may not fit (its concatenation axis is too long)
            return False
        n = self.draw(st.integers(1, 2))
        picked = [x] + [others[self.pick_index(len(others))] for _ in range(n)]
        args = {"axis": axis} if axis != -1 or self.chance(5) else {}
        self.layer("Concatenate", "concat", args, picked, [p.ref for p in picked], shareable=False)
        return True

    def op_dot(self) -> bool:
        x = self.pick(self.floats(rank=1))
        if x is None:
            return False
        y = self.pick(lambda t: t.tt == x.tt)
        assert y is not None
        args: dict[str, Any] = {"axes": self.choose([1, -1])}
        if self.chance(3):
            args["normalize"] = True
        self.layer("Dot", "dot", args, [x, y], [x.ref, y.ref], shareable=False)
        return True

    def op_reshape(self) -> bool:
        x = self.pick(lambda t: self.floats()(t) and t.tt.rank <= 3 and _prod(t.tt.shape) <= 256)
        if x is None:
            return False
        s = x.tt.shape
        options: list[tuple[str, dict[str, Any]]] = []
        if x.tt.rank == 1:
            options.append(("RepeatVector", {"n": self.choose([2, 3])}))
        if x.tt.rank == 2:
            options += [
                ("Permute", {"dims": [2, 1]}),
                ("ZeroPadding1D", {"padding": 1}),
                ("UpSampling1D", {"size": 2}),
            ]
            if _size(s[0]) >= 3:
                options.append(("Cropping1D", {"cropping": 1}))
        if x.tt.rank == 3 and all(_size(d) <= 8 for d in s[:2]):
            options += [("ZeroPadding2D", {"padding": 1}), ("UpSampling2D", {"size": 2})]
        if x.tt.known:
            total = _prod(s)
            divisors = [d for d in (2, 3, 4) if total % d == 0]
            options.append(("Reshape", {"target_shape": [-1]}))
            if divisors:
                options.append(("Reshape", {"target_shape": [-1, self.choose(divisors)]}))
        if not options:
            return False
        t, args = self.choose(options)
        self.layer(t, "reshape", args, [x])
        return True

    def op_residual(self) -> bool:
        """x -> Dense(last dim of x) [-> activation] -> Add([that, x])."""
        x = self.pick(self.floats())
        if x is None:
            return False
        assert isinstance(x.tt.last, int)
        (h,) = self.layer("Dense", "proj", {"units": self.size([x.tt.last])[0]}, [x])
        if h.tt != x.tt:  # a param-valued size that differs: no residual then
            return True
        if self.chance(2):
            (h,) = self.layer("Activation", "act", {"activation": "relu"}, [h])
        t = self.choose(["Add", "Average", "Maximum"])
        self.layer(t, "res", {}, [h, x], [h.ref, x.ref], shareable=False)
        return True

    def op_encdec(self) -> bool:
        """An encoder with return_state, and a decoder started from its states."""
        src = self.pick(self.floats(rank=2))
        if src is None:
            return False
        dst = self.pick(self.floats(rank=2))
        assert dst is not None
        t = self.choose(["LSTM", "GRU", "SimpleRNN"])
        units, value = self.size()
        enc_args = {"units": units, "return_sequences": True, "return_state": True}
        enc = self.layer(t, "enc", enc_args, [src], state_from=1)
        states = enc[1:]
        t2 = (
            t
            if self.chance(4)
            else self.choose([k for k, v in _RNN_STATES.items() if v == len(states)])
        )
        init: Any = [s.ref for s in states]
        if len(states) == 1 and self.chance(2):
            init = init[0]
        dec_args: dict[str, Any] = {"units": value}
        if self.chance(2):
            dec_args["return_sequences"] = True
        self.layer(
            t2, "dec", dec_args, [dst, *states], {"sequences": dst.ref, "initial_state": init}
        )
        return True

    def op_share(self) -> bool:
        options = []
        for name, t, a, built in self.shared:
            for tensor in self.pool:
                if tensor.owner != name and _shareable(t, built, tensor.tt):
                    outs = _layer_out(t, a, [tensor.tt], {})
                    if outs is not None:
                        options.append((name, tensor, outs))
        if not options:
            return False
        name, x, outs = options[-1 - self.pick_index(len(options), 12)]
        inputs = self.inputs_value([x], list_of_one=_SHARE_LIST_OF_ONE)
        node = {"name": self.fresh("shared"), "share": name, "inputs": inputs}
        self.add(node, [x], outs, state_from=1)
        return True

    # -- blocks ---------------------------------------------------------------------------

    def op_new_block(self) -> bool:
        ctx = self.ctx
        if self.depth >= ctx.max_depth or len(ctx.block_names) >= ctx.max_blocks:
            return False
        k = self.draw(st.integers(1, 2))
        ts = []
        for _ in range(k):
            t = self.pick(lambda t: t.tt.dtype == INT or self.floats()(t))
            assert t is not None
            ts.append(t)
        bname = self.choose_block_name()
        ctx.block_names.add(bname)
        body_names: set[str] = set()
        in_names = []
        for j in range(k):
            sub = self.draw(st.integers(0, len(HOSTILE_NAMES)))
            name = HOSTILE_NAMES[sub - 1] if sub else f"in{j + 1}"
            if name in body_names:
                name = f"in{j + 1}"
            body_names.add(name)
            in_names.append(name)
        body = Graph(ctx, list(zip(in_names, [t.tt for t in ts], strict=True)), self.depth + 1)
        body.fill(self.draw(st.integers(1, 4)))
        outputs, as_list = body.finish_block(preserve=not self.chance(3))
        body.shuffle()
        description = self.choose([None, None, *_DESCRIPTIONS])
        b = BlockDef(
            bname, body.params, in_names, [t.tt for t in ts], body.nodes, outputs, as_list,
            description,
        )  # fmt: skip
        check = _run_graph(b.inputs, b.example, b.nodes, b.outputs, b.env({}), ctx.blocks)
        if check is None:
            raise AssertionError(f"kspec.testing drew an invalid block {b.to_dict()}")
        ctx.blocks[bname] = b
        self.count += body.count
        return self.use_block(b, ts)

    def choose_block_name(self) -> str:
        k = self.draw(st.integers(0, len(HOSTILE_NAMES)))
        taken = self.ctx.block_names | (set() if _BLOCK_NAMED_NAME else {"name"})
        if k and HOSTILE_NAMES[k - 1] not in taken:
            return HOSTILE_NAMES[k - 1]
        j = 1
        while f"block{j}" in self.ctx.block_names:
            j += 1
        return f"block{j}"

    def op_use_block(self) -> bool:
        blocks = [b for b in self.ctx.blocks.values() if self.depth + 1 <= self.ctx.max_depth]
        if not blocks:
            return False
        b = self.choose(blocks)
        slots = []
        for tt in b.example:
            cands = [
                t for t in reversed(self.pool) if t.tt.dtype == tt.dtype and t.tt.rank == tt.rank
            ][:5]
            if not cands:
                return False
            slots.append(cands)
        return self.use_block(b, None, slots)

    def overrides(self, b: BlockDef) -> dict[str, Any]:
        """Param values for a block instance: some omitted (the defaults), some literals,
        some expressions over this graph's params."""
        out: dict[str, Any] = {}
        for p in b.params:
            mode = self.draw(st.integers(0, 3))
            if mode == 0:
                continue
            if mode == 3:
                mine = [q for q in self.params if q.kind == p.kind]
                q = self.choose(mine) if mine else self.new_param(p.kind)
                out[p.name] = _param(q.name)
            else:
                out[p.name] = self.choose(_DOMAINS[p.kind])
        return out

    def use_block(
        self,
        b: BlockDef,
        ts: Sequence[_Tensor] | None,
        slots: Sequence[Sequence[_Tensor]] = (),
    ) -> bool:
        """Add an instance of block ``b`` on ``ts`` (or on a valid choice among ``slots``)."""
        drawn = self.overrides(b)
        combos = [list(ts)] if ts is not None else [list(c) for c in itertools.product(*slots)]
        valid = []
        for combo in combos[:30]:
            tts = [t.tt for t in combo]
            for ov in (drawn, {}):
                env = b.env(_ev(ov, self.env))
                outs = _run_graph(b.inputs, tts, b.nodes, b.outputs, env, self.ctx.blocks)
                if outs is not None:
                    valid.append((combo, ov, outs))
                    break
        if not valid:
            return False
        combo, ov, outs = valid[self.pick_index(len(valid), 30)]
        repeat: Any = None
        n_repeat = 0
        if (
            len(outs) == len(combo)
            and all(o == t.tt for o, t in zip(outs, combo, strict=True))
            and not self.chance(3)
        ):
            repeat, n_repeat = self.value("count")
        name = self.fresh("blk" if b.name.startswith("block") else b.name, n_repeat)
        node: dict[str, Any] = {"name": name, "block": b.name, **ov}
        if repeat is not None:
            node["repeat"] = repeat
        if len(combo) == 1:
            node["inputs"] = self.inputs_value(combo)
        elif self.chance(3):
            order = list(range(len(combo)))
            if self.chance(2):
                order.reverse()
            node["inputs"] = {b.inputs[i]: combo[i].ref for i in order}
        else:
            node["inputs"] = [t.ref for t in combo]
        self.add(node, combo, outs)
        return True

    # -- drawing a graph ------------------------------------------------------------------

    OPS = (
        "dense", "identity", "dense", "conv", "rnn", "merge", "residual", "concat", "pool",
        "global", "attention", "embedding", "share", "use_block", "new_block", "encdec",
        "flatten", "wrapper", "reshape", "dot", "identity", "new_block", "use_block", "use_block",
    )  # fmt: skip

    def step(self) -> None:
        ops = list(self.OPS)
        if any(t.tt.dtype == INT and t.owner not in self.used for t in self.pool):
            ops.insert(0, "embedding")  # feed int inputs early
        name = self.choose(ops)
        if getattr(self, f"op_{name}")():
            return
        if not self.op_dense():
            self.op_embedding()

    def fill(self, steps: int, budget: int = 100) -> None:
        for _ in range(steps):
            if self.count >= budget:
                break
            self.step()
        # every input is used by some node
        for t in list(self.pool):
            if t.owner in self.input_names and t.owner not in self.used:
                if t.tt.dtype == INT:
                    self.layer("Embedding", "embed", {"input_dim": 10, "output_dim": 4}, [t])
                else:
                    self.layer("Dense", "dense", {"units": self.size()[0]}, [t])
