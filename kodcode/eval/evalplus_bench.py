"""HumanEval+ and MBPP+ (evalplus 0.3.1): data, official prompt, and scoring on ``kodcode.exec``.

evalplus is the library for the data (its loaders' input deserialization), the expected outputs and
their ground-truth times (its ``get_groundtruth``, run in this trusted process and cached under the
md5 of the problem file exactly as evalplus caches it, so both tools read the same cache; a subset of
the tasks gets a key of its own), its sanitizer (``kodcode.eval.sanitize``), special oracles and float rules.
Execution is ours: one ``StdioJob`` per sample runs ``evalplus_harness`` (evalplus's guard and I/O
swallowing, the solution, every base then plus input in a fresh child per phase), and the parent
judges what came back with ``evalplus_check`` -- the expected outputs never enter the job.

Time: evalplus's limits stand for work, so they are CPU seconds here: per input ``max(1 s, 4 x
ground-truth time)`` (``DEFAULT_MIN_TIME_LIMIT``, ``DEFAULT_GT_TIME_LIMIT_FACTOR``), per phase
``min(60 s, sum) + 1`` (``untrusted_check``).  Wall time only guards against sleeping:
``wall_factor`` x the CPU limit (+1 s per input, +2 s per phase).  A busy machine slows a job down
but cannot flip its verdict; each record says whether it hit a limit (``detail.limit``) and
``limit_hits`` counts them.

Memory: evalplus caps the process running a solution at 4 GiB of address space, but that process is
a fork that already holds evalplus's imports, the whole file's ground truth and its own copy of the
task (``evaluator_footprint``, measured once per problem file); a solution gets what that leaves
(``headroom``, at least ``MIN_HEADROOM``) above its own child.  Mbpp/255's canonical solution has
no room left there: a ``MemoryError`` on plus input 85, a ``fail`` on both sides.

    from kodcode.eval.evalplus_bench import exec_config, limit_hits, load_problems, score
    problems = load_problems("humaneval", "/data/HumanEvalPlus-v0.1.10.jsonl.gz")
    with Executor(exec_config(ExecConfig(workers=2))) as ex:
        records = score("humaneval", problems, {"HumanEval/0": code, ...}, ex, data_path=path)
    limit_hits(records)   # how many verdicts a time limit decided

``official_score`` runs evalplus's own ``evaluate`` on the same samples in a child process
(``python -m kodcode.eval.evalplus_bench``): the reference ``bench/eval_evalplus.py`` compares with.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import functools
import hashlib
import io
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

from kodcode.rows import read_rows, write_rows

DATASETS = ("humaneval", "mbpp")
# evalplus/codegen.py (0.3.1)
INSTRUCTION_PREFIX = (
    "Please provide a self-contained Python script that solves the following problem in a markdown code block:"
)
RESPONSE_PREFIX = (
    "Below is a Python script with a self-contained function that solves the problem and passes "
    "corresponding tests:"
)
# Wall seconds per CPU second before a phase or input counts as sleeping (only a guard: the limits
# themselves are CPU time, so this only has to exceed the slowdown of a busy machine).
WALL_FACTOR = 10.0
# A phase runs in growing parts, each from its first input in a fresh child: the inputs up to this
# many ground-truth seconds, then PART_GROWTH times more, ..., then whole.  Most phases fit in the
# first part; in the rest a wrong answer is usually found early, so the costly inputs after it never
# run (evalplus's fast check stops there too), and a right one costs at most PART_GROWTH/(PART_GROWTH-1)
# times its whole phase.
FIRST_PART_GT_S = 0.05
PART_GROWTH = 8.0
# Samples of one task share a job (its inputs sent once, each sample's parts in children of their own);
# a cap keeps a task with many samples spread over the workers.
SAMPLES_PER_JOB = 8
PER_TASK_TIMEOUT_S = 60.0  # evalplus untrusted_check: EVALPLUS_TIMEOUT_PER_TASK, default 60
_OVERRIDE_VAR = {"humaneval": "HUMANEVAL_OVERRIDE_PATH", "mbpp": "MBPP_OVERRIDE_PATH"}


def load_problems(dataset: str, path: str | None) -> list[dict]:
    """Raw evalplus rows (as stored, inputs still serialized), in file order.

    ``path`` None uses evalplus's official loader (downloads the release once into its cache).
    """
    path = data_file(dataset, path)
    return list(read_rows(path))


def user_message(problem: dict) -> str:
    """evalplus provider/utility.py::make_raw_chat_prompt (user turn)."""
    return f"{INSTRUCTION_PREFIX}\n```\n{problem['prompt'].strip()}\n```\n"


def write_jsonl(path: Path, rows) -> Path:
    return write_rows(path, rows, ensure_ascii=True)  # evalplus reads it in the locale's encoding


def data_file(dataset: str, path: str | None) -> str:
    """The problem file: ``path``, else evalplus's own download (network once, then its cache)."""
    if path:
        if not Path(path).is_file():
            raise FileNotFoundError(
                f"{dataset} data_path {path!r} is not a file: point benchmark.{dataset}.data_path at the "
                f"{'HumanEvalPlus-v0.1.10' if dataset == 'humaneval' else 'MbppPlus-v0.2.0'}.jsonl.gz release "
                "file, or set it to null to let evalplus download it"
            )
        return str(path)
    if dataset == "humaneval":
        from evalplus.data.humaneval import _ready_human_eval_plus_path as ready
    else:
        from evalplus.data.mbpp import _ready_mbpp_plus_path as ready
    return ready()


