"""The verdict: the worker's facts about one job, and the parent's plan of its test, turned into a
``Verdict``.  Pure functions; the heart of the verdict protocol.

For pytest jobs a pass needs every test of the inventory (computed here, from the test source) reported
``passed`` in the stream of a runner whose final message carried the per-job nonce, every assertion the
job reported satisfied when judged here (``judge``), and every assertion in a test's straight-line code
reported, in order, by each of its instances that passed.  Skips, xfails, missing tests, exit codes and
printed summaries never count; infrastructure failures are ``sandbox_error``, never ``fail``.
"""

from __future__ import annotations

from .jobs import CallJob, CaseOutput, Job, PytestJob, StdioJob, TestOutcome, Verdict
from .judge import judge_open, judge_site
from .plan import JobPlan


def decide(job: Job, reply: dict | None, plan: JobPlan | None = None) -> Verdict:
    """Turn the zygote's facts into a verdict.  Pure function; the heart of the verdict protocol."""
    v = Verdict(status="sandbox_error", id=job.id)
    if reply is None:
        v.message = "worker died or stopped answering"
        return v
    if "sandbox_error" in reply:
        v.message = reply["sandbox_error"]
        return v
    v.stdout, v.stderr = reply.get("stdout", ""), reply.get("stderr", "")
    v.duration_s = float(reply.get("wall_s") or 0.0)
    if reply.get("cpu_s") is not None:
        v.cpu_s = float(reply["cpu_s"])
    setup = reply.get("setup", "")
    if not setup.startswith("OK"):
        v.message = setup[5:] if setup.startswith("FAIL") else "sandbox setup did not complete"
        return v
    result = reply.get("result")
    trusted = bool(reply.get("nonce_ok")) and isinstance(result, dict) and reply.get("nonce_requests") == 1
    if result is not None and not trusted:
        v.flags.append("forged_report")
    if trusted:
        v.runner = str(result.get("runner", ""))
        v.flags.extend(str(f) for f in result.get("flags", []))
    for rec in reply.get("stream", []):
        if rec.get("t") == "flag" and str(rec.get("flag")) not in v.flags:
            v.flags.append(str(rec.get("flag")))
    if reply.get("malformed_lines"):
        v.flags.append("forged_report")
    if isinstance(job, PytestJob):
        return _decide_pytest(v, reply, result if trusted else None, plan)
    return _decide_cases(job, v, reply, result if trusted else None)


def _ended_early(v: Verdict, reply: dict) -> Verdict:
    if reply.get("timed_out"):
        v.status, v.message = "timeout", "wall-clock limit reached"
    elif _cpu_limit_hit(reply):
        v.status, v.message = "timeout", "CPU-time limit reached"
    elif reply.get("over_output"):
        v.status, v.message = "error", f"output limit exceeded ({reply.get('output_bytes')} bytes)"
    else:
        code, sig = reply.get("exit_code"), reply.get("signal")
        v.status = "error"
        v.message = f"job ended without a trusted report (exit code {code}, signal {sig})"
        if sig == 9:
            v.message += "; killed, e.g. by the memory or process limit"
    return v


def outcomes_from_stream(stream: list[dict]) -> tuple[dict[str, dict], bool]:
    """Per-test outcomes from the runner's phase records; True when some phase was reported twice.

    A test passes when it ran (a ``call`` phase) and every phase of every parametrized instance
    passed; its name drops the parametrize id (``test_x[1-2]`` -> ``test_x``).
    """
    seen: set[tuple[str, str]] = set()
    conflict = False
    out: dict[str, dict] = {}
    for rec in stream:
        if rec.get("t") != "phase":
            continue
        nodeid, when = str(rec.get("nodeid", "")), str(rec.get("when", ""))
        if (nodeid, when) in seen:
            conflict = True
        seen.add((nodeid, when))
        parts = nodeid.split("::")
        parts[-1] = parts[-1].split("[")[0]
        name = "::".join(parts)
        t = out.setdefault(name, {"name": name, "outcome": "passed", "duration_s": 0.0, "message": "", "calls": 0})
        t["duration_s"] += float(rec.get("duration") or 0.0)
        if when == "call":
            t["calls"] += 1
        outcome = str(rec.get("outcome", "failed"))
        if outcome != "passed" and t["outcome"] == "passed":
            t["outcome"], t["message"] = outcome, str(rec.get("message", ""))
    for t in out.values():
        if t["outcome"] == "passed" and t["calls"] == 0:
            t["outcome"] = "missing"
    return out, conflict


def _cpu_limit_hit(reply: dict) -> bool:
    # SIGXCPU (24) from RLIMIT_CPU (the worker waits for the job itself and sees the signal); a job
    # that ignores SIGXCPU is SIGKILLed at the hard limit, which the worker sees in its CPU time.
    return reply.get("signal") == 24 or bool(reply.get("cpu_limit_hit"))


