"""Score answers with exactly the GRPO unit-test reward: the tool to reach for when a reward curve looks wrong.

    python -m kodcode.train.score IN.jsonl[.gz] --out OUT.jsonl [--workers N] [--timeout S]
        [--partial-credit] [--socket PATH] [--python PATH] [--batch-size 64] [--no-progress]

Rows are in KodCode's columns: ``question``, the pytest ``test`` (or ``test_code``), ``test_info`` (the
entry point and KodCode's function-name repair come from it; optional), and the answer as
``response`` or the last assistant turn of ``messages`` (``role``/``content``) or ``conversations``
(``from``/``value``). Every answer goes through ``kodcode.train.rewards.UnitTestScorer``, the object
the trainer's ``unit_test`` reward calls, on the same execution engine (in-process, or the exec
server at ``--socket``). Each output row keeps its input fields and adds ``reward`` (``null`` for a
sandbox outage), ``status`` (pass / fail / error / timeout / sandbox_error / no_code, or
``malformed`` for a row that could not be read, with ``message``), ``code`` (the program that was
run), ``reason`` (why there was no program), ``renamed_from``, ``n_tests``, ``n_passed`` and
``tripwires``.

OUT is resumable: rows already scored there (by input line) are skipped, except sandbox errors,
which are retried. Rows are written batch by batch, so a killed run loses one batch at most.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter

from kodcode.config import problems_of
from kodcode.exec import ExecConfig
from kodcode.exec.progress import Progress
from kodcode.rows import BadRow, numbered_rows
from kodcode.train.config import RewardConfig
from kodcode.train.rewards import ExecBackend, UnitTestScorer

ROLES_ASSISTANT = ("assistant", "gpt")


def answer_of(row: dict) -> str:
    """The answer to score: ``response``, else the last assistant turn; ValueError when there is none."""
    if isinstance(row.get("response"), str):
        return row["response"]
    for key, role_key, text_key in (("messages", "role", "content"), ("conversations", "from", "value")):
        turns = row.get(key)
        if isinstance(turns, list):
            for turn in reversed(turns):
                if isinstance(turn, dict) and turn.get(role_key) in ROLES_ASSISTANT:
                    if not isinstance(turn.get(text_key), str):
                        raise ValueError(f"the last assistant turn of {key!r} has no string {text_key!r}")
                    return turn[text_key]
            raise ValueError(f"{key!r} has no assistant turn")
    raise ValueError(
        f"no answer: the row needs `response` (a string) or `messages`/`conversations` with an assistant turn "
        f"(columns: {', '.join(sorted(row))})"
    )


def test_of(row: dict) -> str:
    # KodCode-V1's current card calls it `test`; an older revision and SFT-R1 call it `test_code`.
    test = row.get("test") if row.get("test") is not None else row.get("test_code")
    if not isinstance(test, str) or not test.strip():
        raise ValueError(
            f"no pytest code: the row needs `test` or `test_code` as a non-empty string (columns: "
            f"{', '.join(sorted(row))})"
        )
    return test


test_of.__test__ = False  # its name starts with "test"; keep pytest from collecting it


def read_rows(path: str) -> tuple[list[tuple[int, dict, str, str, object]], list[tuple[int, dict, str]]]:
    """(line, row, answer, test, test_info) per usable row, and (line, row, message) per malformed one."""
    from kodcode.answers import expected_functions

    good, bad = [], []
    for lineno, row in numbered_rows(path, errors="keep"):
        if isinstance(row, BadRow):
            bad.append((lineno, {"_raw": row.raw}, row.message))
            continue
        try:
            info = row.get("test_info")
            expected_functions(info)  # fails here, per row, rather than in the middle of a batch
            good.append((lineno, row, answer_of(row), test_of(row), info))
        except (ValueError, TypeError) as e:
            bad.append((lineno, row, f"line {lineno}: {e}"))
    return good, bad


def _done_lines(out_path: str) -> set[int]:
    """Input lines already scored in OUT (a sandbox error is not done: it is retried)."""
    done: set[int] = set()
    if not os.path.exists(out_path):
        return done
    with open(out_path, "rb+") as f:
        data = f.read()
        if data and not data.endswith(b"\n"):  # a line torn by a killed run
            f.truncate(data.rfind(b"\n") + 1)
            data = data[: data.rfind(b"\n") + 1]
    for line in data.decode("utf-8").splitlines():
        row = json.loads(line)
        if row.get("status") != "sandbox_error":
            done.add(row["_score_line"])
    return done


def score_file(in_path: str, out_path: str, exec_cfg: ExecConfig, reward_cfg: RewardConfig | None = None,
               socket: str | None = None, batch_size: int = 64, progress: bool = True,
               stream=sys.stderr) -> Counter:
    """Score IN into OUT (resuming OUT); returns the counts of this run's statuses."""
    if not os.path.exists(in_path):
        raise FileNotFoundError(f"input file {in_path!r} does not exist; pass a JSONL (or .jsonl.gz) file of rows")
    if batch_size < 1:
        raise ValueError(f"--batch-size must be >= 1 (got {batch_size}): rows scored and written together")
    reward_cfg = reward_cfg or RewardConfig()
    done = _done_lines(out_path)
    good, bad = read_rows(in_path)
    counts: Counter = Counter(skipped=sum(line in done for line, *_ in good) + sum(line in done for line, *_ in bad))
    good = [g for g in good if g[0] not in done]
    bad = [b for b in bad if b[0] not in done]
    rewards: list[float] = []
    t0 = time.monotonic()
    backend = ExecBackend(exec_cfg, socket)
    scorer = UnitTestScorer(reward_cfg, backend)
    try:
        with open(out_path, "a", encoding="utf-8") as out:
            for lineno, row, message in bad:
                print(f"malformed: {message}", file=stream)
                _write(out, row, lineno, {"reward": None, "status": "malformed", "message": message})
                counts["malformed"] += 1
            bar = Progress(len(good), "score", stream=stream) if progress and good else None
            for start in range(0, len(good), batch_size):
                batch = good[start:start + batch_size]
                scored = scorer.score([b[2] for b in batch], [b[3] for b in batch], [b[4] for b in batch])
                for (lineno, row, *_), s in zip(batch, scored):
                    _write(out, row, lineno, s.as_row())
                    counts[s.status] += 1
                    counts["renamed"] += s.renamed_from is not None
                    if s.reward is not None:
                        rewards.append(s.reward)
                    if bar:
                        bar.update(1, s.status)
            if bar:
                bar.close()
    finally:
        backend.close()
    n = len(good)
    dt = time.monotonic() - t0
    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()) if v)
    mean = f"mean reward {sum(rewards) / len(rewards):.3f} over {len(rewards)} scored" if rewards else "nothing scored"
    print(f"scored {n} rows in {dt:.1f}s; {mean}; {statuses}", file=stream)
    if counts["sandbox_error"]:
        print(f"{counts['sandbox_error']} rows hit a sandbox error (reward null); rerun the same command to retry "
              "them", file=stream)
    return counts


