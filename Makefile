# Shortcuts for the two README commands (the README spells them out for machines without make).
.PHONY: demo test lint bench

demo:
	python3 -m venv .venv && .venv/bin/pip install -q -e '.[tensorflow]' && .venv/bin/kspec check examples/ && .venv/bin/kspec compile examples/mnist_mlp.yaml --target subclass -o mnist_mlp.py && .venv/bin/kspec summary examples/mnist_mlp.yaml

test:
	python3 -m venv .venv && .venv/bin/pip install -q -e '.[tensorflow,dev]' && .venv/bin/python -m pytest -n 2

lint:
	.venv/bin/ruff check kspec tests && .venv/bin/ruff format --check kspec tests && .venv/bin/mypy kspec
