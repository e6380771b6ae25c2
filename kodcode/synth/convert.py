"""Style conversion: instruct questions rewritten as code-completion questions (paper §2.3).

An LLM gets the question, the tests and the solution and writes a completion task: imports, the
signature(s) the tests call, and a docstring with examples.  A converted row is kept only when:

* the completion parses as Python and declares the entry point ``test_info`` expects (otherwise a
  model answering it would write a function the tests never import);
* it does not leak the solution: no function in it has a body beyond its docstring and a
  placeholder (``pass``, ``...``, ``raise NotImplementedError``), and it is not the solution itself
  (KodCode only checked string equality);
* it is verified again: the unchanged solution still passes the tests, and the completion stub on
  its own does *not* pass them (a stub that passes means tests that test nothing, or a leak).

The converted row reuses the triplet (solution, tests, labels), takes ``style="complete"``, the
question id suffix ``_C``, and records the instruct question as ``metadata.original_instruction``.

Usage::

    from kodcode.synth.convert import convert_messages, parse_completion, leak_reason
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from kodcode.config import setting
from kodcode.synth import store
from kodcode.synth.parse import extract_code, is_python
from kodcode.synth.runner import stage
from kodcode.synth.solve import render

_BEGIN = re.compile(r"<\|\s*Completion\s+Begin\s*\|>", re.IGNORECASE)
_END = re.compile(r"<\|\s*Completion\s+End\s*\|>", re.IGNORECASE)


def convert_messages(triplet: dict, template: str = "convert_complete") -> list[dict]:
    return [{"role": "user", "content": render(template, question=triplet["question"],
                                               test=triplet["test"], solution=triplet["solution"])}]


def parse_completion(raw: str) -> str | None:
    """The completion code between the markers (fences, any tag, removed); ``None`` if absent."""
    begins = list(_BEGIN.finditer(raw))
    if not begins:
        return None
    rest = raw[begins[-1].end():]
    end = _END.search(rest)
    body = rest[: end.start()] if end else rest
    code = extract_code(body).strip()
    return code or None


def _is_placeholder(stmt: ast.stmt) -> bool:
    if isinstance(stmt, ast.Pass):
        return True
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
        return True  # docstring or a bare `...`
    if isinstance(stmt, ast.Raise):
        exc = stmt.exc
        name = getattr(exc, "id", None) or getattr(getattr(exc, "func", None), "id", None)
        return name == "NotImplementedError"
    return False


def _normalise(code: str) -> str:
    try:
        return ast.dump(ast.parse(code))
    except (SyntaxError, ValueError):
        return code.strip()


def leak_reason(completion: str, solution: str) -> str | None:
    """Why ``completion`` gives the solution away, or ``None`` when it does not."""
    if _normalise(completion) == _normalise(solution):
        return "completion equals the solution"
    tree = ast.parse(completion)
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            real = [s for s in node.body if not _is_placeholder(s)]
            if real:
                return f"function {node.name} has an implementation ({len(real)} statements)"
    return None


def check_completion(completion: str | None, triplet: dict) -> str | None:
    """Why a converted row is dropped before execution, or ``None`` when it may go on."""
    if not completion:
        return "no <|Completion Begin|> section"
    if not is_python(completion):
        return "completion is not valid Python"
    leak = leak_reason(completion, triplet["solution"])
    if leak:
        return f"leak: {leak}"
    info = triplet.get("test_info") or []
    declared = {n.name for n in ast.walk(ast.parse(completion)) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    if info and info[0]["function_name"] not in declared:
        return f"completion does not declare the entry point {info[0]['function_name']!r}"
    return None


def completion_row(triplet: dict, completion: str) -> dict:
    """The complete-style row built from an instruct triplet and its accepted completion."""
    base = triplet["question_id"]
    qid = base[:-2] + "_C" if base.endswith("_I") else base + "_C"
    metadata = dict(triplet.get("metadata") or {})
    metadata["original_instruction"] = triplet["question"]
    return {**triplet, "style": "complete", "question_id": qid, "question": completion, "metadata": metadata}


# -- stage -------------------------------------------------------------------------------------

@dataclass
class ConvertConfig:
    enabled: bool = True
    temperature: float = 0.0  # a rewrite, not a sample: deterministic
    max_tokens: int = 2048
    template: str = "convert_complete"
    batch_size: int = setting(64, ge=1, why="re-verification batch (checkpoint granularity)")
    window: int = setting(1024, ge=1, why="rows per generation call; memory holds one window")
    # KodCode-V1.1's stdin/stdout rows (kodcode/synth/stdio.py): off for the paper's V1
    stdio: bool = False
    stdio_template: str = "convert_stdio"
    stdio_min_cases: int = setting(3, ge=1, why="distinct stdin test cases a stdin/stdout row needs")


def _verify_completion(rows: list[dict], executor) -> list[dict]:
    """For each candidate: does the solution still pass, and does the stub alone fail?"""
    from kodcode.exec import PytestJob

    jobs = []
    for r in rows:
        jobs.append(PytestJob(solution=r["solution"], test=r["test"], id=r["question_id"] + ":solution"))
        jobs.append(PytestJob(solution=r["completion"], test=r["test"], id=r["question_id"] + ":stub"))
    verdicts = executor.run(jobs, progress=False)
    out = []
    for i, _ in enumerate(rows):
        sol, stub = verdicts[2 * i], verdicts[2 * i + 1]
        if sol.status == "sandbox_error" or stub.status == "sandbox_error":
            out.append({"ok": False, "reason": "sandbox_error"})
        elif not sol.passed:
            out.append({"ok": False, "reason": f"solution no longer passes ({sol.status})"})
        elif stub.passed:
            out.append({"ok": False, "reason": "the completion stub alone passes the tests"})
        else:
            out.append({"ok": True, "reason": ""})
    return out


def convert_window(window: list[dict], ctx, cfg: "ConvertConfig", counts: dict) -> list[dict]:
    """One window of rows: each row, followed by its accepted complete-style twin when it has one."""
    from kodcode.llm.types import GenerationRequest

    instruct = [t for t in window if t.get("style", "instruct") == "instruct"]
    if not instruct:
        return list(window)
    requests = [GenerationRequest(messages=convert_messages(t, cfg.template), n=1, temperature=cfg.temperature,
                                  max_tokens=cfg.max_tokens, seed=ctx.seed) for t in instruct]
    results = ctx.generate(requests)
    reasons = counts["dropped"]
    candidates = []
    for t, res in zip(instruct, results):
        completion = parse_completion(res.texts[0])
        why = check_completion(completion, t)
        if why:
            key = why.split(":")[0]
            reasons[key] = reasons.get(key, 0) + 1
        else:
            candidates.append({**t, "completion": completion})
    counts["attempted"] += len(instruct)
    twins = {}
    if candidates:
        ctx.exec_used = True  # the sandbox decides these rows, even when their results come from the checkpoint
        checks = ctx.checkpoint_window(candidates, lambda batch: _verify_completion(batch, ctx.executor()),
                                       key=lambda r: r["question_id"], batch_size=cfg.batch_size,
                                       desc="convert verify")
        for c, chk in zip(candidates, checks):
            if chk["ok"]:
                row = completion_row({k: v for k, v in c.items() if k != "completion"}, c["completion"])
                twins[row["question_id"][:-2]] = row
                counts["converted"] += 1
            else:
                reasons[chk["reason"]] = reasons.get(chk["reason"], 0) + 1
    stdio = stdio_window(instruct, ctx, cfg, counts) if cfg.stdio else {}
    # Each instruct row is followed by its complete-style twin, as in KodCode's combined files, then
    # by its stdin/stdout row when there is one.
    out = []
    for t in window:
        out.append(t)
        for extra in (twins, stdio):
            twin = extra.get(t["question_id"][:-2]) if t["question_id"].endswith("_I") else None
            if twin:
                out.append(twin)
    return out


def stdio_window(instruct: list[dict], ctx, cfg: "ConvertConfig", counts: dict) -> dict[str, dict]:
    """The accepted stdin/stdout rows of one window's instruct rows, by question id without suffix."""
    from kodcode.llm.types import GenerationRequest
    from kodcode.synth import stdio

    requests = [GenerationRequest(messages=stdio.stdio_messages(t, cfg.stdio_template), n=1,
                                  temperature=cfg.temperature, max_tokens=cfg.max_tokens, seed=ctx.seed)
                for t in instruct]
    reasons = counts.setdefault("stdio_dropped", {})
    candidates = []
    for t, res in zip(instruct, ctx.generate(requests)):
        question, program, cases = stdio.parse_stdio(res.texts[0])
        why = stdio.check_stdio(question, program, cases, t, cfg.stdio_min_cases)
        if why:
            key = why.split(":")[0]
            reasons[key] = reasons.get(key, 0) + 1
        else:
            candidates.append({**t, "stdio_question": question, "program": program, "cases": cases})
    counts["stdio_attempted"] = counts.get("stdio_attempted", 0) + len(instruct)
    counts.setdefault("stdio", 0)
    rows = {}
    if candidates:
        ctx.exec_used = True
        checks = ctx.checkpoint_window(candidates, lambda batch: stdio.verify_stdio(batch, ctx.executor()),
                                       key=lambda r: "stdio:" + r["question_id"], batch_size=cfg.batch_size,
                                       desc="stdio verify")
        for c, chk in zip(candidates, checks):
            if chk["ok"]:
                base = {k: v for k, v in c.items() if k not in ("stdio_question", "program", "cases")}
                row = stdio.stdio_row(base, c["stdio_question"], c["program"], c["cases"])
                rows[row["question_id"][:-len(stdio.SUFFIX)]] = row
                counts["stdio"] += 1
            else:
                reasons[chk["reason"]] = reasons.get(chk["reason"], 0) + 1
    return rows


@stage("convert", schema=ConvertConfig, prompts=("convert_complete.txt", "convert_stdio.txt"), version="1", streams=True)
def convert_stage(records, ctx):
    """Instruct triplets in; the same triplets plus their accepted complete-style rows out, a window
    of ``window`` rows at a time (generation, re-verification, output), so memory holds one window."""
    cfg: ConvertConfig = ctx.cfg
    if not cfg.enabled:
        ctx.counts.update(converted=0)
        yield from records
        return
    counts: dict = {"attempted": 0, "converted": 0, "dropped": {}}
    for window in store.windows(records, cfg.window):
        yield from convert_window(window, ctx, cfg, counts)
    ctx.counts.update(counts if counts["attempted"] else {"converted": 0})
