"""The engine's own contract: verdicts for honest code, the verdict protocol, limits, interfaces."""

import ast
import asyncio
import concurrent.futures
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from kodcode.exec import CallJob, ExecConfig, Executor, PytestJob, StdioJob, decide, expected_tests
from kodcode.exec.plan import JobPlan, plan_test

ADD = "def add(a, b):\n    return a + b\n"
TESTS = "def test_small():\n    assert add(1, 2) == 3\n\ndef test_zero():\n    assert add(0, 0) == 0\n"


@pytest.fixture(scope="module")
def ex():
    with Executor(ExecConfig(workers=2, timeout_s=5, memory_mb=512)) as e:
        yield e


def test_honest_solution_passes_with_every_test_reported(ex):
    (v,) = ex.run([PytestJob(solution=ADD, test=TESTS, id="a")])
    assert v.status == "pass" and v.passed
    assert [(t.name, t.outcome) for t in v.tests] == [("test_small", "passed"), ("test_zero", "passed")]
    assert v.runner == "fast"


def test_wrong_solution_fails_naming_the_failing_test(ex):
    (v,) = ex.run([PytestJob(solution="def add(a, b):\n    return a - b\n", test=TESTS)])
    assert v.status == "fail"
    assert [(t.name, t.outcome) for t in v.tests] == [("test_small", "failed"), ("test_zero", "passed")]


def test_python_on_the_jobs_path_is_the_job_interpreter(ex):
    # BigCodeBench tasks run `subprocess.call(["python", script])`: the name must start the interpreter the
    # jobs run in (with its packages), as in an activated environment; /usr/bin holds no `python` here.
    solution = (
        "import subprocess\n"
        "def child_prefix():\n"
        "    out = subprocess.run(['python', '-c', 'import sys; print(sys.prefix)'], capture_output=True, text=True)\n"
        "    return out.stdout.strip()\n"
    )
    test = "import sys\n\ndef test_python_is_ours():\n    assert child_prefix() == sys.prefix\n"
    (v,) = ex.run([PytestJob(solution=solution, test=test)])
    assert v.status == "pass", v.message


def test_job_path_starts_with_the_interpreter_directory_unless_set():
    cfg = ExecConfig(python="/opt/envs/jobs/bin/python")
    assert cfg.job_env()["PATH"].split(":")[0] == "/opt/envs/jobs/bin"
    assert ExecConfig(python="/opt/envs/jobs/bin/python", env={"PATH": "/bin"}).job_env()["PATH"] == "/bin"


def test_each_job_gets_its_own_random_state_and_one_thread(ex):
    # Jobs are forked from one warm worker; as after os.fork(), each must draw fresh random numbers
    # (random reseeds in the child) and see itself as the only thread.
    sol = "import random, threading\n\ndef draw():\n    return random.getrandbits(64), threading.active_count()\n"
    test = "def test_draw():\n    print('DRAW', *draw())\n"
    vs = ex.run([PytestJob(sol, test)] * 6)
    draws = [v.stdout.split("DRAW")[1].split() for v in vs]
    assert all(v.status == "pass" for v in vs)
    assert len({d[0] for d in draws}) == 6 and {d[1] for d in draws} == {"1"}


def test_a_test_that_swaps_pytest_code_and_puts_it_back_is_judged_on_its_assertions(ex):
    # The verdict no longer rests on pytest's internals staying untouched: the test's own swap of
    # pytest's code changes nothing the parent judges.
    test = (
        "import pytest\nimport _pytest.python as p\n\n@pytest.fixture\ndef x():\n    return 1\n\n"
        "def test_swap(x):\n"
        "    saved = p.pytest_pyfunc_call.__code__\n"
        "    p.pytest_pyfunc_call.__code__ = (lambda pyfuncitem: True).__code__\n"
        "    p.pytest_pyfunc_call.__code__ = saved\n    assert add(x, x) == 2\n"
    )
    (v,) = ex.run([PytestJob(ADD, test)])
    assert v.runner == "pytest" and v.status == "pass", (v.status, v.message)
    (w,) = ex.run([PytestJob(ADD.replace("a + b", "a + b + 1"), test)])
    assert w.status == "fail" and "got 3" in w.message, w.message


