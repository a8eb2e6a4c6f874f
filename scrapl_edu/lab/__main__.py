"""``python -m scrapl_edu.lab ...``: the command line (:mod:`scrapl_edu.lab.cli`)."""

import sys

from scrapl_edu.lab.cli import main

sys.exit(main())