def dataset_hash(path: str) -> str:
    """evalplus's ``get_*_plus_hash``: the md5 of the problem file's bytes (the ground-truth cache key)."""
    with open(path, "rb") as f:
        return hashlib.md5(f.read()).hexdigest()  # the cache key evalplus uses, not a security hash


def ground_truth_key(dataset: str, path: str, task_ids) -> str:
    """The ground-truth cache key for ``task_ids`` of the problem file at ``path``.

    evalplus's own key (the file's md5) when they are all of the file's tasks, so both tools share
    one cache entry; the md5 plus a digest of the ids for a subset (``limit``), so a partial entry is
    never read back as the whole file's.
    """
    key = dataset_hash(path)
    ids = sorted(task_ids)
    if ids != sorted(r["task_id"] for r in load_problems(dataset, path)):
        key += "-" + hashlib.sha256("\n".join(ids).encode()).hexdigest()[:16]
    return key


def scoring_problems(dataset: str, rows: list[dict]) -> dict[str, dict]:
    """task_id -> problem as evalplus's ``get_*_plus`` returns it (MBPP inputs deserialized)."""
    problems = {r["task_id"]: dict(r) for r in rows}
    if dataset == "mbpp":
        from evalplus.data.mbpp import mbpp_deserialize_inputs

        for tid, p in problems.items():
            p["base_input"] = mbpp_deserialize_inputs(tid, p["base_input"])
            p["plus_input"] = mbpp_deserialize_inputs(tid, p["plus_input"])
    return problems


def expected_outputs(dataset: str, problems: dict[str, dict], data_hash: str, cache_dir: str | None) -> dict:
    """evalplus's ``get_groundtruth`` (runs the canonical solutions here, in the trusted parent), cached
    under ``<cache_dir>/evalplus/<md5>.pkl`` -- evalplus's own cache when ``cache_dir`` is null."""
    import evalplus.evaluate as ev
    from evalplus.eval._special_oracle import MBPP_OUTPUT_NOT_NONE_TASKS

    saved = ev.CACHE_DIR
    if cache_dir:
        ev.CACHE_DIR = str(Path(cache_dir) / "evalplus")  # where XDG_CACHE_HOME=cache_dir puts it
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            return ev.get_groundtruth(problems, data_hash, MBPP_OUTPUT_NOT_NONE_TASKS if dataset == "mbpp" else [])
    finally:
        ev.CACHE_DIR = saved


def _digest_file(cache_dir: str | None, key: str) -> Path:
    """Where the expected outputs' digests live: beside the ground truth, keyed by it and the job's encoding."""
    import evalplus.evaluate as ev

    root = Path(cache_dir) / "evalplus" if cache_dir else Path(ev.CACHE_DIR)
    version = _encoding_version()
    return root / f"{key}.digests-{version}.pkl"


