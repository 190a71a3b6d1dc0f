"""The importer's block finder and its naming rule, on hand-made graphs (no TensorFlow): which
groups become blocks, their params, expressions, repeats, and the weight keys that keep the
block instances' layers matched with the original flat layers."""

from __future__ import annotations

import pytest

from kspec.importer.blocks import find_blocks
from kspec.importer.emit import render
from kspec.importer.ir import Graph, Imported, Node, Ref
from kspec.importer.names import spec_name, weight_key


def conv(name: str, src: str, filters: int, strides: int = 1) -> Node:
    args = {"filters": filters, "kernel_size": 3}
    if strides != 1:
        args["strides"] = strides
    full = {"filters": filters, "kernel_size": 3, "strides": strides}
    return Node(name, "type", "Conv2D", args, full, Ref(src), weighted=True)


def relu(name: str, src: str) -> Node:
    return Node(name, "type", "ReLU", {}, {}, Ref(src))


def add(name: str, a: str, b: str, anonymous: bool = False) -> Node:
    return Node(
        name,
        "op" if anonymous else "type",
        "add" if anonymous else "Add",
        {},
        {},
        [Ref(a), Ref(b)],
        anonymous=anonymous,
    )


def unit(prefix: str, src: str, filters: int, strides: int = 1) -> list[Node]:
    """A residual unit named like Keras applications: prefix_1_conv, prefix_1_relu, ..."""
    return [
        conv(f"{prefix}_1_conv", src, filters, strides),
        relu(f"{prefix}_1_relu", f"{prefix}_1_conv"),
        conv(f"{prefix}_2_conv", f"{prefix}_1_relu", filters),
        relu(f"{prefix}_2_relu", f"{prefix}_2_conv"),
        conv(f"{prefix}_3_conv", f"{prefix}_2_relu", filters * 4),
        add(f"{prefix}_add", src, f"{prefix}_3_conv"),
    ]


def imported(nodes: list[Node], outputs: str) -> Imported:
    return Imported("m", Graph({"x": {"shape": [8, 8, 4]}}, nodes, Ref(outputs)))


def test_weight_key_matches_block_paths_with_flat_names() -> None:
    assert weight_key(["conv2_block1", "n_1_conv"]) == weight_key(["conv2_block1_1_conv"])
    assert weight_key(["encoder", "dense"]) == "encoder_dense"
    assert weight_key(["a-b"]) == weight_key([spec_name("a-b")]) == "a_b"
    assert spec_name("1_conv") == "n_1_conv"
    assert weight_key(["stage_n_1"]) == "stage_n_1"  # only a leading n_ before a digit goes


def test_repeated_units_become_one_block_with_params_and_an_expression() -> None:
    nodes = [
        *unit("s1_u1", "x", 8),
        *unit("s1_u2", "s1_u1_add", 8),
        *unit("s2_u1", "s1_u2_add", 16, 2),
        *unit("s2_u2", "s2_u1_add", 16),
    ]
    spec = imported(nodes, "s2_u2_add")
    find_blocks(spec)
    [block] = spec.blocks
    assert block.name == "s_u"
    assert block.params == {"filters": 8, "strides": 1}  # the first of equally common values
    assert [n.name for n in block.graph.nodes] == [
        "n_1_conv",
        "n_1_relu",
        "n_2_conv",
        "n_2_relu",
        "n_3_conv",
        "add",
    ]
    assert block.graph.nodes[4].args["filters"] == "${filters * 4}"
    assert [(n.name, n.target, n.args) for n in spec.graph.nodes] == [
        ("s1_u1", "s_u", {}),
        ("s1_u2", "s_u", {}),
        ("s2_u1", "s_u", {"filters": 16, "strides": 2}),
        ("s2_u2", "s_u", {"filters": 16}),
    ]
    assert spec.graph.outputs == Ref("s2_u2")
    text = render(spec)
    assert "      - {name: add, type: Add, inputs: [x, n_3_conv]}" in text
    assert "  - {name: s2_u1, block: s_u, filters: 16, strides: 2}" in text


