"""kodcode: verified synthetic coding data, TRL training and benchmark evaluation.

Entry points: ``python -m kodcode.synth``, ``python -m kodcode.train``, ``python -m kodcode.eval``
and ``python -m kodcode.exec verify`` (see README.md).
"""

from pathlib import Path

__version__ = "0.1.0"

# The Hydra configs ship inside the package (package data), so an installed wheel has them too;
# `--config-dir DIR` adds a directory of ones own to the search path.
PACKAGE_DIR = Path(__file__).resolve().parent
CONF_DIR = PACKAGE_DIR / "conf"
