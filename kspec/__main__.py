"""``python -m kspec``: the same as the ``kspec`` command."""

from kspec.cli import main

raise SystemExit(main())
