"""``python -m kodcode.synth [overrides]``: build the dataset with the stages named in config.

    python -m kodcode.synth +experiment=smoke          # Steps 1-3 on CPU with the tiny model, offline (smoke_step1: Step 1 only)
    python -m kodcode.synth llm=vllm model=... stages=[seeded,dedup] run_dir=runs/x

Problems a user can fix (config, seeds, an unreachable server) end the run with one message;
finished stages and cached LLM results stay on disk, so the same command resumes.
"""

import hydra

from kodcode import CONF_DIR
from kodcode.config import ConfigError
from kodcode.llm import LLMError
from kodcode.synth.runner import run
from kodcode.synth.seeds import SeedError
from kodcode.synth.store import DataError

USER_ERRORS = (ConfigError, LLMError, SeedError, DataError, FileNotFoundError)


@hydra.main(config_path=str(CONF_DIR / "synth"), config_name="synth", version_base=None)
def main(cfg) -> None:
    try:
        run(cfg)
    except USER_ERRORS as e:
        raise SystemExit(f"kodcode.synth: error: {e}") from None


if __name__ == "__main__":
    main()