def test_snapshot_is_retaken_reading_only_what_changed():
    import types

    from kodcode.exec.worker.snapshot import Snapshot

    mod = types.ModuleType("kc_snapshot_probe")
    exec("class K:\n    def m(self):\n        return 1\n    @classmethod\n    def c(cls):\n        return 2\n\n"
         "def f():\n    return 3\n", mod.__dict__)
    sys.modules[mod.__name__] = mod
    try:
        snap = Snapshot((mod.__name__,))
        names = set(snap.functions().values())
        assert {"kc_snapshot_probe.f", "kc_snapshot_probe.K.m", "kc_snapshot_probe.K.c"} <= names
        assert id(mod.K.__dict__["c"].__func__) in snap.functions()
        same = snap.rebased()
        assert same.changed() is None and all(a is b for a, b in zip(same.items, snap.items))
        mod.K.m = lambda self: 4  # a class attribute rebound: that class is read again
        again = snap.rebased()
        assert snap.changed() == "kc_snapshot_probe.K.m" and again.changed() is None
        mod.K.extra = lambda self: 0  # a class gained a name (as pytest's plugins do): that class only
        grown = again.rebased()
        assert "kc_snapshot_probe.K.extra" in set(grown.functions().values())
        assert grown.items[0] is again.items[0] and grown.changed() is None
        mod.g = lambda: 5  # a module gained a name: everything is taken afresh
        fresh = snap.rebased()
        assert "kc_snapshot_probe.g" in set(fresh.functions().values()) and fresh.changed() is None
        mod.f.__code__ = (lambda: 6).__code__
        assert fresh.changed(codes=False) is None and fresh.changed() == "kc_snapshot_probe.f.__code__"
    finally:
        del sys.modules[mod.__name__]


def test_library_watch_reads_only_the_packages_a_test_reaches():
    import json
    import math
    import operator
    import types

    from kodcode.exec.worker.shape import roots_and_classes
    from kodcode.exec.worker.snapshot import Snapshot

    tree = ast.parse(
        "import math as m\nfrom operator import eq\n\ndef test_a():\n    if True:\n        import json\n"
        "    from . import local\n    import os\n    try:\n        pass\n    except Exception:\n        class K: pass\n"
        "class T:\n    class Inner: pass\n"
    )
    roots, classes = roots_and_classes(tree)
    assert roots == {"math", "operator", "json"}  # library packages only, at any depth
    assert classes == {"K", "T", "Inner"}  # classes at any depth, in handlers too
    snap = Snapshot(("builtins", "math", "operator", "json"))
    cut = snap.only({"math"})
    assert cut is snap.only(frozenset({"math"}))  # single-package cuts are made ahead
    assert {label.split(".")[0] for label, *_ in cut.items} == {"builtins", "math"}
    assert cut.present == ("builtins", "math")
    fake = types.ModuleType("math")
    import random

    roots, impostors = snap.scan({"m": math, "eq": operator.eq, "fake": fake, "x": 1, "__builtins__": {}})
    assert roots == {"math", "operator"} and impostors == ["fake"]
    assert snap.scan({"r": random.randint, "j": json.dumps})[0] == {"random", "json"}
    saved = math.isclose
    math.isclose = lambda *a, **k: True
    try:
        assert cut.changed(codes=False) == "math.isclose" and snap.only(set()).changed() is None
    finally:
        math.isclose = saved
    sys.modules["math"] = fake
    try:
        assert cut.changed() == "sys.modules['math']"
    finally:
        sys.modules["math"] = math
    assert cut.changed() is None


def test_import_error_in_solution_is_an_error_not_a_pass(ex):
    (v,) = ex.run([PytestJob(solution="import not_a_module_xyz\n" + ADD, test=TESTS)])
    assert v.status == "error" and "not_a_module_xyz" in v.message
    assert v.tests and all(t.outcome == "error" for t in v.tests)


def test_unparsable_tests_are_an_error(ex):
    (v,) = ex.run([PytestJob(solution=ADD, test="def test_x(:\n    pass\n")])
    assert v.status == "error" and "does not parse" in v.message


def test_test_that_parses_but_does_not_compile_is_a_collection_error(ex):
    # The worker compiles the fast path's module before forking the job; the job reports the error.
    (v,) = ex.run([PytestJob(solution=ADD, test="return 1\n\n" + TESTS)])
    assert v.status == "error" and "'return' outside function" in v.message
    assert v.tests and all(t.outcome == "error" for t in v.tests)


def test_file_without_tests_is_an_error(ex):
    (v,) = ex.run([PytestJob(solution=ADD, test="x = 1\n")])
    assert v.status == "error"


def test_pytest_features_take_the_pytest_runner_and_agree(ex):
    test = (
        "import pytest\n\n@pytest.fixture\ndef two():\n    return 2\n\n"
        "def test_fixture(two):\n    assert add(two, two) == 4\n\n"
        "@pytest.mark.parametrize('a,b,c', [(1, 1, 2), (2, 3, 5)])\n"
        "def test_param(a, b, c):\n    assert add(a, b) == c\n\n"
        "class TestAdd:\n    def test_m(self):\n        assert add(1, 1) == 2\n"
    )
    (v,) = ex.run([PytestJob(solution=ADD, test=test)])
    assert v.status == "pass" and v.runner == "pytest"
    assert [t.name for t in v.tests] == ["test_fixture", "test_param", "TestAdd::test_m"]


