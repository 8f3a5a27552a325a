"""``python -m bts_desk.service``: the same as the ``bts-sync-server`` command."""

import sys

from bts_desk.service.cli import main

sys.exit(main())
