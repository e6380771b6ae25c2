"""LiveCodeBench code generation (release_v5 by default): data, official prompt, extraction, scoring.

Data (``load_problems``): a directory holding the hub's release files (``test.jsonl`` ..
``test6.jsonl`` of ``livecodebench/code_generation_lite``; release_vN reads the first N), one JSONL /
JSONL.gz / Parquet export of it (or of the parquet mirror ``lighteval/code_generation_lite``), or,
with no path, the hub itself (network).  ``summarize`` gives the counts per release window and
difficulty that the runner prints on load (``python -m kodcode.eval.livecodebench PATH [RELEASE]`` prints
them alone).  Problems are filtered by contest date (the release
window) and difficulty.

Harness (``prompt``): ``lcb`` is the official one: LCB's generic chat prompt, the code between the
last two fence lines (``extract_code``), public + private tests.  ``skythought`` is the one the
KodCode paper used: SkyThought's templates, its last code block (``extract_code_skythought``),
private tests only.

Scoring under ``prompt=skythought`` and ``semantics=official`` is SkyThought's own runner
(``sky_harness`` in the job, ``lcb_rules.grade_sky_reports`` in the parent), not lcb_runner's;
``semantics=fixed`` is the same fixed scoring for both harnesses.

Scoring (``semantics``): ``official`` (default) runs each sample in one job through ``lcb_harness``,
which runs it as lcb_runner does, and grades the reports with ``lcb_rules`` in the parent.  ``fixed``
runs every test in a fresh process with real stdin/stdout (``StdioJob``/``CallJob``), so the
official harness's quirks (README table) no longer decide verdicts.  Per-test limit: 6 s (LCB's
``--timeout``).

Private tests are stored compressed: base64 -> zlib -> pickle -> JSON text.  Unpickling runs code
chosen by whoever wrote the bytes, so ``decode_private_tests`` uses an unpickler that refuses every
global: the official payload is a pickled ``str`` (no globals needed), anything else is rejected.
"""

from __future__ import annotations

import base64
import functools
import io
import json
import pickle
import re
import secrets
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kodcode.eval import lcb_harness, sky_harness
from kodcode.eval.lcb_harness import IMPORT_PRELUDE
from kodcode.eval.lcb_rules import (
    grade_call_outputs,
    grade_reports,
    grade_sky_reports,
    grade_stdio_outputs,
    parse_expected,
    parse_reports,
)
from kodcode.rows import read_rows

DIFFICULTIES = ("easy", "medium", "hard")

# Release windows (LCB README): release_v5 covers contests 2023-05-01 .. 2025-01-31, 880 problems.
RELEASE_WINDOWS = {
    "release_v1": ("2023-05-01", "2024-03-31"),
    "release_v2": ("2023-05-01", "2024-05-31"),
    "release_v3": ("2023-05-01", "2024-07-31"),
    "release_v4": ("2023-05-01", "2024-09-30"),
    "release_v5": ("2023-05-01", "2025-01-31"),
    "release_v6": ("2023-05-01", "2025-04-30"),
}
# Files of the hub repo per release (each release adds one file; layout as the loading script lists it).
_HUB_FILES = ["test.jsonl", "test2.jsonl", "test3.jsonl", "test4.jsonl", "test5.jsonl", "test6.jsonl"]

# lcb_runner/prompts/code_generation.py (PromptConstants, get_generic_question_template_answer)
SYSTEM_MESSAGE = (
    "You are an expert Python programmer. You will be given a question (problem specification) and will "
    "generate a correct Python program that matches the specification and passes all tests."
)
FORMAT_WITH_STARTER = (
    "You will use the following starter code to write the solution to the problem and enclose your code "
    "within delimiters."
)
FORMAT_WITHOUT_STARTER = (
    "Read the inputs from stdin solve the problem and write the answer to stdout (do not directly test on "
    "the sample inputs). Enclose your code within delimiters as follows. Ensure that when the python program "
    "runs, it reads the inputs, runs the algorithm and writes output to STDOUT."
)
# SkyThought's templates (what the KodCode paper's LCB numbers were produced with, §4.1).
SKYTHOUGHT_STDIN = (
    "Generate an executable Python function generated from the given prompt. The function should take stdin "
    "as input and print the output. Simply call the function after the definition. {prompt}"
)
SKYTHOUGHT_CALL = (
    "Generate an executable Python function generated from the given prompt. Return the function body "
    "without invoking it at the final solution. {prompt}"
)

