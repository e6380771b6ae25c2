"""A run killed with SIGKILL mid-stage and restarted ends exactly like an uninterrupted run.

Runs ``python -m kodcode.synth`` (Steps 2-3, scripted replies that log every backend call and
sleep a little so the kill lands mid-stage) in subprocesses: killed twice (during solve, then
during respond), restarted each time, and compared with an uninterrupted run of the same config.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from test_steps23 import STEPS23, write_inputs

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).parent


def _command(tmp: Path, run_dir: Path) -> list[str]:
    questions, sources = write_inputs(tmp)
    src = "[" + ",".join(f"{{name:{s['name']},path:'{s['path']}',fields:[prompt]}}" for s in sources) + "]"
    return [sys.executable, "-m", "kodcode.synth", f"run_dir={run_dir}", f"input={questions}",
            "stages=[" + ",".join(STEPS23) + "]", "llm.backend=scripted", "++llm.script=test_steps23_script:reply",
            "model.name_or_path=scripted", "wandb.mode=disabled", "progress=false", "exec.workers=2",
            "stage.solve.n=3", "stage.verify.batch_size=2", f"stage.decontaminate.sources={src}",
            # Decontamination has no LLM calls or checkpoints to resume; off, every process skips loading
            # the embedding model (test_steps23 covers it).
            "stage.decontaminate.enabled=false"]


def _env(log: Path, slow: float) -> dict:
    env = dict(os.environ, KODCODE_TEST_CALL_LOG=str(log), KODCODE_TEST_SLOW=str(slow),
               PYTHONPATH=os.pathsep.join([str(HERE), str(ROOT), os.environ.get("PYTHONPATH", "")]))
    return env


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def _run_until(cmd, env, log: Path, calls: int | None, timeout: float = 240) -> str | None:
    """Run; SIGKILL once the call log holds ``calls`` distinct requests.  Returns the one in flight."""
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    deadline = time.time() + timeout
    try:
        while proc.poll() is None and time.time() < deadline:
            if calls is not None and len(set(_lines(log))) >= calls:
                os.killpg(proc.pid, signal.SIGKILL)  # the run and its sandbox workers, no cleanup
                proc.wait()
                return _lines(log)[-1]
            time.sleep(0.02)
        out = proc.communicate(timeout=max(1.0, deadline - time.time()))[0].decode()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 0, out[-3000:]
    return None


def _final(run_dir: Path) -> list[dict]:
    return [json.loads(x) for x in _lines(run_dir / "export" / "part-00000-of-00001.jsonl")]


def test_killed_and_resumed_run_equals_uninterrupted(tmp_path):
    ref_log, ref_dir = tmp_path / "ref.log", tmp_path / "ref"
    _run_until(_command(tmp_path, ref_dir), _env(ref_log, 0.0), ref_log, None)
    reference = _final(ref_dir)
    assert len(reference) == 4

    log, run_dir = tmp_path / "calls.log", tmp_path / "run"
    cmd, env = _command(tmp_path, run_dir), _env(log, 0.15)
    in_flight = [_run_until(cmd, env, log, 5)]  # during solve (12 requests)
    assert not (run_dir / "solve" / "manifest-00000-of-00001.json").exists()
    in_flight.append(_run_until(cmd, env, log, 12 + 3 + 2))  # during respond (after solve, convert's 3)
    assert (run_dir / "convert" / "manifest-00000-of-00001.json").exists()
    assert not (run_dir / "respond" / "manifest-00000-of-00001.json").exists()
    _run_until(cmd, env, log, None)

    assert _final(run_dir) == reference  # same rows, same order: nothing lost, nothing doubled
    calls, ref_calls = _lines(log), _lines(ref_log)
    assert set(calls) == set(ref_calls)
    repeated = [k for k in set(calls) if calls.count(k) > 1]
    # Only a request that was in flight at a kill may be asked again; finished ones come from the cache.
    assert set(repeated) <= set(in_flight)
    assert len(calls) - len(set(calls)) <= len(in_flight)