def test_instances_named_p_1_to_p_n_that_chain_become_a_repeat() -> None:
    nodes = [
        *unit("stage_1", "x", 8),
        *unit("stage_2", "stage_1_add", 8),
        *unit("stage_3", "stage_2_add", 8),
        relu("top", "stage_3_add"),
    ]
    spec = imported(nodes, "top")
    find_blocks(spec)
    assert [(n.name, n.repeat) for n in spec.graph.nodes] == [("stage", 3), ("top", None)]
    assert spec.graph.nodes[1].inputs == Ref("stage")


def test_made_up_names_of_weightless_nodes_join_the_node_they_read() -> None:
    # ConvNeXt: `x + inputs` is an op Keras names add, add_1, ...
    nodes = []
    src = "x"
    for k in range(5):
        nodes += [
            conv(f"b{k}_conv", src, 8),
            relu(f"b{k}_act", f"b{k}_conv"),
            add(f"add_{k}" if k else "add", src, f"b{k}_act", anonymous=True),
        ]
        src = nodes[-1].name
    spec = imported(nodes, src)
    find_blocks(spec)
    [block] = spec.blocks
    assert [n.name for n in block.graph.nodes] == ["conv", "act", "add"]
    assert [n.name for n in spec.graph.nodes] == ["b0", "b1", "b2", "b3", "b4"]


def test_a_group_with_a_path_out_and_back_is_not_a_block() -> None:
    # a_mid reads from a_1 and feeds a_2: replacing {a_1, a_2} by one node would make a cycle
    def chain(p: str, src: str) -> list[Node]:
        return [
            conv(f"{p}_1", src, 4),
            relu(f"{p}mid", f"{p}_1"),
            add(f"{p}_2", f"{p}mid", f"{p}_1"),
        ]

    spec = imported([*chain("a", "x"), *chain("b", "a_2"), *chain("c", "b_2")], "c_2")
    find_blocks(spec)
    assert spec.blocks == []


def test_a_layer_shared_with_the_outside_keeps_its_group_flat() -> None:
    nodes = [
        *unit("u1", "x", 4),
        *unit("u2", "u1_add", 4),
        *unit("u3", "u2_add", 4),
        *unit("u4", "u3_add", 4),
    ]
    nodes.append(Node("again", "share", "u1_1_conv", inputs=Ref("u4_add")))
    spec = imported(nodes, "again")
    find_blocks(spec)
    assert [n.name for n in spec.graph.nodes][:2] == ["u1_1_conv", "u1_1_relu"]
    assert [n.name for n in spec.graph.nodes if n.kind == "block"] == ["u2", "u3", "u4"]


@pytest.mark.parametrize("count", [1, 2])
def test_blocks_that_would_not_save_lines_are_not_made(count: int) -> None:
    nodes = [relu("a_1", "x"), relu("a_2", "a_1")]
    for k in range(1, count):
        nodes += [relu(f"b{k}_1", nodes[-1].name), relu(f"b{k}_2", f"b{k}_1")]
    spec = imported(nodes, nodes[-1].name)
    find_blocks(spec)
    assert spec.blocks == []


def dense(name: str, src: str, units: int) -> Node:
    return Node(name, "type", "Dense", {"units": units}, {"units": units}, Ref(src), weighted=True)


def encoder(k: int, src: str) -> list[Node]:
    """A Transformer-like layer written as a function called in a loop: Keras' made-up names
    (``dense_3``, ``add_1``) say nothing of the structure."""
    d1, d2, a, n = (f"dense_{2 * k}", f"dense_{2 * k + 1}", f"add_{k}", f"layer_normalization_{k}")
    return [
        dense(d1, src, 16),
        dense(d2, d1, 8),
        add(a, d2, src, anonymous=True),
        Node(n, "type", "LayerNormalization", {}, {}, Ref(a), weighted=True),
    ]