TIMEOUT_S = 6.0  # lcb_runner/runner/parser.py --timeout


@dataclass
class Problem:
    question_id: str
    question_title: str
    question_content: str
    platform: str
    contest_date: str
    starter_code: str
    difficulty: str
    tests: list[dict] = field(default_factory=list)  # public + private: {input, output, testtype}
    fn_name: str | None = None
    n_public: int = 0  # tests[:n_public] are the public ones

    @property
    def is_stdin(self) -> bool:
        return self.fn_name is None

    def tests_for(self, harness: str) -> list[dict]:
        """lcb: public + private (``get_evaluation_sample``); skythought: private only (``map_to_example``)."""
        return self.tests[self.n_public:] if harness == "skythought" else self.tests


class _NoGlobalsUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):  # pragma: no cover - only hostile payloads get here
        raise pickle.UnpicklingError(
            f"private_test_cases payload references {module}.{name}; the official format is a pickled "
            "JSON string, so any global is refused (unpickling untrusted data can run code)"
        )


def decode_private_tests(blob: str) -> list[dict]:
    """Plain JSON, or base64 -> zlib -> pickle(str) -> JSON as LCB stores it."""
    try:
        return json.loads(blob)
    except (json.JSONDecodeError, TypeError):
        pass
    raw = zlib.decompress(base64.b64decode(blob.encode("utf-8")))
    text = _NoGlobalsUnpickler(io.BytesIO(raw)).load()
    if not isinstance(text, str):
        raise TypeError(f"private_test_cases decoded to {type(text).__name__}, expected the JSON text of a test list")
    return json.loads(text)


def encode_private_tests(tests: list[dict]) -> str:
    """The inverse of ``decode_private_tests`` (fixtures and tests write LCB's compressed form)."""
    return base64.b64encode(zlib.compress(pickle.dumps(json.dumps(tests)))).decode("utf-8")


def problem_from_row(row: dict) -> Problem:
    public = row.get("public_test_cases") or "[]"
    public = json.loads(public) if isinstance(public, str) else list(public)
    private = row.get("private_test_cases") or "[]"
    private = decode_private_tests(private) if isinstance(private, str) else list(private)
    meta = row.get("metadata") or "{}"
    meta = json.loads(meta) if isinstance(meta, str) else dict(meta)
    date = row["contest_date"]
    return Problem(
        question_id=str(row["question_id"]),
        question_title=row.get("question_title", ""),
        question_content=row["question_content"],
        platform=row.get("platform", ""),
        contest_date=date.isoformat() if hasattr(date, "isoformat") else str(date),
        starter_code=row.get("starter_code") or "",
        difficulty=str(row["difficulty"]).lower(),
        tests=list(public) + list(private),
        fn_name=meta.get("func_name"),
        n_public=len(public),
    )


def _read_rows(path: Path) -> list[dict]:
    return list(read_rows(path))


_FIX = ("export release_v5 once on a machine with network: `huggingface-cli download livecodebench/code_generation_lite "
        "--repo-type dataset --local-dir DIR` (or save `load_dataset(\"livecodebench/code_generation_lite\", "
        "version_tag=\"release_v5\", trust_remote_code=True)[\"test\"]` with .to_json), then set "
        "benchmark.livecodebench.data_path=DIR (or the .jsonl/.parquet file)")