def test_one_failing_parametrized_case_fails_the_test(ex):
    test = (
        "import pytest\n@pytest.mark.parametrize('a', [1, 2, 3])\n"
        "def test_p(a):\n    assert add(a, 0) == (a if a != 2 else 99)\n"
    )
    (v,) = ex.run([PytestJob(solution=ADD, test=test)])
    assert v.status == "fail" and v.tests[0].outcome == "failed"


def test_cpu_bound_loop_is_a_timeout(ex):
    (v,) = ex.run([PytestJob(solution="def add(a, b):\n    while True:\n        pass\n", test=TESTS, timeout_s=1)])
    assert v.status == "timeout"


def test_sleeping_job_hits_the_wall_clock_backstop(ex):
    (v,) = ex.run([PytestJob(solution="import time\ndef add(a, b):\n    time.sleep(60)\n", test=TESTS, timeout_s=1)])
    assert v.status == "timeout"


def test_stdio_job_returns_what_came_out_per_input(ex):
    prog = "import sys\ndata = sys.stdin.buffer.read().split()\nprint(sum(map(int, data)))\n"
    (v,) = ex.run([StdioJob(program=prog, inputs=["1 2", "3 4 5\n"])])
    assert v.status == "pass"
    assert [o.stdout for o in v.outputs] == ["3\n", "12\n"]


def test_stdio_crash_is_reported_per_case(ex):
    prog = "x = int(input())\nprint(10 // x)\n"
    (v,) = ex.run([StdioJob(program=prog, inputs=["5", "0"])])
    assert [o.status for o in v.outputs] == ["ok", "error"]
    assert "ZeroDivisionError" in v.outputs[1].stderr
    assert v.status == "error"


def test_call_job_encodes_return_values_canonically(ex):
    prog = (
        "class Solution:\n    def twoSum(self, nums, target):\n"
        "        seen = {}\n        for i, x in enumerate(nums):\n"
        "            if target - x in seen:\n                return [seen[target - x], i]\n"
        "            seen[x] = i\n"
    )
    (v,) = ex.run([CallJob(program=prog, fn_name="Solution.twoSum", args_list=[[[2, 7, 11], 9], [[3, 3], 6]])])
    assert v.status == "pass"
    assert [o.value for o in v.outputs] == [[0, 1], [0, 1]]


def test_call_job_forged_equality_object_comes_back_as_repr(ex):
    prog = "class E:\n    def __eq__(self, o):\n        return True\n\ndef f(x):\n    return E()\n"
    (v,) = ex.run([CallJob(program=prog, fn_name="f", args_list=[[1]])])
    assert v.outputs[0].value["__type__"] == "E"


def test_batch_results_keep_job_order(ex):
    jobs = [PytestJob(solution=ADD, test=f"def test_x():\n    assert add({i}, 1) == {i + 1 if i % 2 else 0}\n",
                      id=str(i)) for i in range(8)]
    verdicts = ex.run(jobs)
    assert [v.id for v in verdicts] == [str(i) for i in range(8)]
    assert [v.status for v in verdicts] == ["fail" if i % 2 == 0 else "pass" for i in range(8)]


def test_big_jobs_and_big_replies_queued_together_do_not_block_the_feed():
    # Two jobs are posted to a worker at once. A job bigger than a pipe holds, queued while the worker
    # writes a reply bigger than a pipe holds, must neither block the engine's thread nor the worker.
    pad = "# " + "x" * 2_000_000 + "\n"
    big_call = CallJob(program="def f(n):\n    return 'y' * n\n", fn_name="f", args_list=[[1_500_000]])
    big_test = PytestJob(solution=pad + ADD, test=TESTS)
    jobs = [big_call, big_test, big_call, big_test]
    with Executor(ExecConfig(workers=1, timeout_s=5, memory_mb=512)) as e:
        futs = [e.submit(j) for j in jobs]
        done, pending = concurrent.futures.wait(futs, timeout=120)
        assert not pending, "the engine and its worker blocked each other"
        verdicts = [f.result() for f in futs]
    assert [v.status for v in verdicts] == ["pass"] * 4
    assert len(verdicts[0].outputs[0].value) == 1_500_000


def _job_running(zygote_parent: int) -> bool:
    """The slot's zygote (the only child of the process the engine started) has a job child now."""
    try:
        (zygote,) = Path(f"/proc/{zygote_parent}/task/{zygote_parent}/children").read_text().split()
        return bool(Path(f"/proc/{zygote}/task/{zygote}/children").read_text().split())
    except (OSError, ValueError):
        return False


