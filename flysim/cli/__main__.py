"""``python -m flysim.cli``: the ``flysim`` command."""

import sys

from .commands import main

sys.exit(main())
