"""Helpers for the layers that work on spatial axes: convolution, pooling, padding, cropping,
up-sampling. A tensor is ``(batch, *spatial, channels)`` or ``(batch, channels, *spatial)``.
"""

from __future__ import annotations

from collections.abc import Sequence

from kspec.layers.base import Call, Shape, ShapeError, channels_first, format_shape, need_rank

_SPATIAL_NAMES = {1: ("steps",), 2: ("height", "width"), 3: ("depth", "height", "width")}


def layout(n: int, channels_first: bool) -> str:
    names = ["batch", *_SPATIAL_NAMES[n]]
    if channels_first:
        names.insert(1, "channels")
    else:
        names.append("channels")
    return "(" + ", ".join(names) + ")"


def spatial_hint(t: str, n: int, x: Shape) -> str:
    if len(x) < n + 2:
        return (
            f"add a Reshape before it that gives the input {n} spatial axes and a channel axis "
            f"(e.g. target_shape: [{', '.join(['...'] * n)}, 1])"
            + (", or use a Dense layer on flat features" if len(x) == 2 else "")
        )
    return f"{t} works on {n} spatial axes; use the layer of the matching rank, or Reshape first"


def spatial_input(c: Call, n: int) -> tuple[Shape, bool]:
    """The main input of a layer over ``n`` spatial axes, checked for its rank, and whether it
    is channels-first."""
    x = c.x
    cf = channels_first(c)
    need_rank(c.type, x, n + 2, layout(n, cf), spatial_hint(c.type, n, x))
    return x, cf


def split(x: Shape, channels_first: bool) -> tuple[int | None, Shape]:
    """(channels, spatial sizes) of a (batch, ..., channels) or (batch, channels, ...) shape."""
    return (x[1], x[2:]) if channels_first else (x[-1], x[1:-1])


def join(x: Shape, channels: int | None, spatial: Sequence[int | None], cf: bool) -> Shape:
    return (x[0], channels, *spatial) if cf else (x[0], *spatial, channels)


def too_small(t: str, what: str, size: int, out: int, axis: int, hint: str) -> ShapeError:
    return ShapeError(
        "KS404",
        f"{t}: the input is too small for {what}: {size} -> {out} along axis {axis}",
        hint,
    )


def sliding(
    t: str,
    spatial: Sequence[int | None],
    windows: Sequence[int],
    strides: Sequence[int],
    dilations: Sequence[int],
    padding: str,
    first: int,
    label: str,
    hint: str,
) -> list[int | None]:
    """Output sizes of a window (kernel or pool) sliding over ``spatial``: ``valid`` or
    ``same`` padding; a size that would be zero or negative is KS404."""
    out: list[int | None] = []
    for i, (d, k, s, r) in enumerate(zip(spatial, windows, strides, dilations, strict=True)):
        if d is None:
            out.append(None)
        elif padding == "valid":
            size = (d - r * (k - 1) - 1) // s + 1
            if size <= 0:
                what = f"{label} {k}" + (f" with dilation_rate {r}" if r != 1 else "")
                raise too_small(t, f"{what} with padding valid", d, size, first + i, hint)
            out.append(size)
        else:
            out.append((d - 1) // s + 1)
    return out


def known_channels(t: str, channels: int | None, x: Shape, cf: bool) -> int:
    """The input's channel count, which a kernel's size depends on (KS403 if unknown)."""
    if channels is None:
        raise ShapeError(
            "KS403",
            f"{t} needs a known number of input channels (axis {1 if cf else len(x) - 1}); "
            f"got {format_shape(x)}",
            "the kernel's size depends on it: give the input a fixed channel count "
            "(e.g. shape: [null, null, 3]), or project to a fixed width first",
        )
    return channels