def _encoding_version() -> str:
    """A digest of the code that decides the digests (the job's encoding), so an edit elsewhere in
    the harness keeps the cache and one there starts a new entry."""
    import inspect

    from kodcode.eval import evalplus_harness as h

    src = "".join(inspect.getsource(f) for f in (h.encode, h._atoms, h._tag_seq, h.digest, h._raw_digest,
                                                    h.channel_text))
    return hashlib.sha256(f"{src}{h.INT_DIGITS}{h.DIGEST_OVER}{h.DIGEST_FLOATS_OVER}".encode()).hexdigest()[:12]


def _load_digests(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            return pickle.load(f)  # our own cache entry, beside evalplus's pickled ground truth
    except (OSError, pickle.UnpicklingError, EOFError):
        return {}


def _save_digests(path: Path, digests: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        pickle.dump(digests, f)
    os.replace(tmp, path)  # whole or absent, never half written


def phase_limits(ref_time: list[float]) -> tuple[list[float], float]:
    """evalplus ``untrusted_check``: per-input limits and the phase limit (fast_check: no extra second)."""
    from evalplus.config import DEFAULT_GT_TIME_LIMIT_FACTOR, DEFAULT_MIN_TIME_LIMIT

    limits = [max(DEFAULT_MIN_TIME_LIMIT, DEFAULT_GT_TIME_LIMIT_FACTOR * t) for t in ref_time]
    return limits, min(PER_TASK_TIMEOUT_S, sum(limits)) + 1


def exec_config(base, python: str | None = None, wall_factor: float = WALL_FACTOR):
    """``base`` (an ExecConfig) as the evalplus jobs need it.

    The sleep guard; evalplus's guard pre-imported; evalplus's 4 GiB address-space cap
    (``EVALPLUS_MAX_MEMORY_BYTES``) as the floor of the job's memory; room on the result channel for
    every return value; and an interpreter that imports evalplus -- ``python``, else this one (a job
    interpreter configured for the other benchmarks need not have evalplus).
    """
    import dataclasses

    return dataclasses.replace(base, wall_factor=max(base.wall_factor, wall_factor), python=python,
                               memory_mb=max(base.memory_mb, 4096),
                               max_output_bytes=max(base.max_output_bytes, 64 << 20),
                               preimport=list(dict.fromkeys([*base.preimport, "evalplus.eval.utils"])))


def _harness_program() -> str:
    from kodcode.eval import evalplus_harness

    return Path(evalplus_harness.__file__).read_text(encoding="utf-8")


class _Task:
    """What every sample of one task shares: inputs, limits, the parts of each phase, digests."""

    def __init__(self, problem: dict, expected: dict, digests: list[dict] | None = None,
                 headroom: int | None = None):
        self.problem, self.expected, self.headroom = problem, expected, headroom
        self.phases = []
        for n, name in enumerate(("base", "plus")):
            limits, task_limit = phase_limits(expected[f"{name}_time"])
            self.phases.append({"n": n, "inputs": problem[f"{name}_input"], "limits": limits,
                                "task_limit": task_limit})
        self.parts = [[{"n": n, **part} for part in _parts(len(ph["inputs"]), expected[f"{name}_time"])]
                      for n, (ph, name) in enumerate(zip(self.phases, ("base", "plus")))]
        self.digests: list[dict] = digests or [{}, {}]  # expected outputs' digests, computed once per task

    def payload(self, runs: list[tuple[int, str, list[dict]]], wall_factor: float) -> str:
        """One job for several samples: each phase's inputs once (as far as any part reaches), then
        per sample its code and parts; the harness runs each sample's part in a child of its own."""
        reach: dict[int, int] = {}
        for _, _, parts in runs:
            for part in parts:
                reach[part["n"]] = max(reach.get(part["n"], 0), part["k"])
        phases = [ph if reach[n] >= len(ph["inputs"]) else  # (Mbpp/793's plus inputs are an empty dict)
                  {**ph, "inputs": ph["inputs"][:reach[n]], "limits": ph["limits"][:reach[n]]}
                  for n, ph in enumerate(self.phases) if n in reach]
        return base64.b64encode(pickle.dumps({
            "entry_point": self.problem["entry_point"], "phases": phases, "wall_factor": wall_factor,
            "max_memory_bytes": _max_memory(), "headroom_bytes": self.headroom,
            "runs": [{"s": s, "code": code, "parts": parts} for s, code, parts in runs]})).decode()

    def cpu_s(self, runs: list[tuple[int, str, list[dict]]]) -> float:
        """The job's CPU limit: every part's phase limit, + the harness's own start."""
        return sum(self.phases[part["n"]]["task_limit"] for _, _, parts in runs for part in parts) + 2.0


@functools.lru_cache(maxsize=1)
def _max_memory() -> int | None:
    """evalplus's address-space limit for the process running a solution (4 GiB, at most the RAM)."""
    from evalplus.eval import query_maximum_memory_bytes

    return query_maximum_memory_bytes()


# The least room a solution gets above its own process (evalplus's own can be over its cap already, as
# for Mbpp/255, and small allocations still succeed there, from memory its process has freed).
MIN_HEADROOM = 64 << 20


def evaluator_footprint(dataset: str, data_path: str | None, key: str, cache_dir: str | None,
                        task_ids=None) -> dict:
    """What evalplus's solution process holds before the solution runs, in bytes of address space.

    evalplus caps the process that runs a solution at 4 GiB of address space (``reliability_guard``),
    but that process is a fork of a pool worker, itself a fork of ``evaluate``'s process: it already
    holds evalplus's imports, every problem and the ground truth of the whole file, and the worker's
    unpickled copy of this task's problem and expected outputs.  ``{"file": bytes, "tasks": {task_id:
    bytes}}``, measured in a fresh interpreter that does the same (loads the ground truth, then
    unpickles each task's copy), cached beside the ground truth under its key.  ``task_ids``: the
    tasks ``key`` is for (all of the file's when None), as evalplus would hold a file of just those.
    """
    import evalplus.evaluate as ev

    root = Path(cache_dir) / "evalplus" if cache_dir else Path(ev.CACHE_DIR)
    path = root / f"{key}.footprint.json"
    with contextlib.suppress(OSError, ValueError):
        return json.loads(path.read_text())
    cmd = [sys.executable, "-m", "kodcode.eval.evalplus_bench", "--dataset", dataset, "--footprint",
           "--data", data_file(dataset, data_path), "--key", key] + (["--cache-dir", cache_dir] if cache_dir else [])
    ids = None if task_ids is None else sorted(task_ids)
    proc = subprocess.run(cmd, input=json.dumps(ids), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"measuring evalplus's footprint failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    root.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(out))
    os.replace(tmp, path)
    return out


def headroom(footprint: dict, task_id: str) -> int | None:
    """The address space evalplus leaves a solution of ``task_id``: its cap less what its process holds."""
    cap = _max_memory()
    if cap is None:
        return None
    return max(MIN_HEADROOM, cap - footprint["file"] - footprint["tasks"].get(task_id, 0))


def _vm_size() -> int:
    with open("/proc/self/status", encoding="ascii") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))


def _measure_footprint(dataset: str, data_path: str, key: str, cache_dir: str | None, task_ids=None) -> dict:
    """The child of ``evaluator_footprint``: evalplus's main process, then each pool worker's copy."""
    import evalplus.evaluate  # noqa: F401 - evaluate's imports are part of what its forks hold

    rows = load_problems(dataset, data_path)
    if task_ids is not None:
        rows = [r for r in rows if r["task_id"] in set(task_ids)]
    by_id = scoring_problems(dataset, rows)
    expected = expected_outputs(dataset, by_id, key, cache_dir)
    held, tasks = _vm_size(), {}
    for tid in by_id:  # a worker receives (problem, expected) pickled and keeps it while it checks
        before = _vm_size()
        copy = pickle.loads(pickle.dumps((by_id[tid], expected[tid])))
        tasks[tid] = max(0, _vm_size() - before)
        del copy
    return {"file": held, "tasks": tasks}


def _parts(n: int, ref_time: list[float]) -> list[dict]:
    """A phase's parts (phase number, first ``k`` of its ``n`` inputs, ``more``): cut where the
    inputs' ground-truth time passes ``FIRST_PART_GT_S`` x ``PART_GROWTH`` ** j (each at least one
    input longer than the last); the last part is the whole phase."""
    parts, total, k, budget = [], 0.0, 0, FIRST_PART_GT_S
    while True:
        start = k
        while k < n and (k == start or total + ref_time[k] <= budget):
            total += ref_time[k]
            k += 1
        if k >= n:
            return [*parts, {"k": n, "more": False}]
        parts.append({"k": k, "more": True})
        budget *= PART_GROWTH


def _phase_records(stdout: str) -> dict[tuple[int, int], list[dict]]:
    """The harness's frames by (sample in the job, phase): each frame's header names the sample and
    the phase and counts the child's lines that follow; a closing ``end`` line is the harness's own.
    A child's line that names another sample or phase, or is not JSON, is kept as a record that
    fails the phase (``judge_phase`` expects the inputs in order)."""
    out: dict[tuple[int, int], list[dict]] = {}
    lines = stdout.split("\n")
    i = 0
    while i < len(lines):
        head = _json_line(lines[i])
        i += 1
        if not (isinstance(head, dict) and type(head.get("frame")) is int and head.get("p") in (0, 1)
                and type(head.get("lines")) is int and head["lines"] >= 0):
            continue
        key = (head["frame"], head["p"])
        recs = out.setdefault(key, [])
        for line in lines[i:i + head["lines"]]:
            rec = _json_line(line)
            if not (isinstance(rec, dict) and rec.get("s") == key[0] and rec.get("p") == key[1]) or "end" in rec:
                rec = {"i": None, "error": "a line that is not this sample's record"}
            recs.append(rec)
        i += head["lines"]
        end = _json_line(lines[i]) if i < len(lines) else None
        if isinstance(end, dict) and "end" in end and end.get("s") == key[0] and end.get("p") == key[1]:
            recs.append(end)
            i += 1
    return out


def _json_line(line: str) -> Any:
    try:
        return json.loads(line)
    except ValueError:
        return None


def score(dataset: str, problems: list[dict], solutions: dict[str, str], executor, data_path: str | None = None,
          cache_dir: str | None = None, wall_factor: float = WALL_FACTOR) -> list[dict]:
    """evalplus verdicts for one solution per problem, executed on ``executor``; records in problem order.

    ``solutions`` maps task_id -> full program (sanitized); a task without one is scored as
    unanswered (``""``: fails to load, as evalplus fails it).  ``data_path`` is the file the
    problems came from (its md5 keys the ground-truth cache); null: evalplus's own file.
    """
    samples = [(p["task_id"], solutions.get(p["task_id"], "")) for p in problems]
    return score_samples(dataset, problems, samples, executor, data_path, cache_dir, wall_factor)


class _Sample:
    """One sample's jobs and verdicts: the first parts of both phases, then longer parts as needed."""

    def __init__(self, dataset: str, task: _Task, task_id: str, code: str):
        self.dataset, self.task, self.code = dataset, task, code
        self.rec: dict[str, Any] = {"task_id": task_id, "solution": code}
        self.detail: dict[str, Any] = {"cpu_s": 0.0}
        self.status: dict[int, str] = {}
        self.part = [0, 0]  # the part of each phase last sent

    def first_parts(self) -> list[dict]:
        return [parts[0] for parts in self.task.parts]

    def judge(self, verdict, records: dict, s: int, parts: list[dict]) -> list[dict]:
        """Judge this sample's ``parts`` from its job's ``records`` (it ran as sample ``s`` there);
        returns the next parts of the phases still undecided (all right so far)."""
        from kodcode.eval.evalplus_check import MORE, judge_phase

        if verdict.status == "sandbox_error":
            self.detail["message"] = verdict.message[-500:]
            self.status = {ph["n"]: "sandbox_error" for ph in self.task.phases}
            return []
        t, again = self.task, []
        for part in parts:
            n, name = part["n"], ("base", "plus")[part["n"]]
            mine = records.get((s, n), [])
            self.detail["cpu_s"] += sum(r.get("cpu_s", 0.0) for r in mine if "end" in r
                                        and isinstance(r.get("cpu_s"), float))
            status, _, why, limit = judge_phase(self.dataset, t.problem["entry_point"], t.problem["atol"],
                                                t.phases[n]["inputs"], t.expected[name], mine, t.digests[n])
            if status == MORE:
                self.part[n] += 1
                again.append(t.parts[n][self.part[n]])
                continue
            self.status[n] = status
            self.detail[f"{name}_why"] = why
            if limit:
                self.detail.setdefault("limit", []).append(f"{name}: {why}")
        return again

    def record(self) -> dict:
        rec = self.rec
        if "sandbox_error" in self.status.values():
            rec.update(status="sandbox_error", passed=None, base_passed=None, base_status=None, plus_status=None,
                       detail=self.detail)
            return rec
        rec["base_status"], rec["plus_status"] = self.status[0], self.status[1]
        base_ok = rec["base_status"] == "pass"
        plus_ok = base_ok and rec["plus_status"] == "pass"  # evalplus: plus counts only with base
        rec.update(status="pass" if plus_ok else "fail", passed=plus_ok, base_passed=base_ok, detail=self.detail)
        return rec


def score_samples(dataset: str, problems: list[dict], samples: list[tuple[str, str]], executor,
                  data_path: str | None = None, cache_dir: str | None = None,
                  wall_factor: float = WALL_FACTOR) -> list[dict]:
    """Like ``score`` for any number of (task_id, program) samples per task; records in sample order.

    Each sample first runs the first part of each phase (``FIRST_PART_GT_S`` of ground-truth time);
    a phase whose part already fails is decided there, as evalplus's loop stops at the first failing
    input, and only the others run again, a longer part (``PART_GROWTH``) in a fresh job.  Jobs are judged here as
    they finish, while the workers run the rest.
    """
    import concurrent.futures as cf

    from kodcode.exec import StdioJob

    if dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {DATASETS} (got {dataset!r}); use humaneval or mbpp")
    by_id = scoring_problems(dataset, problems)
    unknown = sorted({tid for tid, _ in samples if tid not in by_id})
    if unknown:
        raise ValueError(f"{len(unknown)} samples name tasks that are not in the {dataset} problems "
                         f"(first: {unknown[:3]}); score them against the problem file they were made for")
    key = ground_truth_key(dataset, data_file(dataset, data_path), by_id)
    expected = expected_outputs(dataset, by_id, key, cache_dir)
    program = _harness_program()
    digest_file = _digest_file(cache_dir, key)
    known = _load_digests(digest_file)
    footprint = evaluator_footprint(dataset, data_path, key, cache_dir, by_id) if _max_memory() is not None else None
    tasks = {tid: _Task(by_id[tid], expected[tid], known.get(tid), footprint and headroom(footprint, tid))
             for tid in {tid for tid, _ in samples}}
    n_known = sum(len(d) for t in tasks.values() for d in t.digests)
    states = [_Sample(dataset, tasks[tid], tid, code) for tid, code in samples]
    pending: dict = {}

    def submit(task: _Task, group: list[tuple[_Sample, list[dict]]]):
        for i in range(0, len(group), SAMPLES_PER_JOB):
            chunk = group[i:i + SAMPLES_PER_JOB]
            runs = [(j, st.code, parts) for j, (st, parts) in enumerate(chunk)]
            job = StdioJob(program=program, inputs=[task.payload(runs, wall_factor)],
                           id=task.problem["task_id"], timeout_s=task.cpu_s(runs))
            pending[executor.submit(job)] = chunk

    by_task: dict[str, list] = {}
    for st in states:
        by_task.setdefault(st.rec["task_id"], []).append((st, st.first_parts()))
    for tid, group in by_task.items():
        submit(tasks[tid], group)
    while pending:
        done, _ = cf.wait(list(pending), return_when=cf.FIRST_COMPLETED)
        for fut in done:
            chunk = pending.pop(fut)
            verdict = fut.result()
            records = _phase_records(verdict.outputs[0].stdout if verdict.outputs else "")
            again = [(st, nxt) for j, (st, parts) in enumerate(chunk) if (nxt := st.judge(verdict, records, j, parts))]
            if again:
                submit(chunk[0][0].task, again)
    if sum(len(d) for t in tasks.values() for d in t.digests) > n_known:
        _save_digests(digest_file, known | {tid: t.digests for tid, t in tasks.items()})
    return [st.record() for st in states]


def limit_hits(records: list[dict]) -> int:
    """How many verdicts a time limit decided (a per-input limit or a phase limit was reached)."""
    return sum(bool(r.get("detail", {}).get("limit")) for r in records)


def _evaluate_in_child(dataset: str, problems_file: Path, samples_file: Path, parallel: int,
                       cache_dir: str | None) -> dict:
    result_file = samples_file.with_name(samples_file.stem + "_eval_results.json")
    if result_file.exists():
        result_file.unlink()  # evalplus would silently reuse it
    env = dict(os.environ)
    env[_OVERRIDE_VAR[dataset]] = str(problems_file)
    if cache_dir:
        env["XDG_CACHE_HOME"] = str(cache_dir)  # evalplus keeps ground-truth outputs under it
    cmd = [sys.executable, "-m", "kodcode.eval.evalplus_bench", "--dataset", dataset,
           "--samples", str(samples_file), "--parallel", str(parallel)]
    proc = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False)
    if proc.returncode != 0 or not result_file.exists():
        raise RuntimeError(
            f"evalplus evaluate failed for {dataset} (exit {proc.returncode}) on {samples_file}; "
            f"its output ends with:\n{(proc.stdout + proc.stderr)[-3000:]}"
        )
    return json.loads(result_file.read_text())["eval"]


