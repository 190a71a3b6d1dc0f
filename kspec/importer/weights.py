"""Copying weights between a Keras model and the model rebuilt from its imported spec, matched
by :func:`kspec.importer.names.weight_key` (so a flat ``conv2_block1_1_conv`` finds the layer
``n_1_conv`` of the block instance ``conv2_block1``)."""

from __future__ import annotations

from typing import Any

from kspec.importer.names import weight_key


def _children(layer: Any) -> list[Any]:
    return [
        c
        for c in layer._flatten_layers(include_self=False, recursive=False)
        if type(c).__name__ != "InputLayer"
    ]


def _walked(layer: Any) -> bool:
    """Functional and Sequential models (nested models, and kspec's functional blocks) and
    kspec's block layers (registered in the package ``kspec.<spec name>``) are walked into. Any
    other layer holds its weights whole, in its tracking order: a custom layer's own sublayers
    may have names Keras made up, which differ between the original and the rebuilt model."""
    import keras

    cls = type(layer)
    if cls.__name__ in ("Functional", "Sequential"):
        return True
    return str(keras.saving.get_registered_name(cls)).startswith("kspec.")


def weighted_layers(model: Any) -> list[tuple[str, Any, list[Any]]]:
    """Every layer with weights (its weight key, the layer, its weights), in the order the
    models and blocks that hold them list their layers (a Functional model: the order it calls
    them). A custom container's own variables count as a layer of their own."""
    out: list[tuple[str, Any, list[Any]]] = []
    stack: list[tuple[tuple[str, ...], Any, list[Any] | None]] = [((), model, None)]
    while stack:
        path, layer, variables = stack.pop()
        if variables is not None:
            out.append((weight_key(path), layer, variables))
            continue
        children = _children(layer)
        inner = {id(v) for c in children for v in c.weights}
        todo = [
            ((*path, c.name), c, None if _walked(c) else list(c.weights))
            for c in children
            if _walked(c) or c.weights
        ]
        stack.extend(reversed(todo))
        own = [v for v in layer.weights if id(v) not in inner] if path else []
        if own:  # a custom container's own variables, before its layers'
            stack.append((path, layer, own))
    return out


def named_weights(model: Any) -> dict[str, tuple[Any, list[Any]]]:
    """Every layer with weights and its weights, keyed by the weight key of its name path.
    Raises ValueError when two layers have the same key (the names do not tell them apart)."""
    out: dict[str, tuple[Any, list[Any]]] = {}
    for key, layer, variables in weighted_layers(model):
        if key in out:
            raise ValueError(f"two layers have the weight key {key!r}")
        out[key] = (layer, variables)
    return out


def _by_order(src: Any, dst: Any) -> list[tuple[str, tuple[Any, list[Any]], tuple[Any, list[Any]]]]:
    """Layers paired by order where their names do not correspond (names Keras made up, which
    a block found by structure does not keep): the n-th layer of a class and weight shapes in
    one model is the n-th such layer in the other. Raises ValueError if the two models do not
    have the same layers of each kind."""

    def kind(layer: Any, weights: list[Any]) -> tuple[Any, ...]:
        return (type(layer).__name__, *(tuple(w.shape) for w in weights))

    theirs: dict[tuple[Any, ...], list[tuple[Any, list[Any]]]] = {}
    for _, layer, weights in weighted_layers(dst):
        theirs.setdefault(kind(layer, weights), []).append((layer, weights))
    pairs = []
    for key, layer, weights in weighted_layers(src):
        same = theirs.get(kind(layer, weights))
        if not same:
            raise ValueError(f"layer {key} has no layer of its kind in the other model")
        pairs.append((key, (layer, weights), same.pop(0)))
    left = [k for same in theirs.values() for k in same]
    if left:
        raise ValueError(f"the second model has {len(left)} layers more with weights")
    return pairs


def copy_weights(src: Any, dst: Any) -> int:
    """Copy every weight of ``src`` into the corresponding layer of ``dst``; returns how many
    variables were copied. Layers correspond by weight key; where the two models' keys
    differ, by order (:func:`_by_order`). Raises ValueError if the layers do not correspond
    one to one."""
    a, b = named_weights(src), named_weights(dst)
    if set(a) == set(b):
        pairs = [(key, a[key], b[key]) for key in a]
    else:
        try:
            pairs = _by_order(src, dst)
        except ValueError:
            only_a, only_b = sorted(set(a) - set(b)), sorted(set(b) - set(a))
            raise ValueError(
                f"the models' layers differ: only in the first {only_a[:5]}, "
                f"only in the second {only_b[:5]}"
            ) from None
    count = 0
    for key, (_, variables), (layer, targets) in pairs:
        if len(variables) != len(targets) or any(
            tuple(v.shape) != tuple(t.shape) for v, t in zip(variables, targets, strict=True)
        ):
            raise ValueError(f"layer {key} has weights of other shapes in the two models")
        for v, t in zip(variables, targets, strict=True):
            t.assign(v)
            count += 1
        # what Keras does after loading weights: a Normalization recomputes its mean and
        # variance tensors from the variables
        if hasattr(layer, "finalize_state"):
            layer.finalize_state()
    return count
