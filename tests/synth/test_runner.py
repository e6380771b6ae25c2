"""The synth runner: manifests written last, skip on match, resume after a crash, shards, errors."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from kodcode import CONF_DIR
from kodcode.config import ConfigError
from kodcode.llm import LLMError
from kodcode.synth import runner
from kodcode.synth.runner import StageContext, run, stage

HERE = Path(__file__).parent
SEEDS = CONF_DIR / "synth" / "seeds"


def base_cfg(run_dir: Path, stages, **extra) -> dict:
    cfg = {
        "run_dir": str(run_dir),
        "stages": stages,
        "progress": False,
        "llm": {"backend": "scripted", "script": "runner_double:reply", "progress": False},
        "model": {"name_or_path": "scripted"},
        "wandb": {"mode": "disabled"},
        "stage": {"seeded": {"subsets": ["apps", "taco"]}, "prefill": {"num_questions": 4, "n_per_call": 2}},
        "subsets": {
            "prefill": {"name": "Prefill"},
            "apps": {"name": "Apps", "num_prompts": 5, "seeds": {"path": str(SEEDS / "apps.jsonl")}},
            "taco": {"name": "Taco", "num_prompts": 5, "seeds": {"path": str(SEEDS / "taco.jsonl")}},
        },
    }
    cfg.update(extra)
    return cfg


@pytest.fixture(autouse=True)
def _double_on_path(monkeypatch):
    monkeypatch.syspath_prepend(str(HERE))


def part(run_dir: Path, name: str, shard="00000-of-00001") -> list[dict]:
    return [json.loads(x) for x in (run_dir / name / f"part-{shard}.jsonl").read_text().splitlines()]


def manifest(run_dir: Path, name: str) -> dict:
    return json.loads((run_dir / name / "manifest-00000-of-00001.json").read_text())


def test_finished_stages_are_skipped_and_a_changed_stage_reruns(tmp_path):
    cfg = base_cfg(tmp_path / "run", ["prefill", "seeded"])
    first = run(cfg)
    assert [v["status"] for v in first["stages"].values()] == ["ran", "ran"]
    m = manifest(tmp_path / "run", "seeded")
    assert m["counts"] == {"input": 4, "output": 14, "questions_Apps": 5, "questions_Taco": 5}
    assert set(m) >= {"config_hash", "input_hash", "output_hash", "code_version", "timings", "git_commit"}
    assert [v["status"] for v in run(cfg)["stages"].values()] == ["skipped", "skipped"]
    cfg["stage"]["seeded"]["temperature"] = 0.5  # only seeded's config changed
    assert [v["status"] for v in run(cfg)["stages"].values()] == ["skipped", "ran"]
    cfg["force"] = ["prefill"]  # prefill reruns; its output is unchanged, so seeded's input hash matches
    assert [v["status"] for v in run(cfg)["stages"].values()] == ["ran", "skipped"]


def test_a_part_without_manifest_is_not_taken_as_finished(tmp_path):
    run_dir = tmp_path / "run"
    run(base_cfg(run_dir, ["prefill"]))
    (run_dir / "prefill" / "manifest-00000-of-00001.json").unlink()  # as if killed between the two writes
    assert run(base_cfg(run_dir, ["prefill"]))["stages"]["prefill"]["status"] == "ran"


def test_unknown_stage_names_are_listed_with_known_ones(tmp_path):
    with pytest.raises(ConfigError) as e:
        run(base_cfg(tmp_path / "run", ["prefill", "sovle", "dedupe"]))
    sovle, dedupe = e.value.problems
    assert sovle.startswith("stages: sovle: no @stage('sovle') is registered") and sovle.endswith("did you mean solve?")
    assert dedupe.endswith("did you mean dedup?") and "seeded" in dedupe  # the known stages are listed


def test_stage_settings_are_validated_before_anything_runs(tmp_path):
    cfg = base_cfg(tmp_path / "run", ["prefill", "dedup"])
    cfg["stage"]["dedup"] = {"threshold": 2.0, "mode": "both"}
    with pytest.raises(ConfigError) as e:
        run(cfg)
    assert "stage.dedup.mode=both: must be one of keep_one, kodcode" in str(e.value)
    assert "stage.dedup.threshold=2.0: must be > 0 and <= 1 (a cosine similarity)" in str(e.value)
    assert not (tmp_path / "run" / "prefill").exists()


def run_cli_stage(run_dir: Path, log: Path, kill_at: int = 0) -> subprocess.CompletedProcess:
    code = (
        "import json, sys; sys.path.insert(0, %r); from kodcode.synth.runner import run; "
        "run(json.loads(sys.argv[1]))" % str(HERE)
    )
    env = {**os.environ, "RUNNER_LOG": str(log), "RUNNER_KILL_AT": str(kill_at)}
    return subprocess.run([sys.executable, "-c", code, json.dumps(base_cfg(run_dir, ["prefill", "seeded"]))],
                          env=env, capture_output=True, text=True)


def test_killed_mid_stage_resumes_without_repeating_finished_requests(tmp_path):
    # Uninterrupted reference run.
    ref = run_cli_stage(tmp_path / "ref", tmp_path / "ref.log")
    assert ref.returncode == 0, ref.stderr
    total = len((tmp_path / "ref.log").read_text().splitlines())  # 2 prefill + 10 seeded requests
    # Killed (SIGKILL) while seeded's 6th request is being answered.
    log = tmp_path / "run.log"
    killed = run_cli_stage(tmp_path / "run", log, kill_at=2 + 6)
    assert killed.returncode == -9
    assert (tmp_path / "run" / "prefill" / "manifest-00000-of-00001.json").exists()
    assert not (tmp_path / "run" / "seeded" / "manifest-00000-of-00001.json").exists()
    resumed = run_cli_stage(tmp_path / "run", log)
    assert resumed.returncode == 0, resumed.stderr
    sent = log.read_text().splitlines()
    # Every request was answered once, except the one in flight at the kill.
    assert len(sent) == total + 1 and len(set(sent)) == total
    assert set(sent) == set((tmp_path / "ref.log").read_text().splitlines())
    assert part(tmp_path / "run", "seeded") == part(tmp_path / "ref", "seeded")


def test_shards_then_unsharded_run_equals_one_unsharded_run(tmp_path):
    for i in range(3):
        run(base_cfg(tmp_path / "sharded", ["prefill", "seeded"], shard=f"{i}/3"))
    merged = run(base_cfg(tmp_path / "sharded", ["prefill", "seeded"]))
    assert [v["status"] for v in merged["stages"].values()] == ["skipped", "skipped"]
    run(base_cfg(tmp_path / "whole", ["prefill", "seeded"]))
    whole = part(tmp_path / "whole", "seeded")
    sharded = [r for i in range(3) for r in part(tmp_path / "sharded", "seeded", f"{i:05d}-of-00003")]
    assert sorted(r["question_id"] for r in sharded) == sorted(r["question_id"] for r in whole)
    assert merged["output"] == len(whole)


def test_shard_must_be_i_of_n(tmp_path):
    with pytest.raises(ConfigError, match=r"shard=3/3: must look like i/n with 0 <= i < n"):
        run(base_cfg(tmp_path / "run", ["prefill"], shard="3/3"))


CALLS: list[int] = []


@stage("_test_square")
def _square(records: list[dict], ctx: StageContext) -> list[dict]:
    def compute(batch):
        CALLS.extend(r["x"] for r in batch)
        if ctx.cfg.get("crash_at") in [r["x"] for r in batch]:
            raise RuntimeError("simulated crash")
        return [r["x"] ** 2 for r in batch]

    values = ctx.checkpoint(records, compute, key=lambda r: str(r["x"]), batch_size=2)
    return [{**r, "y": v} for r, v in zip(records, values)]


def test_checkpoint_keeps_finished_batches_across_a_crash(tmp_path):
    data = tmp_path / "in.jsonl"
    data.write_text("".join(json.dumps({"x": i}) + "\n" for i in range(7)))
    cfg = base_cfg(tmp_path / "run", ["_test_square"], input=str(data))
    cfg["stage"]["_test_square"] = {"crash_at": 4}
    CALLS.clear()
    with pytest.raises(RuntimeError, match="simulated crash"):
        run(cfg)
    assert CALLS == [0, 1, 2, 3, 4, 5]
    cfg["stage"]["_test_square"] = {}
    CALLS.clear()
    run(cfg)
    assert CALLS == [4, 5, 6]  # batches [0,1] and [2,3] were not computed again
    assert [r["y"] for r in part(tmp_path / "run", "_test_square")] == [i * i for i in range(7)]
    assert not list((tmp_path / "run" / "_test_square").glob("checkpoint-*"))


def test_unreachable_server_fails_with_one_message_and_keeps_finished_stages(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = base_cfg(tmp_path / "run", ["prefill", "seeded"])
    cfg["roles"] = {"questions": {"llm": {"backend": "openai", "base_url": f"http://127.0.0.1:{port}/v1",
                                          "max_retries": 1, "backoff_s": 0.01}}}
    with pytest.raises(LLMError, match=f"could not reach the OpenAI-compatible server at llm.base_url=http://127.0.0.1:{port}/v1"):
        run(cfg)
    assert (tmp_path / "run" / "prefill" / "manifest-00000-of-00001.json").exists()
    del cfg["roles"]
    assert [v["status"] for v in run(cfg)["stages"].values()] == ["skipped", "ran"]


def test_shard_set_of_a_first_stage_is_not_reused_for_another_input(tmp_path):
    rows = [{"x": i} for i in range(6)]
    data = tmp_path / "in.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    for i in range(2):
        run(base_cfg(tmp_path / "run", ["_test_square"], input=str(data), shard=f"{i}/2"))
    assert run(base_cfg(tmp_path / "run", ["_test_square"], input=str(data)))["stages"]["_test_square"]["status"] == "skipped"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows[:5]))  # the input changed
    assert run(base_cfg(tmp_path / "run", ["_test_square"], input=str(data)))["stages"]["_test_square"]["status"] == "ran"


@stage("_test_exec")
def _uses_exec(records: list[dict], ctx: StageContext) -> list[dict]:
    ctx.exec_config()
    return records


def test_exec_settings_rerun_only_stages_that_used_exec(tmp_path):
    cfg = base_cfg(tmp_path / "run", ["prefill", "_test_exec"])
    cfg["exec"] = {"workers": 2, "timeout_s": 10.0}
    run(cfg)
    cfg["exec"] = {"workers": 8, "timeout_s": 10.0}  # operational: nothing reruns
    assert [v["status"] for v in run(cfg)["stages"].values()] == ["skipped", "skipped"]
    cfg["exec"] = {"workers": 8, "timeout_s": 30.0}  # changes verdicts: only the exec stage reruns
    assert [v["status"] for v in run(cfg)["stages"].values()] == ["skipped", "ran"]


def test_every_experiment_role_merges_into_a_valid_llm_and_model():
    """(That each whole experiment validates is tests/test_config.py's.)  A role's llm/model override,
    merged over the top level, is a valid config of its own."""
    from hydra import compose, initialize_config_dir

    from kodcode.config import validate
    from kodcode.llm import LLMConfig, ModelConfig

    roles = 0
    for path in sorted((CONF_DIR / "synth" / "experiment").glob("*.yaml")):
        with initialize_config_dir(config_dir=str(CONF_DIR / "synth"), version_base=None):
            cfg = runner.validate_config(compose(config_name="synth", overrides=[f"+experiment={path.stem}"]),
                                         check_inputs=False)
        for role in cfg.roles:
            llm, model = runner.RunState(cfg, Path("."), (0, 1)).role_config(role)
            validate(llm, LLMConfig), validate(model, ModelConfig)
            roles += 1
    assert roles > 0  # the paper experiments name their roles' models
