"""``python -m toonemo_lib.cli``: the ``toonemo`` command."""

import sys

from . import main

sys.exit(main())