def test_a_worker_killed_mid_job_reruns_that_job_and_then_the_one_queued_behind_it():
    slow = PytestJob(solution="import time\n\ndef add(a, b):\n    time.sleep(1)\n    return a + b\n",
                     test=TESTS, id="slow")
    queued = PytestJob(solution=ADD, test=TESTS.replace("== 3", "== 4"), id="queued")
    with Executor(ExecConfig(workers=1, timeout_s=5, memory_mb=512)) as e:
        waiter = e._workers[0].proc.pid
        futs = [e.submit(slow), e.submit(queued)]
        deadline = time.monotonic() + 30
        while not _job_running(waiter):
            assert time.monotonic() < deadline, "the first job never started"
            time.sleep(0.01)
        os.killpg(waiter, 9)  # the whole slot: its zygote and the job
        verdicts = [f.result(timeout=120) for f in futs]
        assert e._workers[0].proc.pid != waiter  # a fresh worker ran both
    assert [v.id for v in verdicts] == ["slow", "queued"]
    assert verdicts[0].status == "pass"  # run again in full on the fresh worker
    assert verdicts[1].status == "fail" and "test_small" in verdicts[1].message


def test_a_worker_holds_its_next_job_while_it_runs_one():
    # The engine's thread may wait for this process's GIL before it reads a reply; the zygote must not
    # wait with it.  So whenever the engine waits for a reply, the next job is already posted.  (Each
    # job sleeps 0.2 s so that the planner, one test planned once, is surely ahead of the worker; the
    # first wait may come before the planner has the second job.)
    sol = "import time\n\ndef add(a, b):\n    time.sleep(0.1)\n    return a + b\n"
    jobs = [PytestJob(solution=sol, test=TESTS, id=str(i)) for i in range(8)]
    with Executor(ExecConfig(workers=1, timeout_s=5, memory_mb=512)) as e:
        worker, events = e._workers[0], []
        real_post, real_reply = worker.post, worker.reply

        def post(payload):
            events.append(payload["id"])
            return real_post(payload)

        def reply(wall_s):
            events.append("reply")
            return real_reply(wall_s)

        worker.post, worker.reply = post, reply
        verdicts = e.run(jobs)
    assert [v.status for v in verdicts] == ["pass"] * 8
    assert [x for x in events if x != "reply"] == [str(i) for i in range(8)]  # each posted once, in order
    waits = [i for i, x in enumerate(events) if x == "reply"]
    in_flight = [sum(1 for x in events[:i] if x != "reply") - n for n, i in enumerate(waits)]
    assert in_flight[1:-1] == [2] * (len(waits) - 2) and in_flight[-1] == 1


def test_async_api(ex):
    async def go():
        return await ex.arun([PytestJob(solution=ADD, test=TESTS)] * 3)

    assert [v.status for v in asyncio.run(go())] == ["pass"] * 3


def test_expected_tests_matches_pytest_collection_rules():
    src = (
        "class TestA:\n    def test_a(self): pass\n    def helper(self): pass\n"
        "class TestWithInit:\n    def __init__(self): pass\n    def test_no(self): pass\n"
        "import unittest\nclass Case(unittest.TestCase):\n    def test_u(self): pass\n"
        "def test_f(): pass\ndef helper(): pass\n"
    )
    assert expected_tests(src) == ["TestA::test_a", "Case::test_u", "test_f"]


def _phase(name, outcome="passed", when="call"):
    return {"t": "phase", "nodeid": name, "when": when, "outcome": outcome, "duration": 0.0, "message": ""}


def _plan(inventory):
    """A plan with these tests and no assertions (the protocol tests below are about phases only)."""
    return JobPlan(source="", inventory=list(inventory), sites={}, required={}, star_import=True)


def _site(sid, value, nodeid, kind="site"):
    return {"t": kind, "id": sid, "v": value, "n": nodeid}


def test_decide_judges_reported_values_against_expected_values_it_kept():
    job = PytestJob(solution=ADD, test=TESTS)
    plan = plan_test(TESTS, ADD)
    assert "3" not in plan.source.split("def test_small")[1].split("def test_zero")[0]  # the constant left
    assert plan.required == {"test_small": [1], "test_zero": [2]}
    base = {"setup": "OK", "result": {"runner": "fast"}, "nonce_ok": True, "nonce_requests": 1}
    good = [_site(1, 3, "test_small"), _phase("test_small"), _site(2, 0, "test_zero"), _phase("test_zero")]
    assert decide(job, dict(base, stream=good), plan).status == "pass"
    wrong = [_site(1, 4, "test_small"), _phase("test_small"), _site(2, 0, "test_zero"), _phase("test_zero")]
    v = decide(job, dict(base, stream=wrong), plan)
    assert v.status == "fail" and "got 4" in v.tests[0].message
    silent = [_phase("test_small"), _site(2, 0, "test_zero"), _phase("test_zero")]  # a site never reported
    v = decide(job, dict(base, stream=silent), plan)
    assert v.status == "fail" and "never reported" in v.tests[0].message
    objects = [_site(1, {"o": ["solution", "AlwaysEqual"]}, "test_small"), _phase("test_small"),
               _site(2, 0, "test_zero"), _phase("test_zero")]
    assert decide(job, dict(base, stream=objects), plan).status == "fail"
    forged = good + [_site(99, 3, "test_small")]  # an assertion the test does not have
    v = decide(job, dict(base, stream=forged), plan)
    assert v.status == "fail" and "forged_report" in v.flags


