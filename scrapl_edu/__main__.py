"""``python -m scrapl_edu``: the ``scrapl-edu`` command (course, lab, docs)."""

from scrapl_edu.cli import main

raise SystemExit(main())
