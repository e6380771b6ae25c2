"""``python -m kodcode.eval``: Hydra entry point (config in conf/eval/); all work happens in ``runner.run``."""

import hydra

from kodcode import CONF_DIR


@hydra.main(config_path=str(CONF_DIR / "eval"), config_name="eval", version_base=None)
def main(cfg) -> None:
    from kodcode.eval.runner import run

    run(cfg)


if __name__ == "__main__":
    main()