def test_decide_rejects_a_report_without_the_nonce():
    job = PytestJob(solution=ADD, test=TESTS)
    reply = {"setup": "OK", "result": {"runner": "fast", "t": "end"},
             "stream": [_phase("test_small"), _phase("test_zero")],
             "nonce_ok": False, "nonce_requests": 1, "exit_code": 0, "signal": None}
    v = decide(job, reply, _plan(["test_small", "test_zero"]))
    assert v.status != "pass" and "forged_report" in v.flags
    reply["nonce_ok"] = True
    assert decide(job, reply, _plan(["test_small", "test_zero"])).status == "pass"
    reply["nonce_requests"] = 2  # someone else asked for the nonce first
    assert decide(job, reply, _plan(["test_small", "test_zero"])).status != "pass"


def test_decide_requires_the_whole_inventory():
    job = PytestJob(solution=ADD, test=TESTS)
    reply = {"setup": "OK", "result": {"runner": "fast"}, "stream": [_phase("test_small")],
             "nonce_ok": True, "nonce_requests": 1}
    v = decide(job, reply, _plan(["test_small", "test_zero"]))
    assert v.status == "fail" and v.tests[1].outcome == "missing"


def test_decide_treats_a_test_reported_twice_as_forged():
    job = PytestJob(solution=ADD, test=TESTS)
    reply = {"setup": "OK", "result": {"runner": "fast"}, "nonce_ok": True, "nonce_requests": 1,
             "stream": [_phase("test_small", "failed"), _phase("test_small"), _phase("test_zero")]}
    v = decide(job, reply, _plan(["test_small", "test_zero"]))
    assert v.status == "fail" and "conflicting_reports" in v.flags
    reply["stream"] = [_phase("test_small"), _phase("test_small"), _phase("test_zero")]
    assert decide(job, reply, _plan(["test_small", "test_zero"])).status == "fail"


def test_decide_aggregates_parametrized_instances_and_phases():
    job = PytestJob(solution=ADD, test=TESTS)
    stream = [_phase("test_p[1]"), _phase("test_p[2]"), _phase("TestA::test_m", when="setup"),
              _phase("TestA::test_m"), _phase("TestA::test_m", "error", when="teardown")]
    reply = {"setup": "OK", "result": {"runner": "pytest"}, "nonce_ok": True, "nonce_requests": 1, "stream": stream}
    v = decide(job, reply, _plan(["test_p", "TestA::test_m"]))
    assert [(t.name, t.outcome) for t in v.tests] == [("test_p", "passed"), ("TestA::test_m", "error")]
    assert v.status == "fail"


def test_decide_turns_infrastructure_failure_into_sandbox_error():
    job = PytestJob(solution=ADD, test=TESTS)
    assert decide(job, None, _plan(["test_small"])).status == "sandbox_error"
    assert decide(job, {"setup": "FAIL mounts: boom"}, _plan(["test_small"])).status == "sandbox_error"


def test_config_errors_are_reported_together():
    with pytest.raises(ValueError) as e:
        Executor(ExecConfig(timeout_s=-1, isolation="docker"))
    assert "exec.timeout_s=-1: must be > 0" in str(e.value) and "exec.isolation=docker: must be one of" in str(e.value)


def test_exec_package_imports_no_ml_library():
    code = (
        "import sys, kodcode.exec, kodcode.exec.cli, kodcode.exec.server, kodcode.exec.client\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('torch', 'transformers', 'trl', 'datasets', 'numpy', 'vllm', 'accelerate', 'hydra', 'omegaconf',"
        " 'wandb', 'faiss', 'sentence_transformers', 'pandas', 'evalplus', 'tqdm')]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
    src = Path(__file__).resolve().parents[2] / "kodcode" / "exec"
    for f in src.glob("*.py"):
        text = f.read_text()
        for lib in ("torch", "transformers", "trl", "datasets", "vllm", "omegaconf", "hydra"):
            assert f"import {lib}" not in text and f"from {lib}" not in text, (f.name, lib)


def _run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "kodcode.exec", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def test_cli_verify_keeps_fields_marks_malformed_rows_and_resumes(tmp_path):
    rows = [
        {"id": "good", "solution": ADD, "test": TESTS, "extra": 7},
        {"question_id": "q-bad", "solution": "def add(a, b):\n    return 0\n", "test": TESTS},
        {"id": "nosol", "test": TESTS},
    ]
    inp = tmp_path / "in.jsonl"
    inp.write_text("\n".join(json.dumps(r) for r in rows) + "\nthis is not json\n")
    out = tmp_path / "out.jsonl"
    r = _run_cli("verify", str(inp), "--out", str(out), "--workers", "2", "--timeout", "5")
    assert r.returncode == 0, r.stderr
    got = {row["_exec_id"]: row for row in map(json.loads, out.read_text().splitlines())}
    assert set(got) == {"good", "q-bad", "nosol", "line-4"}
    assert got["good"]["passed"] is True and got["good"]["status"] == "pass" and got["good"]["extra"] == 7
    assert got["q-bad"]["passed"] is False and got["q-bad"]["status"] == "fail"
    assert got["nosol"]["status"] == "error" and "solution" in got["nosol"]["verdict"]["message"]
    assert got["line-4"]["status"] == "error"
    assert "jobs/s" in r.stderr
    # Resume: drop one finished row and leave a torn line, as a killed run would.
    lines = out.read_text().splitlines()
    keep = [ln for ln in lines if json.loads(ln)["_exec_id"] != "good"]
    out.write_text("\n".join(keep) + "\n" + lines[0][:20])
    r = _run_cli("verify", str(inp), "--out", str(out), "--workers", "1")
    assert r.returncode == 0, r.stderr
    ids = [json.loads(ln)["_exec_id"] for ln in out.read_text().splitlines()]
    assert sorted(ids) == sorted(["good", "q-bad", "nosol", "line-4"])


def test_cli_missing_input_is_a_clear_error(tmp_path):
    r = _run_cli("verify", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path / "o.jsonl"))
    assert r.returncode == 2 and "does not exist" in r.stderr


