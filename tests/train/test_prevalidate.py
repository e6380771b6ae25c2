"""RL prevalidation: rows whose reference solution fails its own tests in the sandbox are dropped,
counted, cached by content, and a set with no solvable row is refused."""

from __future__ import annotations

import json

import pytest

from kodcode.exec.config import ExecConfig
from kodcode.train.config import DataConfig
from kodcode.train.data import FIXTURES, load_splits
from kodcode.train.prevalidate import Prevalidator, settings_key
from kodcode.train.rewards import ExecBackend

EXEC = ExecConfig(workers=2, timeout_s=5.0)


def _rows(tmp_path, broken: int):
    rows = [json.loads(line) for line in (FIXTURES / "smoke_rl.jsonl").read_text().splitlines()]
    for r in rows[:broken]:
        r["solution"] = r["solution"].replace("return", "return None and", 1)
    path = tmp_path / "rl.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


@pytest.fixture(scope="module")
def backend():
    b = ExecBackend(EXEC)
    yield b
    b.close()


def test_rows_whose_reference_fails_are_dropped_and_counted(tmp_path, backend):
    check = Prevalidator(EXEC, backend, cache=tmp_path / "cache")
    splits = load_splits(DataConfig(format="kodcode_rl", path=_rows(tmp_path, broken=2)), "grpo", check_rows=check)
    assert splits.counts["unsolvable"] == 2 and splits.counts["train"] == 4
    assert "Prefill_0_I" not in splits.train["question_id"]


def test_a_rerun_is_answered_from_the_cache(tmp_path, backend):
    path = _rows(tmp_path, broken=1)
    first = Prevalidator(EXEC, backend, cache=tmp_path / "cache")
    load_splits(DataConfig(format="kodcode_rl", path=path), "grpo", check_rows=first)
    again = Prevalidator(EXEC, backend, cache=tmp_path / "cache")
    splits = load_splits(DataConfig(format="kodcode_rl", path=path), "grpo", check_rows=again)
    assert (first.ran, again.ran) == (6, 0)
    assert splits.counts["unsolvable"] == 1


def test_the_cache_is_keyed_by_the_sandbox_limits():
    assert settings_key(EXEC) != settings_key(ExecConfig(workers=2, timeout_s=20.0))
    assert settings_key(EXEC) == settings_key(ExecConfig(workers=8, timeout_s=5.0))  # workers decide no verdict


def test_a_set_with_no_solvable_row_is_refused(tmp_path, backend):
    check = Prevalidator(EXEC, backend, cache=tmp_path / "cache")
    with pytest.raises(ValueError, match="no RL rows left .* after prevalidation"):
        load_splits(DataConfig(format="kodcode_rl", path=_rows(tmp_path, broken=6)), "grpo", check_rows=check)


def test_rows_without_a_reference_solution_are_refused(tmp_path, backend):
    rows = [{k: v for k, v in json.loads(line).items() if k != "solution"}
            for line in (FIXTURES / "smoke_rl.jsonl").read_text().splitlines()]
    (tmp_path / "rl.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    check = Prevalidator(EXEC, backend, cache=tmp_path / "cache")
    with pytest.raises(ValueError, match="no `solution` column"):
        load_splits(DataConfig(format="kodcode_rl", path=str(tmp_path / "rl.jsonl")), "grpo", check_rows=check)
