"""``+experiment=paper`` composes from conf/ and puts KodCode's settings into each stage's config."""

from pathlib import Path

import pytest

from kodcode import CONF_DIR
from kodcode.config import validate
from kodcode.synth.config import SynthConfig
from kodcode.synth.runner import RunState, resolve_stage, stage_config


@pytest.fixture(scope="module")
def paper():
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(CONF_DIR / "synth"), version_base=None):
        cfg = validate(compose(config_name="synth", overrides=["+experiment=paper"]), SynthConfig)
    return cfg, {name: stage_config(resolve_stage(name), cfg) for name in cfg.stages}


def test_paper_sampling_settings_land_in_the_stage_configs(paper):
    cfg, stages = paper
    got = {name: (s.temperature, s.top_p, s.max_tokens) for name, s in stages.items()
           if name in ("prefill", "seeded", "snippets", "docs", "solve", "respond")}
    assert got == {"prefill": (1.0, 1.0, 2048), "seeded": (0.0, 1.0, 8192), "snippets": (0.0, 1.0, 8192),
                   "docs": (0.0, 1.0, 8192), "solve": (1.0, 1.0, 8192), "respond": (1.0, 1.0, 16384)}
    assert (stages["solve"].n, stages["respond"].k, stages["prefill"].n_per_call) == (10, 3, 200)
    assert (stages["filter"].temperature, stages["filter"].max_tokens) == (0.0, 1024)
    assert (stages["convert"].temperature, stages["convert"].max_tokens) == (0.0, 8192)
    assert stages["prefill"].prefixes == ["Write a function to", "Write a Python function", "Create a function that"]
    assert stages["seeded"].subsets[0] == "leetcode"  # the stage's own defaults are kept under the overrides
    assert (stages["dedup"].embedder, stages["dedup"].mode, stages["dedup"].k) == (
        "sentence-transformers/all-mpnet-base-v2", "kodcode", 100)
    assert stages["label"].trial_prefix == "trial_gpt4o" and stages["verify"].recheck_rounds == 0
    assert cfg.exec["timeout_s"] == 30


def test_paper_models_per_role(paper):
    cfg, _ = paper
    state = RunState(cfg, Path("."), (0, 1))
    models = {role: (state.role_config(role)[0]["backend"], state.role_config(role)[1]["name_or_path"])
              for role in ("prefill", "questions", "annotator", "solve", "convert", "respond")}
    assert models == {"prefill": ("vllm", "Qwen/Qwen2.5-Coder-7B-Instruct"),
                      "questions": ("openai", "gpt-4o-2024-05-13"),
                      "annotator": ("vllm", "meta-llama/Llama-3.1-8B-Instruct"),
                      "solve": ("openai", "gpt-4o-2024-05-13"), "convert": ("openai", "gpt-4o-2024-05-13"),
                      "respond": ("openai", "deepseek-ai/DeepSeek-R1")}
    assert state.role_config("respond")[0]["base_url"] == "https://api.together.xyz/v1"
    assert state.role_config("prefill")[0]["max_model_len"] == 4096
