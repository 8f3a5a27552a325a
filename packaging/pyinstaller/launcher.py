"""Entry script of the PyInstaller bundle: exactly what the ``bts-desk`` console script runs.

PyInstaller needs a script, not an entry point; this one only hands over to
``bts_desk.app.main`` on the main thread and exits with its status.
"""

import multiprocessing
import sys

from bts_desk.app import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # a frozen child process must not start a second desk
    sys.exit(main())