def _local_rows(path: Path, release: str) -> list[dict]:
    if path.is_dir():
        n = int(release.rsplit("v", 1)[1])
        files = [path / f for f in _HUB_FILES[:n]]
        missing = [f.name for f in files if not f.exists()]
        if missing:
            raise FileNotFoundError(f"LiveCodeBench data_path {str(path)!r} lacks {missing} for {release} (the hub's "
                                    f"release files {_HUB_FILES[:n]}); {_FIX}")
        return [row for f in files for row in _read_rows(f)]
    if not path.exists():
        raise FileNotFoundError(f"LiveCodeBench data_path {str(path)!r} does not exist; {_FIX}")
    return _read_rows(path)


def _hub_rows(release: str) -> list[dict]:
    try:
        from huggingface_hub import hf_hub_download
    except ImportError as e:
        raise RuntimeError(f"LiveCodeBench has no data_path and huggingface_hub is not installed; {_FIX}") from e
    n = int(release.rsplit("v", 1)[1])
    rows: list[dict] = []
    try:
        for fname in _HUB_FILES[:n]:
            local = hf_hub_download("livecodebench/code_generation_lite", fname, repo_type="dataset")
            rows.extend(_read_rows(Path(local)))
    except Exception as e:  # noqa: BLE001 - offline machines land here
        raise RuntimeError(f"LiveCodeBench could not be fetched from the hub ({type(e).__name__}: {e}); {_FIX}") from e
    return rows


def load_problems(path: str | None, release: str = "release_v5", start_date: str | None = None,
                  end_date: str | None = None, difficulties: list[str] | None = None) -> list[Problem]:
    """Problems in the release window (overridable), sorted by date and id; ``path`` None means the hub."""
    rows = _local_rows(Path(path), release) if path else _hub_rows(release)
    lo, hi = RELEASE_WINDOWS.get(release, (None, None))
    lo, hi = start_date or lo, end_date or hi
    keep = set(difficulties or DIFFICULTIES)
    out = []
    for row in rows:
        p = problem_from_row(row)
        day = p.contest_date[:10]
        if (lo and day < lo) or (hi and day > hi) or p.difficulty not in keep:
            continue
        out.append(p)
    if rows and not out:
        raise ValueError(f"LiveCodeBench data has {len(rows)} problems but none in {release} {lo}..{hi} with difficulty "
                         f"in {sorted(keep)}; check benchmark.livecodebench.release/start_date/end_date/difficulties")
    return sorted(out, key=lambda p: (p.contest_date, p.question_id))


# LCB README: problems per release window of code_generation_lite.
RELEASE_SIZES = {"release_v1": 400, "release_v2": 511, "release_v3": 612, "release_v4": 713, "release_v5": 880,
                 "release_v6": 1055}


def summarize(problems: list[Problem], release: str) -> str:
    """Counts per release window and difficulty, and whether the requested release is complete."""
    by_release = []
    for name, (lo, hi) in RELEASE_WINDOWS.items():
        n = sum(lo <= p.contest_date[:10] <= hi for p in problems)
        if n:
            by_release.append(f"{name} {n}")
    by_diff = ", ".join(f"{d} {sum(p.difficulty == d for p in problems)}" for d in DIFFICULTIES)
    line = f"LiveCodeBench: {len(problems)} problems ({by_diff}); by release window: {', '.join(by_release) or '-'}"
    want = RELEASE_SIZES.get(release)
    if want and len(problems) != want:
        line += f"; note: the full {release} has {want} (a partial export, a date or difficulty filter, or a limit)"
    return line


def make_messages(p: Problem, style: str = "lcb") -> list[dict]:
    """Official LCB chat prompt (``style=lcb``) or SkyThought's (``style=skythought``)."""
    if style == "skythought":
        tmpl = SKYTHOUGHT_STDIN if p.is_stdin else SKYTHOUGHT_CALL
        return [{"role": "user", "content": tmpl.format(prompt=p.question_content)}]
    text = f"### Question:\n{p.question_content}\n\n"
    if p.starter_code:
        text += f"### Format: {FORMAT_WITH_STARTER}\n```python\n{p.starter_code}\n```\n\n"
    else:
        text += f"### Format: {FORMAT_WITHOUT_STARTER}\n```python\n# YOUR CODE HERE\n```\n\n"
    text += "### Answer: (use the provided format with backticks)\n\n"
    return [{"role": "system", "content": SYSTEM_MESSAGE}, {"role": "user", "content": text}]


