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


def named_weights(model: Any) -> dict[str, tuple[Any, list[Any]]]:
    """Every layer with weights and its weights, keyed by the weight key of its name path.
    Raises ValueError when two layers have the same key (the names do not tell them apart)."""
    out: dict[str, tuple[Any, list[Any]]] = {}
    stack: list[tuple[tuple[str, ...], Any]] = [((), model)]
    while stack:
        path, container = stack.pop()
        inner: set[int] = set()
        for child in _children(container):
            key_path = (*path, child.name)
            inner.update(id(v) for v in child.weights)
            if _walked(child):
                stack.append((key_path, child))
            elif child.weights:
                _put(out, weight_key(key_path), child, list(child.weights))
        own = [v for v in container.weights if id(v) not in inner] if path else []
        if own:  # a custom container's own variables
            _put(out, weight_key(path), container, own)
    return out


def _put(out: dict[str, tuple[Any, list[Any]]], key: str, layer: Any, variables: list[Any]) -> None:
    if key in out:
        raise ValueError(f"two layers have the weight key {key!r}")
    out[key] = (layer, variables)


def copy_weights(src: Any, dst: Any) -> int:
    """Copy every weight of ``src`` into the corresponding layer of ``dst``; returns how many
    variables were copied. Raises ValueError if the layers do not correspond one to one."""
    a, b = named_weights(src), named_weights(dst)
    if set(a) != set(b):
        only_a, only_b = sorted(set(a) - set(b)), sorted(set(b) - set(a))
        raise ValueError(
            f"the models' layers differ: only in the first {only_a[:5]}, "
            f"only in the second {only_b[:5]}"
        )
    count = 0
    for key, (_, variables) in a.items():
        layer, targets = b[key]
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
