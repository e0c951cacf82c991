"""``python -m alphapose`` = the ``alphapose`` command."""

import sys

from alphapose.cli import main

sys.exit(main())