def extract_code(text: str) -> str:
    """LCB's ``extract_code``: the lines between the last two lines containing a fence, else ''."""
    lines = text.split("\n")
    fences = [i for i, line in enumerate(lines) if "```" in line]
    if len(fences) < 2:
        return ""
    return "\n".join(lines[fences[-2] + 1: fences[-1]])


_SKY_BLOCK = re.compile(r"```(?:[a-zA-Z]*)\n(.*?)```", re.DOTALL)


def extract_code_skythought(text: str) -> str:
    """SkyThought's: the last fenced block (a fence, an optional language tag, a newline), then its
    ``post_process_code`` (cut at ``</code>`` and at a fence, drop ``<code>``)."""
    blocks = _SKY_BLOCK.findall(text)
    if not blocks:
        return ""
    code = blocks[-1].split("</code>")[0].replace("```python", "").split("```")[0]
    return code.replace("<code>", "")


def extract(text: str, harness: str = "lcb") -> str:
    return extract_code_skythought(text) if harness == "skythought" else extract_code(text)


SEMANTICS = ("official", "fixed")
# semantics=fixed: Python's int<->str digit limit guards servers, not answers; a huge correct number prints.
_FIXED_PRELUDE = "sys.set_int_max_str_digits(0)\n"


@functools.cache
def _harness_source() -> str:
    return Path(lcb_harness.__file__).read_text(encoding="utf-8")


_MAIN_CALL = 'if __name__ == "__main__":\n    main()\n'


@functools.cache
def _sky_harness_source() -> str:
    """lcb_harness's helpers (its ``main`` call removed), then sky_harness, as one program."""
    lcb = _harness_source()
    if not lcb.endswith(_MAIN_CALL):
        raise RuntimeError("kodcode/eval/lcb_harness.py must end with its main() call; sky_harness reuses the rest")
    return lcb[: -len(_MAIN_CALL)] + "\n\n" + Path(sky_harness.__file__).read_text(encoding="utf-8")

# semantics=fixed, call-based: numpy values, Decimals, Fractions, real complex numbers and subclasses of
# builtins are answered as the plain values they stand for.
_FIXED_CALL_SHIM = """

def __kodcode_plain(v):
    t = type(v)
    if t.__module__.split(".")[0] == "numpy" and hasattr(v, "dtype"):
        if getattr(v, "ndim", 0):
            return [__kodcode_plain(x) for x in v]
        if v.dtype.kind == "f" and v.dtype.itemsize < 8:
            return float(str(v))  # float32 0.1 is the answer 0.1, at its own precision
        return __kodcode_plain(v.item())
    if t.__name__ in ("Decimal", "Fraction"):
        try:
            return int(v) if v == int(v) else float(v)
        except Exception:
            return v
    if t is complex and v.imag == 0:
        return __kodcode_plain(v.real)
    if t in (list, tuple):
        return [__kodcode_plain(x) for x in v]
    if t is dict:
        return {k: __kodcode_plain(x) for k, x in v.items()}
    for base in (bool, int, float, str, list, tuple, dict):
        if isinstance(v, base) and t is not base:  # Counter, OrderedDict, IntEnum...: their content
            return __kodcode_plain(base(v))
    return v


def __kodcode_call(*args):
    return __kodcode_plain(%s(*args))
"""


