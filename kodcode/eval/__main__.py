"""``python -m kodcode.eval``: Hydra entry point (config in conf/eval/); all work happens in ``runner.run``."""

import hydra

from kodcode import CONF_DIR
from kodcode.config import ConfigError


@hydra.main(config_path=str(CONF_DIR / "eval"), config_name="eval", version_base=None)
def main(cfg) -> None:
    from kodcode.eval.runner import run

    try:
        run(cfg)
    except ConfigError as e:  # a config a user can fix: one message listing every problem, no traceback
        raise SystemExit(f"kodcode.eval: error: {e}") from None


if __name__ == "__main__":
    main()
