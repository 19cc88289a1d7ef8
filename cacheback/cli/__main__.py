"""``python -m cacheback.cli``: the same as the ``cacheback`` command."""

import sys

from . import main

sys.exit(main())
