"""One graph being drawn (the model's, or a block's body): its tensors, names and params, and
the small draws every layer step uses."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from kspec.testing._oracle import (
    _MERGES,
    TT,
    _layer_out,
)
from kspec.testing._replay import (
    BlockDef,
)
from kspec.testing._settings import (
    _BLOCK_OUTPUTS_LIST_OF_ONE,
    _PARAM_NAMES,
    HOSTILE_NAMES,
)
from kspec.testing._values import (
    _DOMAINS,
    Param,
    _ev,
    _ex,
    _forms,
    _param,
)

# -- the generator --------------------------------------------------------------------------


@dataclass
class _Tensor:
    ref: str  # "node", "node[i]" or an input name
    tt: TT
    owner: str  # the node or input it comes from
    state: bool = False  # a recurrent layer's state (good initial_state material)


class _Ctx:
    """What one draw shares across its graphs: the blocks and the draw function."""

    def __init__(self, draw: Callable[..., Any], max_blocks: int, max_depth: int):
        self.draw = draw
        self.blocks: dict[str, BlockDef] = {}
        self.block_names: set[str] = set()  # defined or being drawn
        self.max_blocks = max_blocks
        self.max_depth = max_depth


class GraphBase:
    """One graph being drawn: the model's, or a block's body."""

    def __init__(
        self,
        ctx: _Ctx,
        inputs: Sequence[tuple[str, TT]],
        depth: int,
        names: set[str] | None = None,
        params: list[Param] | None = None,
    ):
        self.ctx = ctx
        self.draw = ctx.draw
        self.depth = depth  # 0: the model; 1: a block; 2: a block inside a block
        self.names: set[str] = set(names or ()) | {n for n, _ in inputs}
        self.params: list[Param] = params if params is not None else []
        self.env: dict[str, Any] = {p.name: p.default for p in self.params}
        self.input_names = [n for n, _ in inputs]
        self.pool: list[_Tensor] = [_Tensor(n, tt, n) for n, tt in inputs]
        self.nodes: list[dict[str, Any]] = []
        self.used: set[str] = set()
        self.implicit: str | None = self.input_names[0] if len(inputs) == 1 else None
        self.shared: list[tuple[str, str, dict[str, Any], TT]] = []  # name, type, args, input
        self.implicit_of: dict[str, str] = {}  # node without `inputs` -> what it takes
        self.count = 0  # nodes drawn, block bodies included

    # -- small draws ----------------------------------------------------------------------

    def pick_index(self, n: int, most: int = 8) -> int:
        return self.draw(st.integers(0, min(n, most) - 1))

    def choose(self, items: Sequence[Any]) -> Any:
        item = items[self.draw(st.integers(0, len(items) - 1))]
        return list(item) if isinstance(item, list) else item  # never share a list

    def chance(self, weight: int = 2) -> bool:
        """True about once in ``weight`` draws (shrinks to False)."""
        return self.draw(st.integers(0, weight - 1)) == weight - 1

    def fresh(self, base: str, repeat: int = 0) -> str:
        """A new node name: sometimes a hostile one, else ``base`` with a number."""

        def free(n: str) -> bool:
            return n not in self.names and all(
                f"{n}_{j}" not in self.names for j in range(1, repeat + 1)
            )

        k = self.draw(st.integers(0, 2 * len(HOSTILE_NAMES)))
        if 0 < k <= len(HOSTILE_NAMES) and free(HOSTILE_NAMES[k - 1]):
            name = HOSTILE_NAMES[k - 1]
        else:
            j = 1
            while not free(f"{base}{j}"):
                j += 1
            name = f"{base}{j}"
        self.names.add(name)
        self.names.update(f"{name}_{j}" for j in range(1, repeat + 1))
        return name

    def param_name(self) -> str:
        taken = {p.name for p in self.params}
        if self.depth > 0:
            # kspec reserves `call` for block params (KS209): an instance's `call:` key is the
            # node's constant call arguments.
            taken.add("call")
        k = self.draw(st.integers(0, len(_PARAM_NAMES)))
        if k and _PARAM_NAMES[k - 1] not in taken:
            return _PARAM_NAMES[k - 1]
        j = 1
        while f"p{j}" in taken:
            j += 1
        return f"p{j}"

    def new_param(self, kind: str, default: Any = None) -> Param:
        if default is None:
            default = self.choose(_DOMAINS[kind])
        p = Param(self.param_name(), kind, default)
        self.params.append(p)
        self.env[p.name] = default
        return p

    def value(self, kind: str, literals: Sequence[Any] | None = None) -> tuple[Any, Any]:
        """An argument of a param kind: ``(spec value, its value now)``: a literal, or an
        expression over a (possibly new) param of this graph."""
        mode = self.draw(st.integers(0, 3))
        if mode < 2:
            v = self.choose(literals if literals is not None else _DOMAINS[kind])
            return v, v
        params = [p for p in self.params if p.kind == kind]
        p = self.choose(params) if params and mode == 2 else self.new_param(kind)
        text, fn = self.choose(_forms(kind, p.name))
        value = fn(self.env[p.name])
        return _ex(text, p.name, fn), value

    def size(self, match: Sequence[int] = ()) -> tuple[Any, int]:
        """A positive size: drawn, or (to make merges possible) one of ``match``."""
        if match and self.chance(3):
            target = self.choose(match)
            return self.match(target), target
        return self.value("size")

    def match(self, target: int) -> Any:
        """Exactly ``target``: a literal, or ``$p`` for a param of that value."""
        equal = [p for p in self.params if p.kind == "size" and self.env[p.name] == target]
        if equal and self.chance():
            p = self.choose(equal)
            return _param(p.name)
        return target

    def pick(self, pred: Callable[[_Tensor], bool], most: int = 8) -> _Tensor | None:
        cands = [t for t in reversed(self.pool) if pred(t)]
        if not cands:
            return None
        return cands[self.pick_index(len(cands), most)]

    def last_dims(self) -> list[int]:
        return sorted({t.tt.last for t in self.pool if isinstance(t.tt.last, int)})

    # -- adding nodes ---------------------------------------------------------------------

    def inputs_value(self, ts: Sequence[_Tensor], list_of_one: bool = True) -> Any:
        """How a node names its one input: omitted (the previous node), a reference, or a
        list of one."""
        if len(ts) == 1:
            t = ts[0]
            if t.ref == self.implicit and not self.chance(3):
                return None
            return [t.ref] if list_of_one and self.chance(6) else t.ref
        return [t.ref for t in ts]

    def add(
        self,
        node: dict[str, Any],
        consumed: Sequence[_Tensor],
        outs: Sequence[TT],
        state_from: int = 99,
    ) -> list[_Tensor]:
        """Append a node (its ``inputs`` already set or omitted) and pool its outputs."""
        if node.get("inputs") is None:
            node.pop("inputs", None)
            assert self.implicit is not None
            self.implicit_of[node["name"]] = self.implicit
        self.nodes.append(node)
        self.count += 1
        for t in consumed:
            self.used.add(t.owner)
        name = node["name"]
        if len(outs) == 1:
            made = [_Tensor(name, outs[0], name)]
        else:
            made = [
                _Tensor(f"{name}[{i}]", tt, name, state=i >= state_from)
                for i, tt in enumerate(outs)
            ]
        self.pool.extend(made)
        self.implicit = name if len(outs) == 1 else None
        return made

    def layer(
        self,
        t: str,
        base: str,
        args: dict[str, Any],
        ts: Sequence[_Tensor],
        inputs: Any = "auto",
        call: dict[str, Any] | None = None,
        shareable: bool = True,
        state_from: int = 99,
    ) -> list[_Tensor]:
        """Add a ``type: t`` node on tensors ``ts``; its output types are computed by
        :func:`_layer_out` (the same function the replay of blocks uses)."""
        name = self.fresh(base)
        node: dict[str, Any] = {"name": name, "type": t, **args}
        if inputs == "auto":
            inputs = self.inputs_value(ts)
        node["inputs"] = inputs
        if call:
            node["call"] = call
        ev_args = _ev(args, self.env)
        ins = self._resolve_types(inputs, ts)
        outs = _layer_out(t, ev_args, ins, _ev(call or {}, self.env))
        if outs is None:  # a bug in this module, not in kspec
            raise AssertionError(f"kspec.testing drew an invalid {t} node: {node} on {ins}")
        if shareable and len(ts) == 1 and t not in _MERGES:
            self.shared.append((name, t, ev_args, ts[0].tt))
        return self.add(node, ts, outs, state_from)

    def _resolve_types(self, inputs: Any, ts: Sequence[_Tensor]) -> Any:
        by_ref = {t.ref: t.tt for t in ts}
        if inputs is None:
            return [ts[0].tt]
        if isinstance(inputs, str):
            return [by_ref[inputs]]
        if isinstance(inputs, list):
            return [by_ref[r] for r in inputs]
        return {
            k: [by_ref[r] for r in v] if isinstance(v, list) else by_ref[v]
            for k, v in inputs.items()
        }

    # -- the ops --------------------------------------------------------------------------

    def floats(self, rank: int | None = None, known: bool = False) -> Callable[[_Tensor], bool]:
        def pred(t: _Tensor) -> bool:
            return (
                t.tt.is_float
                and (rank is None or t.tt.rank == rank)
                and t.tt.rank >= 1
                and isinstance(t.tt.last, int)
                and (not known or t.tt.known)
            )

        return pred

    def shuffle(self) -> None:
        """Sometimes write the nodes out of order (references to later nodes are allowed:
        kspec orders the graph itself); every node then names its inputs."""
        if len(self.nodes) < 2 or not self.chance(5):
            return
        for node in self.nodes:
            if "inputs" not in node:
                node["inputs"] = self.implicit_of[node["name"]]
        self.nodes = self.draw(st.permutations(self.nodes))

    def leaves(self) -> list[_Tensor]:
        """One tensor of each node no other node uses."""
        out: list[_Tensor] = []
        seen: set[str] = set()
        for t in self.pool:
            if t.owner in self.input_names or t.owner in self.used or t.owner in seen:
                continue
            seen.add(t.owner)
            out.append(t)
        return out

    @staticmethod
    def can_fix(t: _Tensor, want: TT) -> bool:
        """Whether a Dense projection gives ``t`` the type ``want``."""
        return t.tt == want or (
            t.tt.rank == want.rank
            and t.tt.shape[:-1] == want.shape[:-1]
            and isinstance(want.last, int)
            and t.tt.is_float
        )

    def fix_to(self, t: _Tensor, want: TT) -> _Tensor:
        """``t`` made to have type ``want`` (see :meth:`can_fix`)."""
        if t.tt == want:
            return t
        assert isinstance(want.last, int)
        (out,) = self.layer("Dense", "fix", {"units": self.match(want.last)}, [t])
        return out

    def finish_block(self, preserve: bool) -> tuple[list[str], bool]:
        """The block's outputs. With ``preserve`` (and inputs of one type), the block keeps its
        input types so that ``repeat`` can chain it."""
        ins = [t for t in self.pool if t.owner in self.input_names]
        leaves = self.leaves()
        want = ins[0].tt
        if (
            preserve
            and all(i.tt == want for i in ins)
            and want.is_float
            and all(self.can_fix(leaf, want) for leaf in leaves)
        ):
            fixed = [self.fix_to(leaf, want) for leaf in leaves]
            if len(fixed) > 1:
                refs = [f.ref for f in fixed]
                (merged,) = self.layer("Add", "sum", {}, fixed, refs, shareable=False)
            else:
                merged = fixed[0]
            if self.chance(2):
                t = ins[0]
                (merged,) = self.layer("Add", "skip", {}, [merged, t], [merged.ref, t.ref])
            outs = [merged]
            for _ in ins[1:]:
                (o,) = self.layer("LayerNormalization", "norm", {}, [merged])
                outs.append(o)
            self.used.update(o.owner for o in outs)
            return [o.ref for o in outs], len(outs) > 1 or (
                _BLOCK_OUTPUTS_LIST_OF_ONE and self.chance(6)
            )
        refs = [t.ref for t in leaves]
        return refs, len(refs) > 1