def test_made_up_names_that_repeat_by_structure_become_a_repeat() -> None:
    nodes = [
        *encoder(0, "x"),
        *encoder(1, "layer_normalization_0"),
        *encoder(2, "layer_normalization_1"),
    ]
    nodes.append(dense("head", "layer_normalization_2", 2))
    spec = imported(nodes, "head")
    find_blocks(spec)
    [block] = spec.blocks
    assert block.by_structure and block.name == "dense_block"
    assert [(n.name, n.target) for n in block.graph.nodes] == [
        ("dense", "Dense"),
        ("dense_2", "Dense"),
        ("add", "add"),
        ("layer_normalization", "LayerNormalization"),
    ]
    assert block.graph.nodes[2].inputs == [Ref("dense_2"), Ref("x")]
    assert [(n.name, n.repeat, n.inputs) for n in spec.graph.nodes] == [
        ("dense_block", 3, Ref("x")),
        ("head", None, Ref("dense_block")),
    ]


def test_copies_that_do_not_chain_stay_flat() -> None:
    # the same four nodes three times, but each copy reads the model's input: not a chain
    nodes = [*encoder(0, "x"), *encoder(1, "x"), *encoder(2, "x")]
    nodes.append(add("out", "layer_normalization_1", "layer_normalization_2"))
    spec = imported(nodes, "out")
    find_blocks(spec)
    assert spec.blocks == []
    assert len(spec.graph.nodes) == 13


def test_a_copy_read_from_inside_is_not_an_instance() -> None:
    # the head reads the middle of the second copy: the run stops before that copy
    nodes = [
        *encoder(0, "x"),
        *encoder(1, "layer_normalization_0"),
        *encoder(2, "layer_normalization_1"),
    ]
    nodes.append(add("out", "layer_normalization_2", "dense_3"))
    spec = imported(nodes, "out")
    find_blocks(spec)
    assert spec.blocks == []
    assert len(spec.graph.nodes) == 13


def test_layers_someone_named_are_not_grouped_by_structure() -> None:
    # MobileNet's conv_dw_6 / conv_pw_6: the same chain, but the names are the model's own,
    # and loading its weights by name needs them
    nodes = []
    src = "x"
    for k in range(4):
        nodes += [dense(f"fc_{k}_a", src, 16), dense(f"fc_{k}_b", f"fc_{k}_a", 8)]
        nodes.append(Node(f"norm{k}", "type", "LayerNormalization", {}, {}, Ref(f"fc_{k}_b")))
        src = f"norm{k}"
    spec = imported(nodes, src)
    find_blocks(spec)
    assert not any(b.by_structure for b in spec.blocks)
    assert "norm3" in {n.name for n in spec.graph.nodes}


def stage(k: int, src: str, units: int) -> list[Node]:
    """A U-Net-like stage with made-up names whose width changes from stage to stage."""
    d1, d2, a = (f"dense_{2 * k}", f"dense_{2 * k + 1}", f"add_{k}")
    return [dense(d1, src, units), dense(d2, d1, units), add(a, d2, src, anonymous=True)]


def test_copies_that_differ_in_values_become_instances_with_params() -> None:
    nodes = [*stage(0, "x", 8), *stage(1, "add_0", 16), *stage(2, "add_1", 32)]
    nodes += [*stage(3, "add_2", 64), *stage(4, "add_3", 128)]
    spec = imported(nodes, "add_4")
    find_blocks(spec)
    [block] = spec.blocks
    assert block.by_structure and block.params == {"units": 8}
    assert [n.args for n in block.graph.nodes[:2]] == [{"units": "$units"}, {"units": "$units"}]
    assert [(n.name, n.args, n.repeat) for n in spec.graph.nodes] == [
        ("dense_block_1", {}, None),
        ("dense_block_2", {"units": 16}, None),
        ("dense_block_3", {"units": 32}, None),
        ("dense_block_4", {"units": 64}, None),
        ("dense_block_5", {"units": 128}, None),
    ]