def make_job(p: Problem, code: str, timeout_s: float = TIMEOUT_S, job_id: str | None = None,
             semantics: str = "official", nonce: str = "", harness: str = "lcb"):
    """One sandbox job running ``code`` on the tests of ``p``.

    official: one ``StdioJob`` whose program is ``lcb_harness`` and whose stdin carries the program and
    the test inputs (never the expected outputs); its limit is lcb_runner's global one,
    ``(timeout + 1) * tests + 5`` s.  fixed: a ``StdioJob``/``CallJob`` with one fresh process per test.
    """
    from kodcode.exec import CallJob, StdioJob

    tests = p.tests_for(harness)
    if semantics == "official" and harness == "skythought":
        payload = {"code": code, "inputs": [t["input"] for t in tests], "fn_name": p.fn_name, "nonce": nonce}
        return StdioJob(program=_sky_harness_source(), inputs=[json.dumps(payload)], id=job_id,
                        timeout_s=(timeout_s + 1) * len(tests) + 5)
    if semantics == "official":
        payload = {"code": code, "inputs": [t["input"] for t in tests], "fn_name": p.fn_name, "timeout": timeout_s,
                   "nonce": nonce}
        return StdioJob(program=_harness_source(), inputs=[json.dumps(payload)], id=job_id,
                        timeout_s=(timeout_s + 1) * len(tests) + 5)
    program = IMPORT_PRELUDE + _FIXED_PRELUDE + "\n" + code
    if p.is_stdin:
        return StdioJob(program=program, inputs=[t["input"] for t in tests], id=job_id, timeout_s=timeout_s)
    target = f"Solution().{p.fn_name}" if "class Solution" in code else p.fn_name
    args = [[parse_expected(line) for line in t["input"].split("\n")] for t in tests]
    return CallJob(program=program + _FIXED_CALL_SHIM % target, fn_name="__kodcode_call", args_list=args, id=job_id,
                   timeout_s=timeout_s)


def grade(p: Problem, verdict: Any, semantics: str = "official", nonce: str = "", harness: str = "lcb") -> dict:
    """The per-sample record for one executed job: status pass | fail | sandbox_error and LCB detail."""
    if verdict.status == "sandbox_error":
        return {"status": "sandbox_error", "passed": None, "detail": {"message": verdict.message}}
    tests = p.tests_for(harness)
    if semantics == "official" and harness == "skythought":
        stdout = verdict.outputs[0].stdout if verdict.outputs else verdict.stdout
        ok, detail = grade_sky_reports(parse_reports(stdout or "", nonce), [t["output"] for t in tests], p.is_stdin)
        return {"status": "pass" if ok else "fail", "passed": ok, "detail": detail}
    try:
        expected = [t["output"] if p.is_stdin else parse_expected(t["output"]) for t in tests]
    except ValueError as e:
        return {"status": "fail", "passed": False, "detail": {"message": f"unreadable expected output: {e}"}}
    if semantics == "official":
        stdout = verdict.outputs[0].stdout if verdict.outputs else verdict.stdout
        ok, detail = grade_reports(parse_reports(stdout or "", nonce), expected, stdio=p.is_stdin)
        if not ok and detail.get("error_code") == -1:
            detail["message"] += f" ({verdict.status}: {verdict.message} {verdict.stderr[-300:]})".rstrip()
        return {"status": "pass" if ok else "fail", "passed": ok, "detail": detail}
    grader = grade_stdio_outputs if p.is_stdin else grade_call_outputs
    ok, detail = grader(verdict.outputs, expected)
    if not ok and not verdict.outputs and verdict.status != "pass":
        detail["message"] = f"{verdict.status}: {verdict.message} {verdict.stderr[-300:]}".strip()
    return {"status": "pass" if ok else "fail", "passed": ok, "detail": detail}