def official_score(dataset: str, problems_file: str, samples: list[tuple[str, str]], workdir: str | Path,
                   parallel: int = 0, cache_dir: str | None = None) -> list[dict]:
    """evalplus's own ``evaluate`` on ``problems_file``: its verdict row per sample, in sample order.

    Every task needs at least one sample (evalplus refuses a partial file).  The problem file is used
    as is, so its md5 -- and so the ground-truth cache entry -- is the one ``score`` uses for it.
    """
    workdir = Path(workdir)
    parallel = parallel or max(1, (os.cpu_count() or 2) // 2)  # evalplus's own default
    samples_file = write_jsonl(workdir / f"{dataset}_samples.jsonl",
                               ({"task_id": t, "solution": s} for t, s in samples))
    results = _evaluate_in_child(dataset, Path(problems_file), samples_file, parallel, cache_dir)
    seen: dict[str, int] = {}
    rows = []
    for tid, _ in samples:  # evalplus keeps each task's samples in file order (its completion_id)
        rows.append(results[tid][seen.get(tid, 0)])
        seen[tid] = seen.get(tid, 0) + 1
    return rows


def pass_at_1(records: list[dict]) -> dict[str, float]:
    """Percent passing base and plus over the scored samples (sandbox errors are counted, not scored)."""
    scored = [r for r in records if r["status"] != "sandbox_error"]
    n = len(scored)
    if not n:
        return {"base": float("nan"), "plus": float("nan")}
    return {"base": 100.0 * sum(r["base_passed"] for r in scored) / n,
            "plus": 100.0 * sum(r["passed"] for r in scored) / n}


def main(argv: list[str] | None = None) -> None:
    """Child process: evalplus's evaluate on one samples file, then exit without waiting on its threads."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", choices=DATASETS, required=True)
    ap.add_argument("--samples")
    ap.add_argument("--parallel", type=int, default=1)
    ap.add_argument("--footprint", action="store_true", help="print evaluator_footprint's measurement as JSON")
    ap.add_argument("--data")
    ap.add_argument("--key")
    ap.add_argument("--cache-dir")
    args = ap.parse_args(argv)
    if args.footprint:
        ids = json.loads(sys.stdin.read() or "null")
        print(json.dumps(_measure_footprint(args.dataset, args.data, args.key, args.cache_dir, ids)))
        return
    from evalplus.evaluate import evaluate  # after the override variable is in the environment

    evaluate(dataset=args.dataset, samples=args.samples, parallel=args.parallel, i_just_wanna_run=False)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # evalplus leaves a non-daemon thread sleeping in 20 s steps


if __name__ == "__main__":
    main()
