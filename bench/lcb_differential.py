"""LiveCodeBench differential: lcb_runner's own verdicts on the probe corpus, against kodcode's.

Two steps.  ``record`` runs in a scratch environment holding lcb_runner's source (never copied into
kodcode) and writes its verdict for every probe of ``tests/eval/lcb_probes.py``::

    git --git-dir=<LiveCodeBench bare repo> archive HEAD lcb_runner/evaluation | tar -x -C /tmp/lcb_src
    python3 -m venv /tmp/lcbenv && /tmp/lcbenv/bin/pip install numpy tqdm pandas
    /tmp/lcbenv/bin/python bench/lcb_differential.py record --lcb-src /tmp/lcb_src

``compare`` (the project's interpreter) scores the same probes with kodcode under ``semantics=official``
and ``semantics=fixed`` and writes ``bench/reports/lcb_differential.md``::

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
        rows.append(f"| {p['name']} | {'call' if p['fn_name'] else 'stdin'} | {_v(lcb)} | {_v(o['passed'])}{mark} | "
                    f"{_v(f['passed'])}{' (changed)' if f['passed'] != o['passed'] else ''} | {codes} |")
    n = len(mod.PROBES)
    lines = [
        "# LiveCodeBench differential: lcb_runner vs kodcode",
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
        "",
        "| probe | kind | lcb_runner | kodcode official | kodcode fixed | lcb_runner results | kodcode official code |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
        "Departures on purpose (`DIVERGENT` in the probe file: an object's own `__eq__` decides on lcb_runner, "
        "never in kodcode's trusted parent):",
        "",
        "| probe | lcb_runner | kodcode official |",
        "|---|---|---|",
        *[f"| {p['name']} | {_v(ref[p['name']]['passed'])} | {_v(d['passed'])} |" for p, d in zip(mod.DIVERGENT, div)],
        "",
    ]
    out.write_text("\n".join(lines))
    print("\n".join(lines[:8]))


def _v(passed: bool) -> str:
    return "pass" if passed else "fail"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("record")
    r.add_argument("--lcb-src", required=True, help="directory holding lcb_runner/ (from git archive)")
    r.add_argument("--out", type=Path, default=VERDICTS_FILE)
    c = sub.add_parser("compare")
    c.add_argument("--out", type=Path, default=REPORT)
    c.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    if a.cmd == "record":
        record(a.lcb_src, a.out)
    else:
        compare(a.out, a.workers)


if __name__ == "__main__":
    main()