def test_server_is_shared_by_several_client_processes(tmp_path):
    from kodcode.exec import ExecClient

    sock = str(tmp_path / "exec.sock")
    proc = subprocess.Popen([sys.executable, "-m", "kodcode.exec", "serve", "--socket", sock, "--workers", "2"],
                            stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stderr.readline()
        assert "serving" in line
        code = (
            "import sys\nfrom kodcode.exec import ExecClient, PytestJob\n"
            f"c = ExecClient({sock!r})\n"
            f"vs = c.run([PytestJob(solution={ADD!r}, test={TESTS!r})] * 2)\n"
            "print(','.join(v.status for v in vs))\n"
        )
        clients = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) for _ in range(3)]
        outs = [c.communicate(timeout=120)[0].strip() for c in clients]
        assert outs == ["pass,pass"] * 3
        v = asyncio.run(ExecClient(sock).arun([PytestJob(solution="def add(a, b):\n    return 1\n", test=TESTS)]))
        assert v[0].status == "fail"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert not os.path.exists(sock)


def test_client_names_the_socket_when_the_server_is_down(tmp_path):
    from kodcode.exec import ExecClient

    with pytest.raises(ConnectionError) as e:
        ExecClient(str(tmp_path / "none.sock")).run([PytestJob(solution=ADD, test=TESTS)])
    assert "kodcode.exec serve" in str(e.value)


def _running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return False
    return stat[stat.rindex(b")") + 2 :][:1] != b"Z"


def test_degraded_mode_keeps_the_verdict_protocol_and_cleans_up():
    # Not under tmp_path: its parents are private to this user, and the job may run as another uid.
    with tempfile.TemporaryDirectory(prefix="kodcode-degraded-") as outside:
        _degraded_cleans_up(Path(outside))


