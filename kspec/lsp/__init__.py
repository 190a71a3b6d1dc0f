"""``kspec lsp``: a language server with kspec's own checks, for any LSP editor.

It publishes ``kspec check``'s diagnostics as the spec is typed, shows a node's inferred
output shape and parameter count on hover (and an expression's value, an argument's meaning),
goes to the definition of node, input, block and param names, finds their references, renames
them across the spec, and completes references, blocks, params, layer types and layer
arguments. Set-up for VS Code, Neovim and Helix: docs/editors.md.

Needs the ``lsp`` extra (``pip install 'kspec[lsp]'``: pygls). Never imports TensorFlow.
:mod:`kspec.lsp.analysis` is the one module that uses kspec's internals.
"""
