"""``python -m bts_desk``: the same as the ``bts-desk`` console script."""

from bts_desk.app import main

raise SystemExit(main())
