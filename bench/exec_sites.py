"""How much of a test's judgement stays out of the job, and what the reporting channel costs.

1. Share of assertion sites whose expected value never enters the job (``kodcode.exec.plan``), over the
   tests of the 1,648 attempts in ``trials.jsonl.gz``, by kind of site; open sites (values the job
   computes) are counted beside them.
2. The channel's cost, measured in one run: the same jobs with N assertions against constants and with
   the same N calls and no assertion (job CPU per site), and the parent's planning and judging time per
   job over the demo rows.

    .venv/bin/python bench/exec_sites.py --python /work/jobenv/bin/python --report bench/reports/exec_sites.md
"""

from __future__ import annotations

import argparse
import collections
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from exec_throughput import DEFAULT_TRIALS, load_rows

from kodcode.exec import ExecConfig, Executor, PytestJob
from kodcode.exec.plan import _plan, plan_test
from kodcode.exec.verdict import decide

OPEN = ("open", "open_truth")


def site_shares(rows):
    kinds: collections.Counter = collections.Counter()
    tests = parsed = 0
    plan_s = []
    for r in rows:
        tests += 1
        _plan.cache_clear()  # (each test planned from scratch: the figure is the uncached cost)
        t0 = time.perf_counter()
        try:
            plan = plan_test(r["test"], r["solution"])
        except (SyntaxError, ValueError, RecursionError):
            continue
        plan_s.append(time.perf_counter() - t0)
        parsed += 1
        kinds.update(s.kind for s in plan.sites.values())
    return kinds, tests, parsed, plan_s


def channel_cost(python, n, repeat):
    """Job CPU seconds of ``n`` assertions against constants minus the same calls without assertions."""
    sol = "def add(a, b):\n    return a + b\n"
    with_sites = "def test_a():\n" + "".join("    assert add(%d, 1) == %d\n" % (i, i + 1) for i in range(n))
    without = "def test_a():\n" + "".join("    add(%d, 1)\n" % i for i in range(n))
    open_sites = "def test_a():\n" + "".join("    assert add(%d, 1) == %d + 1\n" % (i, i) for i in range(n))
    cpu = {"secret": [], "none": [], "open": []}
    judge = []
    with Executor(ExecConfig(workers=1, timeout_s=30, python=python)) as ex:
        for _ in range(repeat):
            for key, test in (("secret", with_sites), ("none", without), ("open", open_sites)):
                (v,) = ex.run([PytestJob(sol, test)])
                assert v.status == "pass", v.message
                cpu[key].append(v.cpu_s)
        # the parent's judging of one such job: decide() on a reply with n site reports
        plan = plan_test(with_sites, sol)
        stream = [{"t": "site", "id": i + 1, "v": i + 1, "n": "test_a"} for i in range(n)]
        stream.append({"t": "phase", "nodeid": "test_a", "when": "call", "outcome": "passed", "duration": 0.0})
        reply = {"setup": "OK", "result": {"runner": "fast"}, "nonce_ok": True, "nonce_requests": 1, "stream": stream}
        for _ in range(repeat):
            t0 = time.perf_counter()
            assert decide(PytestJob(sol, with_sites), reply, plan).status == "pass"
            judge.append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in cpu.items()}, statistics.median(judge)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trials", default=str(DEFAULT_TRIALS))
    ap.add_argument("--python", default=None, help="job interpreter")
    ap.add_argument("--sites", type=int, default=2000, help="assertions in the channel-cost job")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--report", default=None)
    args = ap.parse_args()
    rows = load_rows(Path(args.trials))
    kinds, tests, parsed, plan_s = site_shares(rows)
    total = sum(kinds.values())
    secret = total - sum(kinds[k] for k in OPEN)
    cpu, judge_s = channel_cost(args.python, args.sites, args.repeat)
    per_secret = (cpu["secret"] - cpu["none"]) / args.sites * 1e6
    per_open = (cpu["open"] - cpu["none"]) / args.sites * 1e6
    lines = [
        "# What stays out of the job, and what the channel costs",
        "",
        "Command: `%s`" % " ".join(["python"] + sys.argv),
        "",
        "## Assertion sites of the %d demo tests (%d parse)" % (tests, parsed),
        "",
        "**%d of %d assertion sites (%.1f%%) keep their expected value out of the job** (judged in the parent on "
        "the value the job reports); the other %d compare values the job computes itself." % (
            secret, total, 100.0 * secret / max(total, 1), total - secret),
        "",
        "| kind | sites | share |",
        "|---|---|---|",
    ]
    for k, c in kinds.most_common():
        lines.append("| %s%s | %d | %.1f%% |" % (k, " (open)" if k in OPEN else "", c, 100.0 * c / total))
    lines += [
        "",
        "Kinds: `cmp` (a comparison with a constant, a local bound once to one, or `is None/True/False`), "
        "`truth` (`assert x` / `assert not x`: the polarity stays out), `raises`/`warns` (the exception or "
        "warning class and `match`), `approx`, `isclose`, `npisclose`, `absdiff`, `almost`, `arrayeq`, "
        "`allclose`, `arrayalmost`; `open`/`open_truth` compare values the job computes (both sides are "
        "reported and re-compared here on plain data).",
        "",
        "## Channel cost (median of %d, one worker)" % args.repeat,
        "",
        "| job (%d statements calling `add`) | job CPU |" % args.sites,
        "|---|---|",
        "| no assertions | %.1f ms |" % (cpu["none"] * 1e3),
        "| assertions against constants (secret sites) | %.1f ms |" % (cpu["secret"] * 1e3),
        "| assertions against computed values (open sites) | %.1f ms |" % (cpu["open"] * 1e3),
        "",
        "- per secret site in the job: **%.1f us** of CPU (encoding the value, one JSON line to the pipe)"
        % per_secret,
        "- per open site in the job: %.1f us (the comparison in the job, both values encoded)" % per_open,
        "- the parent judging those %d reports: %.1f ms (%.1f us per site)" % (
            args.sites, judge_s * 1e3, judge_s / args.sites * 1e6),
        "- the parent planning one demo test (parse, take the expected values out, rewrite): median "
        "%.2f ms, p95 %.2f ms" % (statistics.median(plan_s) * 1e3,
                                  sorted(plan_s)[int(0.95 * len(plan_s))] * 1e3),
        "- a demo test has %.1f assertion sites on average, so the channel adds about %.0f us of job CPU "
        "to a typical job (a job costs ~5 ms of machine CPU in the sandbox itself)" % (
            total / max(parsed, 1), total / max(parsed, 1) * per_secret),
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.report:
        Path(args.report).write_text(text)
        print("wrote", args.report)


if __name__ == "__main__":
    main()
