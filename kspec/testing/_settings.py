"""What the strategy draws: hostile names, descriptions, and which constructs are on."""

from __future__ import annotations

from kspec.spec import names

#: The length to feed for an unknown (``null``) size of an input: every drawn spec is valid
#: for it (pooling and cropping never shrink such a size below 1).
UNKNOWN_DIM = 6

#: Names that are Python keywords, builtins, names generated code uses, or attributes of
#: ``keras.Model``: drawn as node, input, param, block, output and model names.
HOSTILE_NAMES: tuple[str, ...] = (
    "class", "lambda", "self", "tf", "keras", "inputs", "x", "layers", "output", "name",
    "weights", "call", "model", "build_model", "input", "max", "i", "instance", "tensors",
    "config",
)  # fmt: skip

#: Param names kspec rejects (Keras' own constructor arguments): the checker's own set.
RESERVED_PARAMS = names.RESERVED_PARAMS

_PARAM_NAMES = tuple(n for n in HOSTILE_NAMES if n not in RESERVED_PARAMS)

_DESCRIPTIONS = (
    "A drawn model.",
    'Tricky """ description \\ with "quotes" and # hashes',
    "Two\nlines: the second one.",
    'Ends with a quote"',
    "Unicode: \u00e9t\u00e9, \u4e2d\u6587, \u2603.",
    "'single' and ''' triple ''' quotes",
)

# Constructs the strategy draws (True), or leaves out because kspec gets them wrong (False; switch
# one on to check a fix). Fixed: an `inputs` mapping in any key order; `outputs: [x]` (a list
# of one, a tensor in both targets); a share with `inputs: [x]`; a block named `name`; block
# `outputs: [x]`.
_MAPPING_ANY_ORDER = True
_OUTPUTS_LIST_OF_ONE = True
_SHARE_LIST_OF_ONE = True
_BLOCK_NAMED_NAME = True
_BLOCK_OUTPUTS_LIST_OF_ONE = True
# - Embedding `mask_zero: true`: the subclass model loses the mask in some graphs (a masked
#   embedding used by MultiHeadAttention and by a pooling layer) and the targets disagree;
#   Keras' Softmax layer also fails on a masked 3-D input in both targets.
_MASK_ZERO = False

FLOAT = "float32"
INT = "int32"