def _degraded_cleans_up(marker: Path) -> None:
    marker.chmod(0o777)
    pid_file = marker / "daemon.pid"
    # The daemon writes its pid (the job waits for that), then would write `late` after 3 s.
    daemon = (
        "import os, time\n"
        "if os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
        f"        open({str(pid_file) + '.tmp'!r}, 'w').write(str(os.getpid()))\n"
        f"        os.rename({str(pid_file) + '.tmp'!r}, {str(pid_file)!r})\n"
        f"        time.sleep(3)\n        open({str(marker / 'late')!r}, 'w').write('x')\n    os._exit(0)\n"
        f"while not os.path.exists({str(pid_file)!r}):\n    time.sleep(0.01)\n"
        + ADD
    )
    jobs = [
        PytestJob(solution=ADD, test=TESTS),
        PytestJob(solution="import os\nos._exit(0)\n" + ADD, test=TESTS),
        PytestJob(solution=daemon, test=TESTS),
    ]
    with Executor(ExecConfig(workers=1, timeout_s=5, isolation="degraded")) as ex:
        assert ex.isolation == "degraded"
        verdicts = ex.run(jobs)
    assert [v.status for v in verdicts] == ["pass", "error", "pass"]
    daemon_pid = int(pid_file.read_text())
    deadline = time.monotonic() + 2  # less than the daemon's 3 s: it must be gone before it could write
    while _running(daemon_pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not _running(daemon_pid), "a daemon started by a job outlived it"
    assert not (marker / "late").exists()


def test_job_interpreter_is_configurable(tmp_path):
    import venv

    import sysconfig

    with_pytest = tmp_path / "with"
    venv.EnvBuilder(with_pip=False).create(with_pytest)
    # Give the new interpreter this environment's packages (pytest among them) through a .pth file.
    site = next((with_pytest / "lib").glob("python3*/site-packages"))
    (site / "parent.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    bare = tmp_path / "bare"
    venv.EnvBuilder(system_site_packages=False, with_pip=False).create(bare)
    probe = "import sys\ndef where():\n    return sys.prefix\n"
    test = f"def test_prefix():\n    assert where() == {str(with_pytest)!r}\n"
    with Executor(ExecConfig(workers=1, python=str(with_pytest / "bin" / "python"))) as ex:
        assert ex.run([PytestJob(solution=probe, test=test)])[0].status == "pass"
    from kodcode.exec import SandboxError

    with pytest.raises(SandboxError) as e:
        Executor(ExecConfig(workers=1, python=str(bare / "bin" / "python")))
    assert "cannot import pytest" in str(e.value)


def test_fast_path_takes_helper_classes_but_not_test_classes():
    import ast

    from kodcode.exec.worker.shape import fast_path_ok

    def ok(src):
        return fast_path_ok(ast.parse(src + "\n\ndef test_a():\n    assert True\n"))

    assert ok("class Node:\n    pass") and ok("class Oops(ValueError):\n    pass")
    assert ok("import dataclasses\n@dataclasses.dataclass\nclass P:\n    x: int = 0")
    assert not ok("class TestThings:\n    def test_b(self):\n        pass")
    assert not ok("import unittest\nclass Checks(unittest.TestCase):\n    pass")
    assert not ok("from unittest import IsolatedAsyncioTestCase\nclass C(IsolatedAsyncioTestCase):\n    pass")
    assert not ok("class C(metaclass=type):\n    pass")


def test_fast_path_takes_one_literal_parametrize_and_nothing_else():
    import ast

    from kodcode.exec.worker.shape import fast_path_ok, literal_parametrize

    def fn(src):
        return ast.parse("import pytest\n" + src).body[1]

    def ok(src):
        return fast_path_ok(ast.parse("import pytest\n" + src))

    plain = "@pytest.mark.parametrize('a, b', [(1, 2), [3, 4]])\ndef test_a(b, a):\n    assert a < b\n"
    assert ok(plain) and literal_parametrize(fn(plain)) == (["a", "b"], [(1, 2), (3, 4)])
    one = "@pytest.mark.parametrize('x', [(1, 2), None])\ndef test_a(x):\n    pass\n"
    assert literal_parametrize(fn(one)) == (["x"], [((1, 2),), (None,)])  # one name: each value whole
    for src in (
        "@pytest.mark.parametrize('a', [])\ndef test_a(a):\n    pass",  # pytest skips it
        "@pytest.mark.parametrize('a', [1], ids=['one'])\ndef test_a(a):\n    pass",
        "@pytest.mark.parametrize('a', [pytest.param(1)])\ndef test_a(a):\n    pass",
        "@pytest.mark.parametrize('a', [float('inf')])\ndef test_a(a):\n    pass",
        # a trailing comma: a tuple of one, in newer pytest only
        "@pytest.mark.parametrize('a,', [(1,)])\ndef test_a(a):\n    pass",
        "@pytest.mark.parametrize('a, b', [(1, 2, 3)])\ndef test_a(a, b):\n    pass",
        "@pytest.mark.parametrize('a', [1])\ndef test_a(a, tmp_path):\n    pass",  # a fixture beside it
        "@pytest.mark.parametrize('a', [1])\n@pytest.mark.parametrize('b', [2])\ndef test_a(a, b):\n    pass",
        "@pytest.mark.parametrize('a', [1])\ndef test_a(a=0):\n    pass",
        "@pytest.mark.skip\ndef test_a():\n    pass",
        "@pytest.mark.parametrize('a', [1])\ndef test_a(a):\n    pass\n\ndef test_a():\n    pass",
    ):
        assert not ok(src), src


AGREEMENT_CASES = [
    (ADD, TESTS),
    # helper classes in the test file (pytest collects none of them): fast path
    (ADD, "from dataclasses import dataclass\n\n@dataclass\nclass Case:\n    a: int\n    b: int\n\n"
          "class Node:\n    def __init__(self, v):\n        self.v = v\n\n    def test_not_collected(self):\n"
          "        assert False\n\nclass Oops(ValueError):\n    pass\n\n"
          "def test_cases():\n    assert [add(c.a, c.b) for c in (Case(1, 2), Case(0, 0))] == [3, 0]\n\n"
          "def test_node():\n    assert add(Node(2).v, 1) == 3\n"),
    ("def add(a, b):\n    return a * b\n", TESTS),
    (ADD, "import pytest\n\ndef test_raises():\n    with pytest.raises(TypeError):\n        add(1, 'x')\n"),
    (ADD, "def test_float():\n    assert add(0.1, 0.2) == 0.3\n"),
    ("def add(a, b):\n    raise ValueError('no')\n", TESTS),
    (ADD, "def test_ok():\n    assert add(1, 1) == 2\n\ndef helper():\n    return 1\n\ndef test_bad():\n    assert helper() == 2\n"),
    ("import collections\ndef add(a, b):\n    return collections.Counter([a, b])\n",
     "def test_counter():\n    assert add(1, 1) == {1: 2}\n"),
    # one literal parametrize per test: fast path (its cases run in order, each with its own values)
    (ADD, "import pytest\n\n@pytest.mark.parametrize('a, b, expected', [(1, 2, 3), [0, 0, 0], (-1, 1, 0)])\n"
          "def test_add(expected, a, b):\n    assert add(a, b) == expected\n\n"
          "@pytest.mark.parametrize('xs', [[1], [1], (2, 3)])\ndef test_grow(xs):\n"
          "    xs = list(xs)\n    xs.append(add(0, 9))\n    assert xs[-1] == 9 and len(xs) <= 3\n\n"
          "def test_plain():\n    assert add(2, 2) == 4\n"),
    (ADD, "import pytest\n\n@pytest.mark.parametrize('a', [1, 2, 3])\n"
          "def test_p(a):\n    assert add(a, 0) == (a if a != 2 else 99)\n\n"
          "def test_q():\n    assert add(1, 2) == 3\n"),
]


def _real_pytest(tmp_path, i, solution, test):
    d = tmp_path / f"case{i}"
    d.mkdir()
    (d / "solution.py").write_text(solution)
    (d / "test_solution.py").write_text("from solution import *\n\n" + test)
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", "-p", "no:randomly",
                        "test_solution.py"], cwd=d, capture_output=True, text=True, timeout=120)
    outcomes = {}
    for line in r.stdout.splitlines():
        for word in ("PASSED", "FAILED", "ERROR"):
            if line.startswith(word + " test_solution.py::"):
                # (a parametrized test: its worst case)
                name = line.split("::", 1)[1].split(" ")[0].split("[")[0]
                if outcomes.get(name) != "failed":
                    outcomes[name] = word.lower().replace("error", "failed")
    return outcomes


