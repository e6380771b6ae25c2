"""Live progress: the status line's numbers, the heartbeat thread printing while a stage runs,
and the closing funnel table."""

import io
import threading
from dataclasses import dataclass
from pathlib import Path

from kodcode.llm.base import LLMStats
from kodcode.synth.progress import Heartbeat, funnel_table
from kodcode.synth.runner import run, stage

HERE = Path(__file__).parent


@dataclass
class _Backend:  # only what the heartbeat reads: a backend's counters
    stats: LLMStats


def test_start_line_is_printed_at_once_with_the_rows_in():
    out = io.StringIO()
    hb = Heartbeat({}, n_stages=3, interval_s=0, stream=out)
    hb.start_stage("solve", 1, 40)
    assert out.getvalue() == "[synth 2/3 solve] started: 40 rows in\n"


def test_status_line_counts_llm_requests_tokens_and_jobs_of_this_stage_only():
    llm = _Backend(LLMStats(requests=100, cached=10, generated=90, completion_tokens=9000))
    hb = Heartbeat({"a": llm}, n_stages=1, interval_s=0, stream=io.StringIO())
    hb.start_stage("solve", 0, 5)  # the 100 earlier requests belong to an earlier stage
    llm.stats.requests += 40
    llm.stats.generated += 10
    llm.stats.completion_tokens += 500
    jobs = hb.work("jobs", 8)
    jobs.advance(2)
    snap = hb.snapshot()
    assert (snap["llm_requests"], snap["llm_done"], snap["jobs_done"], snap["jobs_total"]) == (40, 10, 2, 8)
    assert snap["llm_tok_per_s"] > 0 and snap["eta_s"] > 0
    line = hb.line()
    assert "llm 10/40 req" in line and "jobs 2/8" in line and "ETA 0:" in line


class _Watch(io.StringIO):
    """A stream that lets a waiting stage go on once a status line (not the start line) arrives."""

    def __init__(self):
        super().__init__()
        self.beat = threading.Event()

    def write(self, s):
        if "| jobs 3/10" in s:
            self.beat.set()
        return super().write(s)


def test_heartbeat_prints_status_lines_while_a_stage_runs(tmp_path, monkeypatch):
    watch = _Watch()
    seen = {}

    @stage("progress_probe")
    def _probe(records, ctx):
        work = ctx.work("jobs", 10)
        work.advance(3)
        seen["beat"] = watch.beat.wait(60)  # returns as soon as the heartbeat thread printed
        return records

    monkeypatch.setattr("sys.stderr", watch)
    summary = run({"run_dir": str(tmp_path / "run"), "stages": ["progress_probe"], "heartbeat_s": 0.05,
                   "progress": False, "llm": {"backend": "scripted", "script": "runner_double:reply"},
                   "model": {"name_or_path": "scripted"}, "wandb": {"mode": "disabled"}})
    assert seen["beat"] is True
    assert summary["stages"]["progress_probe"]["status"] == "ran"
    assert "[synth 1/1 progress_probe] started: 0 rows in" in watch.getvalue()


def test_funnel_table_has_one_row_per_stage_with_in_out_and_change():
    table = funnel_table({"stages": {
        "prefill": {"status": "ran", "counts": {"input": 0, "output": 8}, "seconds": 3.5,
                    "llm": {"hf:tiny": {"generated": 2, "completion_tokens": 177}}},
        "dedup": {"status": "skipped", "counts": {"input": 8, "output": 6}},
    }}).splitlines()
    assert table[0].split() == ["stage", "status", "rows", "in", "rows", "out", "change", "seconds", "llm", "req",
                                "llm", "tokens"]
    assert table[2].split() == ["prefill", "ran", "0", "8", "+8", "3.5", "2", "177"]
    assert table[3].split() == ["dedup", "skipped", "8", "6", "-2"]
