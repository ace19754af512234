"""``python -m fakeserver``: the same as the ``fakeserver`` command."""

import sys

from fakeserver.cli import main

sys.exit(main())
