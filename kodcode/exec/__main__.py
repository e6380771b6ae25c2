"""``python -m kodcode.exec``: see kodcode/exec/cli.py."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
