"""kodcode: verified synthetic coding data, TRL training and benchmark evaluation.

Entry points: ``python -m kodcode.synth``, ``python -m kodcode.train``, ``python -m kodcode.eval``
and ``python -m kodcode.exec verify`` (see README.md).
"""

from pathlib import Path

__version__ = "0.1.0"

# conf/ sits beside the package in a source checkout (the supported install is `pip install -e .`).
CONF_DIR = Path(__file__).resolve().parent.parent / "conf"
