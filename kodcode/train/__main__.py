"""``python -m kodcode.train [overrides]``: SFT or GRPO with TRL (see kodcode/train/runner.py)."""

import hydra
from omegaconf import DictConfig

from kodcode import CONF_DIR


@hydra.main(config_path=str(CONF_DIR / "train"), config_name="train", version_base=None)
def main(cfg: DictConfig) -> None:
    from kodcode.train.runner import run

    run(cfg)


if __name__ == "__main__":
    main()
