"""``python -m kodcode.train [overrides]``: SFT or GRPO with TRL (see kodcode/train/runner.py)."""

import hydra
from omegaconf import DictConfig

from kodcode import CONF_DIR
from kodcode.config import ConfigError


@hydra.main(config_path=str(CONF_DIR / "train"), config_name="train", version_base=None)
def main(cfg: DictConfig) -> None:
    from kodcode.train.runner import run

    try:
        run(cfg)
    except ConfigError as e:  # a config a user can fix: one message listing every problem, no traceback
        raise SystemExit(f"kodcode.train: error: {e}") from None


if __name__ == "__main__":
    main()