def test_fast_path_pytest_path_and_real_pytest_agree_on_honest_code(tmp_path):
    jobs = [PytestJob(solution=s, test=t, id=str(i)) for i, (s, t) in enumerate(AGREEMENT_CASES)]
    with Executor(ExecConfig(workers=2, fast_path=True)) as ex:
        fast = ex.run(jobs)
    with Executor(ExecConfig(workers=2, fast_path=False)) as ex:
        slow = ex.run(jobs)
    assert all(v.runner == "fast" for v in fast) and all(v.runner == "pytest" for v in slow)
    for i, (s, t) in enumerate(AGREEMENT_CASES):
        real = _real_pytest(tmp_path, i, s, t)
        got_fast = {x.name: x.outcome for x in fast[i].tests}
        got_slow = {x.name: x.outcome for x in slow[i].tests}
        assert got_fast == got_slow == real, (i, got_fast, got_slow, real)
        assert fast[i].status == slow[i].status == ("pass" if set(real.values()) == {"passed"} else "fail")


def test_jobs_may_use_localhost_inside_their_own_network_namespace(ex):
    sol = (
        "import socket, threading\n"
        "def f():\n"
        "    srv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen(1)\n"
        "    port = srv.getsockname()[1]\n"
        "    def serve():\n        c, _ = srv.accept(); c.sendall(b'hi'); c.close()\n"
        "    threading.Thread(target=serve).start()\n"
        "    c = socket.create_connection(('127.0.0.1', port)); d = c.recv(2); c.close()\n"
        "    return d\n"
    )
    (v,) = ex.run([PytestJob(solution=sol, test="def test_a():\n    assert f() == b'hi'\n")])
    assert v.status == "pass", v.message


def test_workers_outlive_the_thread_that_started_the_executor():
    """Workers die with the thread that forked them (PR_SET_PDEATHSIG); none may die after start-up."""
    import threading

    box = {}
    t = threading.Thread(target=lambda: box.setdefault("ex", Executor(ExecConfig(workers=2))))
    t.start()
    t.join()
    ex = box["ex"]
    try:
        pids = [w.proc.pid for w in ex._workers]
        # The parent-death signal goes out while the thread's task exits: once the task is gone, a worker
        # bound to it has been signalled.
        deadline = time.monotonic() + 10
        while os.path.exists(f"/proc/self/task/{t.native_id}"):
            assert time.monotonic() < deadline, "the starting thread's task never exited"
            time.sleep(0.01)
        assert all(w.alive() for w in ex._workers)
        v = ex.run([PytestJob("def f():\n    return 1\n", "def test_f():\n    assert f() == 1\n")] * 4)
        assert [x.status for x in v] == ["pass"] * 4
        assert [w.proc.pid for w in ex._workers] == pids  # no worker was restarted
    finally:
        ex.close()
