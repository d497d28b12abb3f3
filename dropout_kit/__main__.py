"""``python -m dropout_kit`` is the ``dropout-kit`` command."""

from dropout_kit.cli import main

raise SystemExit(main())