def _decide_pytest(v: Verdict, reply: dict, result: dict | None, plan: JobPlan | None) -> Verdict:
    inventory = plan.inventory if plan is not None else []
    if result is None:
        v.tests = [TestOutcome(n, "missing") for n in inventory]
        return _ended_early(v, reply)
    if result.get("collect_error"):
        v.tests = [TestOutcome(n, "error", message=result["collect_error"]) for n in inventory]
        v.status, v.message = "error", "collection failed: " + str(result["collect_error"])[-300:]
        return v
    stream = reply.get("stream", [])
    reported, conflict = outcomes_from_stream(stream)
    if conflict:
        v.flags.append("conflicting_reports")
    site_failures = _site_failures(plan, stream, v) if plan is not None else {}
    tests = []
    for name in inventory:
        t = reported.get(name)
        if t is None:
            tests.append(TestOutcome(name, "missing"))
        elif t["outcome"] == "passed" and name in site_failures:
            tests.append(TestOutcome(name, "failed", float(t.get("duration_s", 0.0)), site_failures[name]))
        else:
            tests.append(TestOutcome(name, t["outcome"], float(t.get("duration_s", 0.0)), t.get("message", "")))
    extra_bad = [t for n, t in reported.items() if n not in inventory and t["outcome"] != "passed"]
    v.tests = tests
    all_passed = bool(tests) and all(t.outcome == "passed" for t in tests) and not extra_bad \
        and None not in site_failures
    tampered = [
        f for f in v.flags
        if f.startswith(("tampered", "forged", "conflicting", "non_plain"))
    ]
    if reply.get("timed_out") or _cpu_limit_hit(reply):
        v.status, v.message = "timeout", "time limit reached after the report"
    elif not inventory:
        v.status, v.message = "error", "the test source defines no test functions"
    elif all_passed and not tampered:
        v.status = "pass"
    else:
        v.status = "fail"
        bad = [t for t in tests if t.outcome != "passed"]
        if bad:
            v.message = f"{len(bad)}/{len(tests)} tests not passed: " + ", ".join(
                f"{t.name} ({t.outcome}{': ' + t.message[:200] if t.message else ''})" for t in bad[:5]
            )
        elif None in site_failures:
            v.message = "an assertion outside the tests failed: " + site_failures[None]
        elif tampered:
            v.message = "tests passed only through forged reports or patched test machinery: " + ", ".join(
                tampered
            )
        else:
            v.message = "unexpected extra tests failed: " + ", ".join(t["name"] for t in extra_bad[:5])
    return v


def _base(nodeid) -> str | None:
    """``Class::test_x[3]`` -> ``Class::test_x`` (the inventory's names)."""
    if not isinstance(nodeid, str):
        return None
    parts = nodeid.split("::")
    parts[-1] = parts[-1].split("[")[0]
    return "::".join(parts)


def _site_failures(plan: JobPlan, stream: list[dict], v: Verdict) -> dict:
    """Test name (None: code outside any test) -> why one of its assertions failed, judged here on the
    values the job reported; a test instance that passed without reporting every assertion of its
    straight-line code, in order, fails too."""
    failures: dict = {}
    seen: dict[str, list[int]] = {}  # test instance -> site ids in the order first reported
    passed_instances = {str(r.get("nodeid")) for r in stream
                        if r.get("t") == "phase" and r.get("when") == "call" and r.get("outcome") == "passed"}
    for rec in stream:
        t = rec.get("t")
        if t not in ("site", "open"):
            continue
        n = rec.get("n")
        test = _base(n)
        sid = rec.get("id")
        site = plan.sites.get(sid) if type(sid) is int else None
        if site is None or (t == "site") != (site.kind not in ("open", "open_truth")):
            if "forged_report" not in v.flags:
                v.flags.append("forged_report")
            failures.setdefault(test, "a report for an assertion the test does not have")
            continue
        if isinstance(n, str):
            order = seen.setdefault(n, [])
            if sid not in order:
                order.append(sid)
        why = judge_site(site, rec) if t == "site" else judge_open(
            rec, plan.value_classes if site.params.get("objects") else frozenset(),
            tuple(site.params.get("test_sides") or (False, False)))
        if why is not None:
            if t == "open" and "non_plain_value" not in v.flags and "non-plain" in why:
                v.flags.append("non_plain_value")
            failures.setdefault(test, "line %d: %s: %s" % (site.line, site.text[:120], why))
    for inst in passed_instances:
        test = _base(inst)
        need = plan.required.get(test or "")
        if not need:
            continue
        got = [s for s in seen.get(inst, []) if s in need]
        if got != need:
            missing = [s for s in need if s not in got]
            why = ("line %d: %s: never reported" % (plan.sites[missing[0]].line, plan.sites[missing[0]].text[:120])
                   if missing else "its assertions reported out of order")
            failures.setdefault(test, why)
    return failures


def _decide_cases(job: StdioJob | CallJob, v: Verdict, reply: dict, result: dict | None) -> Verdict:
    n = len(job.inputs) if isinstance(job, StdioJob) else len(job.args_list)
    if result is None:
        v.outputs = [CaseOutput("not_run") for _ in range(n)]
        return _ended_early(v, reply)
    outs = [CaseOutput(**{k: o.get(k) for k in ("status", "stdout", "stderr", "value", "exit_code",
                                                   "duration_s", "message") if k in o})
            for o in result.get("outputs", [])]
    outs += [CaseOutput("not_run") for _ in range(n - len(outs))]
    v.outputs = outs[:n]
    statuses = {o.status for o in v.outputs}
    if statuses <= {"ok"}:
        v.status = "pass"
    elif "timeout" in statuses:
        v.status, v.message = "timeout", "a case reached its time limit"
    else:
        v.status = "error"
        v.message = "a case ended with an error: " + next(
            (o.message or o.stderr[-200:]) for o in v.outputs if o.status != "ok"
        )
    return v
