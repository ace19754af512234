"""``python -m fakeserver``: the same as the ``fakeserver`` command."""

import sys

from fakeserver.cli.main import main

sys.exit(main())
