"""On the real benchmark files in ../shared/data/benchmarks (skipped when absent, e.g. a fresh clone)."""

from pathlib import Path

import pytest

from kodcode.eval import bigcodebench as bcb
from kodcode.eval import evalplus_bench as ep
from kodcode.eval.references import evalplus_solutions
from kodcode.exec import ExecConfig, Executor

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "benchmarks"
pytestmark = pytest.mark.skipif(not DATA.exists(), reason=f"{DATA} not present")


def test_bigcodebench_file_upgrades_to_the_v014_task_set():
    full = bcb.load_tasks(str(DATA / "BigCodeBench-v0.1.0.jsonl.gz"), "full")
    hard = bcb.load_tasks(str(DATA / "BigCodeBench-v0.1.0.jsonl.gz"), "hard")
    assert (len(full), len(hard)) == (1140, 148)
    t211 = next(t for t in hard if t.task_id == "BigCodeBench/211")
    assert "mock_response.status_code = 200" in t211.test  # fix_v023


def test_evalplus_files_load_with_official_sizes():
    assert len(ep.load_problems("humaneval", str(DATA / "HumanEvalPlus-v0.1.10.jsonl.gz"))) == 164
    assert len(ep.load_problems("mbpp", str(DATA / "MbppPlus-v0.2.0.jsonl.gz"))) == 378


@pytest.mark.slow
def test_humaneval_canonical_gives_the_official_verdicts(tmp_path, request):
    if "slow" not in (request.config.getoption("-m") or ""):
        pytest.skip("scores all of HumanEval+ (~1 min); run with -m slow")
    problems = ep.load_problems("humaneval", str(DATA / "HumanEvalPlus-v0.1.10.jsonl.gz"))
    path = str(DATA / "HumanEvalPlus-v0.1.10.jsonl.gz")
    with Executor(ep.exec_config(ExecConfig(workers=2))) as ex:
        recs = ep.score("humaneval", problems, evalplus_solutions(problems, "canonical"), ex, data_path=path,
                        cache_dir=str(tmp_path / "cache"))
    assert [r["task_id"] for r in recs if not r["passed"]] == ["HumanEval/32"]  # fails its own oracle
    assert round(ep.pass_at_1(recs)["plus"], 1) == 99.4
