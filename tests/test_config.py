"""The config schemas: every shipped config validates clean, and a broken one reports every problem at once."""

from dataclasses import dataclass, field

import pytest
from hydra import compose, initialize_config_dir

from kodcode import CONF_DIR
from kodcode.config import ConfigError, problems_of, setting, validate
from kodcode.eval.schema import EvalConfig
from kodcode.exec.config import ExecConfig
from kodcode.synth.runner import validate_config
from kodcode.train.config import TrainConfig

VALIDATORS = {
    # check_inputs=False: the seed files the primary synth config and `paper` read are the user's to provide
    "synth": lambda cfg: validate_config(cfg, check_inputs=False),
    "train": lambda cfg: validate(cfg, TrainConfig),
    "eval": lambda cfg: validate(cfg, EvalConfig),
}
# The one value a primary config leaves to the command line on purpose (``???``).
REQUIRED = {"train": ["data.path=rows.jsonl"]}


def _compose(entry: str, overrides: list[str]):
    with initialize_config_dir(str(CONF_DIR / entry), version_base=None):
        return compose(entry, overrides=overrides)


def _shipped():
    for entry in sorted(VALIDATORS):
        yield entry, None
        for path in sorted((CONF_DIR / entry / "experiment").glob("*.yaml")):
            yield entry, path.stem


@pytest.mark.parametrize(("entry", "experiment"), list(_shipped()))
def test_every_shipped_config_validates_clean(entry, experiment):
    overrides = [f"+experiment={experiment}"] if experiment else REQUIRED.get(entry, [])
    typed = VALIDATORS[entry](_compose(entry, overrides))
    assert type(typed).__name__ == {"synth": "SynthConfig", "train": "TrainConfig", "eval": "EvalConfig"}[entry]


def _problems(entry: str, overrides: list[str]) -> list[str]:
    with pytest.raises(ConfigError) as e:
        VALIDATORS[entry](_compose(entry, overrides))
    return e.value.problems


def test_train_reports_every_problem_with_its_path_value_and_rule():
    problems = _problems("train", ["data.path=rows.jsonl", "exec.timeout_s=-1", "reward.funcs=[unit_test,speed]",
                                   "peft=lora", "peft.r=0", "wandb.mode=loud", "+memory.card_gbb=40", "data.max_rows=0"])
    assert problems == [
        "data.max_rows=0: must be > 0 (null keeps every row); set data.max_rows=null",
        "wandb.mode=loud: must be one of offline, online, disabled (offline writes a local run to sync later; "
        "online streams, which needs network and a key); set wandb.mode=offline",
        "reward.funcs=['unit_test', 'speed']: must be one of unit_test, format (not allowed: speed); "
        "set reward.funcs=[unit_test,format]",
        "exec.timeout_s=-1: must be > 0 (CPU seconds per pytest job, per case for stdio/call jobs); "
        "set exec.timeout_s=10.0",
        "memory.card_gbb=40: not a key of MemoryConfig; did you mean memory.card_gb?",
        "peft.r=0: must be > 0 (the adapters' rank); set peft.r=16",
    ]


def test_synth_reports_top_level_stage_subset_and_exec_problems_in_one_pass():
    problems = _problems("synth", ["+experiment=smoke", "heartbeat_s=-1", "stage.dedup.threshold=2",
                                   "+stage.dedup.treshold=0.9", "subsets.leetcode.seeds_per_prompt=0",
                                   "+exec.workerz=2", "+stage.dedupe.k=3"])
    assert problems[0].startswith("heartbeat_s=-1: must be >= 0")
    by_path = {p.split("=")[0].split(":")[0]: p for p in problems}
    assert set(by_path) == {"heartbeat_s", "exec.workerz", "subsets.leetcode.seeds_per_prompt", "stage.dedup.treshold",
                            "stage.dedup.threshold", "stage.dedupe"}
    assert by_path["exec.workerz"].endswith("did you mean exec.workers?")
    assert by_path["stage.dedup.treshold"].endswith("did you mean stage.dedup.threshold?")
    assert by_path["stage.dedupe"].endswith("did you mean stage.dedup?")
    assert by_path["stage.dedup.threshold"].startswith("stage.dedup.threshold=2: must be > 0 and <= 1")
    assert by_path["subsets.leetcode.seeds_per_prompt"].startswith("subsets.leetcode.seeds_per_prompt=0: must be >= 1")


def test_eval_reports_problems_in_benchmarks_generation_and_samples():
    problems = _problems("eval", ["+experiment=smoke", "benchmark.livecodebench.release=release_v99",
                                  "benchmark.bigcodebench.splits=[complete,chat]", "generation.temperature=-0.5",
                                  "+samples.humanevalplus=s.jsonl"])
    assert [p.split(":")[0] for p in problems] == [
        "benchmark.bigcodebench.splits=['complete', 'chat']", "benchmark.livecodebench.release=release_v99",
        "generation.temperature=-0.5", "samples"]
    assert "not allowed: chat" in problems[0]
    assert "its keys must be one of humaneval, mbpp" in problems[3] and "not allowed: humanevalplus" in problems[3]


def test_unknown_key_without_a_near_name_lists_the_known_ones():
    problems = _problems("eval", ["+experiment=smoke", "+leaderboard.zzz=1"])
    assert problems == ["leaderboard.zzz=1: not a key of LeaderboardConfig; known keys: compare, paper_rows, wandb"]


def test_a_type_error_and_a_mandatory_value_are_reported_with_the_rest():
    problems = _problems("train", ["data.max_rows=many", "exec.workers=-2"])
    assert problems == [
        "data.path=???: required and missing; set it on the command line (data.path=...)",
        "data.max_rows=many: must be of type int | None (got str)",
        "exec.workers=-2: must be >= 0 (0 means one per CPU core); set exec.workers=0",
    ]


@dataclass
class _Inner:
    ratio: float = setting(0.5, ge=0, le=1)
    names: list[str] = setting(default_factory=lambda: ["a"], one_of=("a", "b"), min_len=1, fix="[a]")


@dataclass
class _Outer:
    inner: _Inner = field(default_factory=_Inner)
    limit: int | None = setting(None, gt=0, fix="null")


def test_rules_on_a_schema_built_in_python():
    assert problems_of(_Outer()) == []
    assert problems_of(_Outer(_Inner(ratio=1.5, names=[]), limit=0), "x") == [
        "x.inner.ratio=1.5: must be >= 0 and <= 1; set x.inner.ratio=0.5",
        "x.inner.names=[]: must not be empty; set x.inner.names=[a]",
        "x.limit=0: must be > 0; set x.limit=null",
    ]
    assert problems_of(ExecConfig(isolation="docker"), "exec") == [
        "exec.isolation=docker: must be one of auto, namespaces, degraded; set exec.isolation=auto"]