def score(problems: list[Problem], samples: dict[str, str], executor, timeout_s: float = TIMEOUT_S,
          semantics: str = "official", harness: str = "lcb") -> list[dict]:
    """Grade one extracted program per problem (``samples``: question_id -> code); records in problem order.

    An empty program (nothing extracted) is a fail without running; a sandbox error stays one.
    """
    if semantics not in SEMANTICS:
        raise ValueError(f"semantics must be one of {SEMANTICS} (got {semantics!r}); set semantics=official")
    records: list[dict] = [{} for _ in problems]
    jobs, where, nonces = [], [], []
    for i, p in enumerate(problems):
        code = samples.get(p.question_id, "")
        base = {"task_id": p.question_id, "difficulty": p.difficulty, "solution": code}
        if not code.strip() or not p.tests_for(harness):
            msg = "no code extracted" if not code.strip() else "problem has no tests"
            records[i] = {**base, "status": "fail", "passed": False, "detail": {"message": msg}}
            continue
        nonce = "@lcb-" + secrets.token_hex(12) + "@"
        jobs.append(make_job(p, code, timeout_s, p.question_id, semantics, nonce, harness))
        where.append(i)
        nonces.append(nonce)
    verdicts = executor.run(jobs, progress=False) if jobs else []
    for i, v, nonce in zip(where, verdicts, nonces):
        p = problems[i]
        try:
            graded = grade(p, v, semantics, nonce, harness)
        except Exception as e:  # noqa: BLE001 - like lcb_runner's TestRunnerError (-5): this sample fails, the run goes on
            graded = {"status": "fail", "passed": False,
                      "detail": {"error_code": -5, "message": f"could not be graded: {type(e).__name__}: {e}"[:500]}}
        records[i] = {"task_id": p.question_id, "difficulty": p.difficulty, "solution": samples[p.question_id],
                      "semantics": semantics, **graded}
    return records


def mark_changes(fixed: list[dict], official: list[dict]) -> dict[str, int]:
    """Put each sample's official verdict beside its fixed one (``official_passed``); count the changes."""
    out = {"fail_to_pass": 0, "pass_to_fail": 0}
    for f, o in zip(fixed, official):
        f["official_passed"] = o["passed"]
        if f["passed"] is not None and o["passed"] is not None and f["passed"] != o["passed"]:
            out["fail_to_pass" if f["passed"] else "pass_to_fail"] += 1
    return {**out, "changed": out["fail_to_pass"] + out["pass_to_fail"]}


def score_probes(probes: list[dict], executor, semantics: str = "official", timeout_s: float = TIMEOUT_S,
                 harness: str = "lcb") -> list[dict]:
    """Score differential probes (``tests/eval/lcb_probes.py``: name, code, inputs, outputs, fn_name); every
    probe test counts as private, so ``harness=skythought`` runs them all."""
    problems = [Problem(question_id=pr["name"], question_title="", question_content="", platform="",
                        contest_date="", starter_code="", difficulty="easy", fn_name=pr["fn_name"],
                        tests=[{"input": i, "output": o} for i, o in zip(pr["inputs"], pr["outputs"])])
                for pr in probes]
    return score(problems, {pr["name"]: pr["code"] for pr in probes}, executor, timeout_s, semantics, harness)


def pass_at_1(records: list[dict]) -> dict[str, float]:
    """LCB's compute_scores: mean over problems, overall and per difficulty (percent).

    Sandbox errors are left out of the denominator and counted, never scored as wrong answers.
    """
    out: dict[str, float] = {}
    for name in ("all", *DIFFICULTIES):
        rs = [r for r in records if (name == "all" or r["difficulty"] == name) and r["status"] != "sandbox_error"]
        out[name] = 100.0 * sum(bool(r["passed"]) for r in rs) / len(rs) if rs else float("nan")
    out["sandbox_errors"] = float(sum(r["status"] == "sandbox_error" for r in records))
    return out


def _check_data(argv: list[str]) -> None:
    """``python -m kodcode.eval.livecodebench DATA_PATH [RELEASE]``: load as a run would and print the counts."""
    if not argv or argv[0] in ("-h", "--help"):
        print(_check_data.__doc__)
        return
    release = argv[1] if len(argv) > 1 else "release_v5"
    print(summarize(load_problems(argv[0], release), release))


if __name__ == "__main__":
    import sys

    _check_data(sys.argv[1:])
