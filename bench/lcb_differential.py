"""LiveCodeBench differential: lcb_runner's own verdicts on the probe corpus, against kodcode's.

Two steps.  ``record`` runs in a scratch environment holding lcb_runner's source (never copied into
kodcode) and writes its verdict for every probe of ``tests/eval/lcb_probes.py``::

    git --git-dir=<LiveCodeBench bare repo> archive HEAD lcb_runner/evaluation | tar -x -C /tmp/lcb_src
    python3 -m venv /tmp/lcbenv && /tmp/lcbenv/bin/pip install numpy tqdm pandas
    /tmp/lcbenv/bin/python bench/lcb_differential.py record --lcb-src /tmp/lcb_src

``record-skythought`` does the same with SkyThought's LiveCodeBench scorer (the KodCode paper's harness),
run from its source, on those probes and on the SkyThought-only ones (``SKYTHOUGHT``, ``SKY_DIVERGENT``),
writing ``tests/eval/sky_probe_verdicts.json``::

    git --git-dir=<SkyThought bare repo> archive 4bb8f3e skythought/evals/tasks/livecodebench \
        skythought/evals/tasks/base.py skythought/evals/util/common.py | tar -x -C /tmp/sky_src
    python3 -m venv /tmp/skyenv && /tmp/skyenv/bin/pip install numpy pandas pydantic pyyaml
    /tmp/skyenv/bin/python bench/lcb_differential.py record-skythought --sky-src /tmp/sky_src

``compare`` (the project's interpreter) scores the same probes with kodcode under ``semantics=official``
and ``semantics=fixed``, and under ``prompt=skythought``, and writes ``bench/reports/lcb_differential.md``::

    python bench/lcb_differential.py compare
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROBES_FILE = ROOT / "tests" / "eval" / "lcb_probes.py"
VERDICTS_FILE = ROOT / "tests" / "eval" / "lcb_probe_verdicts.json"
SKY_VERDICTS_FILE = ROOT / "tests" / "eval" / "sky_probe_verdicts.json"
SKY_COMMIT = "4bb8f3e"  # 2025-02-27, the last SkyThought commit before the KodCode paper (2025-03-04)
REPORT = ROOT / "bench" / "reports" / "lcb_differential.md"


def _probes():
    spec = importlib.util.spec_from_file_location("lcb_probes", PROBES_FILE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def record(lcb_src: str, out: Path) -> None:
    sys.path.insert(0, lcb_src)
    import numpy as np
    from lcb_runner.evaluation.compute_code_generation_metrics import check_correctness

    mod = _probes()
    got = {}
    for p in mod.PROBES + mod.DIVERGENT:
        sample = {"input_output": json.dumps({"inputs": p["inputs"], "outputs": p["outputs"], "fn_name": p["fn_name"]})}
        t0 = time.time()
        try:
            res, meta = check_correctness(sample, p["code"], timeout=mod.TIMEOUT_S, debug=False)
        except Exception:  # noqa: BLE001 - evaluate_generations_by_problem: [-2] and "TestRunnerError" (-5)
            res, meta = [-2], {"error_code": -5}
        # evaluate_generations_by_problem's clean-up, then pass_k_utils' "all results > 0"
        res = [bool(e) if isinstance(e, np.bool_) else (e.item(0) if isinstance(e, np.ndarray) else e) for e in res]
        passed = bool(np.all(np.array(res) > 0))
        got[p["name"]] = {"passed": passed, "results": [r if isinstance(r, (bool, int)) else repr(r) for r in res],
                          "error_code": meta.get("error_code")}
        print(f"{p['name']:36s} {'pass' if passed else 'fail'} {res} {time.time() - t0:.1f}s", flush=True)
    doc = {"lcb_runner": "LiveCodeBench/LiveCodeBench 28fef95 lcb_runner/evaluation", "timeout_s": mod.TIMEOUT_S,
           "python": sys.version.split()[0], "numpy": np.__version__, "verdicts": got}
    out.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    print(f"wrote {out} ({len(got)} probes, {sum(v['passed'] for v in got.values())} pass)")


def _sky_handler(sky_src: str):
    """SkyThought's LiveCodeBench task handler, imported from its source.

    Its scoring path (``update_results``: ``has_code``, ``post_process_code``, ``check_correctness``,
    ``unsafe_lcb_runTests``) is SkyThought's own code.  Two modules that only its dataset loading and
    seeding use are empty stand-ins here: ``datasets`` (``load_dataset``) and ``torch`` (``set_seed``).
    """
    import types

    for name in ("datasets", "torch"):
        stub = types.ModuleType(name)
        stub.Dataset = stub.load_dataset = None
        sys.modules.setdefault(name, stub)
    sys.path.insert(0, sky_src)
    from skythought.evals.tasks.base import TaskConfig
    from skythought.evals.tasks.livecodebench import livecodebench_handler as h

    cfg = Path(sky_src) / "skythought" / "evals" / "tasks" / "livecodebench" / "livecodebench.yaml"
    return h, h.LiveCodeBenchTaskHandler(TaskConfig.from_yaml(str(cfg)))


def record_skythought(sky_src: str, out: Path) -> None:
    """Every probe through SkyThought's handler: the last code block of the answer, private tests (all of a
    probe's), ``is_extracted = not is_stdin`` as ``update_results`` sets it, and the probes' per-test
    ``timeout`` (``update_results`` passes 6; the runner's only use of it is its global limit,
    ``(timeout + 1) * tests + 5`` s)."""
    h, handler = _sky_handler(sky_src)
    from skythought.evals.util.common import has_code

    mod = _probes()
    got = {}
    for p in mod.PROBES + mod.DIVERGENT + mod.SKYTHOUGHT + mod.SKY_DIVERGENT:
        stdin = p["fn_name"] is None
        kind = "stdin" if stdin else "functional"
        problem = {"is_stdin": stdin, "test": [{"input": i, "output": o, "testtype": kind}
                                               for i, o in zip(p["inputs"], p["outputs"])]}
        answer = f"Here is the solution.\n```python\n{p['code']}```\n"
        code = h.post_process_code(has_code(answer)[-1])
        t0 = time.time()
        passed = bool(handler.check_correctness(problem, completion=code, timeout=mod.TIMEOUT_S,
                                                is_extracted=not stdin))
        got[p["name"]] = {"passed": passed, "extracted_intact": code == p["code"]}
        print(f"{p['name']:40s} {'pass' if passed else 'fail'} {time.time() - t0:.1f}s", flush=True)
    import numpy as np

    doc = {"skythought": f"NovaSky-AI/SkyThought {SKY_COMMIT} skythought/evals/tasks/livecodebench",
           "timeout_s": mod.TIMEOUT_S, "python": sys.version.split()[0], "numpy": np.__version__, "verdicts": got}
    out.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    print(f"wrote {out} ({len(got)} probes, {sum(v['passed'] for v in got.values())} pass)")


def compare(out: Path, workers: int) -> None:
    sys.path.insert(0, str(ROOT))
    from kodcode.eval.livecodebench import score_probes
    from kodcode.exec import ExecConfig, Executor

    mod = _probes()
    rec = json.loads(VERDICTS_FILE.read_text())
    ref = rec["verdicts"]
    with Executor(ExecConfig(workers=workers, timeout_s=float(mod.TIMEOUT_S))) as ex:
        t0 = time.time()
        off = score_probes(mod.PROBES, ex, semantics="official", timeout_s=mod.TIMEOUT_S)
        t1 = time.time()
        fix = score_probes(mod.PROBES, ex, semantics="fixed", timeout_s=mod.TIMEOUT_S)
        t2 = time.time()
        div = score_probes(mod.DIVERGENT, ex, semantics="official", timeout_s=mod.TIMEOUT_S)
        t3 = time.time()
        sky_probes = mod.PROBES + mod.SKYTHOUGHT
        sky = score_probes(sky_probes, ex, timeout_s=mod.TIMEOUT_S, harness="skythought")
        t4 = time.time()
        sky_div = score_probes(mod.DIVERGENT + mod.SKY_DIVERGENT, ex, timeout_s=mod.TIMEOUT_S, harness="skythought")
    srec = json.loads(SKY_VERDICTS_FILE.read_text())
    sref = srec["verdicts"]
    sky_by = {r["task_id"]: r for r in sky}
    rows, agree, changed, code_agree, n_fail = [], 0, 0, 0, 0
    for p, o, f in zip(mod.PROBES, off, fix):
        lcb = ref[p["name"]]["passed"]
        agree += o["passed"] == lcb
        if not lcb:  # lcb_runner's last result is its error code (False: a wrong call-based answer, -2)
            n_fail += 1
            last = ref[p["name"]]["results"][-1]
            code_agree += (-2 if last is False else last) == o["detail"].get("error_code")
        changed += f["passed"] != o["passed"]
        mark = "" if o["passed"] == lcb else " **differs**"
        codes = f"{ref[p['name']]['results']} | {o['detail'].get('error_code', '')}"
        st, sk = sref[p["name"]]["passed"], sky_by[p["name"]]["passed"]
        rows.append(f"| {p['name']} | {'call' if p['fn_name'] else 'stdin'} | {_v(lcb)} | {_v(o['passed'])}{mark} | "
                    f"{_v(f['passed'])}{' (changed)' if f['passed'] != o['passed'] else ''} | {codes} | "
                    f"{_v(st)} | {_v(sk)}{'' if sk == st else ' **differs**'} |")
    sky_agree = sum(sky_by[p["name"]]["passed"] == sref[p["name"]]["passed"] for p in sky_probes)
    sky_vs_lcb = sum(sref[p["name"]]["passed"] != ref[p["name"]]["passed"] for p in mod.PROBES)
    intact = sum(v.get("extracted_intact", False) for v in sref.values())
    sky_rows = []
    for p in mod.SKYTHOUGHT:
        st, sk = sref[p["name"]]["passed"], sky_by[p["name"]]["passed"]
        why = "" if sk else sky_by[p["name"]]["detail"].get("message", "")
        sky_rows.append(f"| {p['name']} | {'call' if p['fn_name'] else 'stdin'} | {_v(st)} | "
                        f"{_v(sk)}{'' if sk == st else ' **differs**'} | {_cell(why)} |")
    n = len(mod.PROBES)
    lines = [
        "# LiveCodeBench differential: lcb_runner and SkyThought vs kodcode",
        "",
        f"`python bench/lcb_differential.py compare` ({n} probes from `tests/eval/lcb_probes.py`, per-test timeout "
        f"{mod.TIMEOUT_S} s, {workers} workers).  Reference verdicts: {rec['lcb_runner']}, run from source by "
        f"`bench/lcb_differential.py record` (Python {rec['python']}, numpy {rec['numpy']}).",
        "",
        f"- `semantics=official` (default) agrees with lcb_runner on **{agree}/{n}** probes ({t1 - t0:.1f} s).",
        f"- On the {n_fail} probes lcb_runner fails, the error code (-2 wrong answer, -3 time limit, -4 runtime "
        f"error) is the same on {code_agree}; the rest are crashes and exits that leave lcb_runner without a result "
        "(it reports -2 through its test-runner error path) and one wrong answer whose error message raised there "
        "(-4); the codes columns show each.",
        f"- `semantics=fixed` changes **{changed}/{n}** of those verdicts ({t2 - t1:.1f} s).",
        f"- SkyThought's scorer ({srec['skythought']}, run from source by `bench/lcb_differential.py "
        f"record-skythought`, Python {srec['python']}, numpy {srec['numpy']}) gives a different verdict from "
        f"lcb_runner on **{sky_vs_lcb}/{n}** of these probes.",
        f"- kodcode under `prompt=skythought` (SkyThought's runner, private tests, its extraction) agrees with "
        f"SkyThought on **{sky_agree}/{len(sky_probes)}** probes: these {n} and the {len(mod.SKYTHOUGHT)} "
        f"SkyThought-only ones below ({t4 - t3:.1f} s).  SkyThought's own extraction (`has_code`, "
        f"`post_process_code`) gave back each probe's program intact on {intact}/{len(sref)}.",
        "",
        "| probe | kind | lcb_runner | kodcode official | kodcode fixed | lcb_runner results | kodcode official code "
        "| SkyThought | kodcode skythought |",
        "|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        "SkyThought-only probes (`SKYTHOUGHT` in the probe file: the call probes as the plain functions "
        "SkyThought's prompt asks for, and its own input and output rules); kodcode's reason for a fail:",
        "",
        "| probe | kind | SkyThought | kodcode skythought | kodcode's reason |",
        "|---|---|---|---|---|",
        *sky_rows,
        "",
        "Departures on purpose (`DIVERGENT` in the probe file: an object's own `__eq__` decides on lcb_runner, "
        "never in kodcode's trusted parent):",
        "",
        "| probe | lcb_runner | kodcode official |",
        "|---|---|---|",
        *[f"| {p['name']} | {_v(ref[p['name']]['passed'])} | {_v(d['passed'])} |" for p, d in zip(mod.DIVERGENT, div)],
        "",
        "The same objects under `prompt=skythought` (SkyThought compares in the program's process too):",
        "",
        "| probe | SkyThought | kodcode skythought |",
        "|---|---|---|",
        *[f"| {p['name']} | {_v(sref[p['name']]['passed'])} | {_v(d['passed'])} |"
          for p, d in zip(mod.DIVERGENT + mod.SKY_DIVERGENT, sky_div)],
        "",
    ]
    out.write_text("\n".join(lines))
    print("\n".join(lines[:8]))


def _v(passed: bool) -> str:
    return "pass" if passed else "fail"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")[:90]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("record")
    r.add_argument("--lcb-src", required=True, help="directory holding lcb_runner/ (from git archive)")
    r.add_argument("--out", type=Path, default=VERDICTS_FILE)
    s = sub.add_parser("record-skythought")
    s.add_argument("--sky-src", required=True, help="directory holding skythought/evals/... (from git archive)")
    s.add_argument("--out", type=Path, default=SKY_VERDICTS_FILE)
    c = sub.add_parser("compare")
    c.add_argument("--out", type=Path, default=REPORT)
    c.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    if a.cmd == "record":
        record(a.lcb_src, a.out)
    elif a.cmd == "record-skythought":
        record_skythought(a.sky_src, a.out)
    else:
        compare(a.out, a.workers)


if __name__ == "__main__":
    main()