def _write(out, row: dict, lineno: int, fields: dict) -> None:
    out.write(json.dumps({**row, "_score_line": lineno, **fields}, ensure_ascii=False) + "\n")
    out.flush()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m kodcode.train.score", description=__doc__.split("\n\n")[0])
    p.add_argument("input", help="JSONL (or .jsonl.gz) rows with question, test/test_code, test_info and an answer")
    p.add_argument("--out", required=True, help="JSONL written row by row; an existing file is resumed")
    p.add_argument("--workers", type=int, default=0, help="parallel jobs (default: CPU cores)")
    p.add_argument("--timeout", type=float, default=None, help="CPU seconds per job (default: exec's 10)")
    p.add_argument("--partial-credit", action="store_true", help="reward = fraction of tests passed")
    p.add_argument("--socket", default=None, help="a `python -m kodcode.exec serve` socket to run the jobs on")
    p.add_argument("--python", default=None, help="interpreter the jobs run in (default: this one)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--no-progress", action="store_true")
    a = p.parse_args(argv)
    exec_cfg = ExecConfig(workers=a.workers, python=a.python)
    if a.timeout is not None:
        exec_cfg.timeout_s = a.timeout
    problems = problems_of(exec_cfg, "exec")
    if problems:
        print("error: " + "; ".join(problems), file=sys.stderr)
        return 2
    try:
        score_file(a.input, a.out, exec_cfg, RewardConfig(partial_credit=a.partial_credit), socket=a.socket,
                   batch_size=a.batch_size, progress=not a.no_progress)
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
