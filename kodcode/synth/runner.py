"""The synth runner: runs the stages named in config, in order, with manifests, resume and shards.

    python -m kodcode.synth +experiment=smoke              # CPU, tiny model, offline
    python -m kodcode.synth stages=[seeded,dedup] subsets=...   (see conf/synth/synth.yaml)
    python -m kodcode.synth shard=3/8 stages=[prefill]     # one slice (a Slurm array task)

Stage contract (how a stage module plugs in)
--------------------------------------------
A stage is a plain function over records, registered by name::

    from kodcode.synth.runner import stage, StageContext

    @dataclass
    class SolveConfig:            # validated at startup from cfg.stage.solve (every problem at once)
        attempts: int = 10

    @stage("solve", schema=SolveConfig, prompts=("solve_triplet.txt",), version="1")
    def solve(records: list[dict], ctx: StageContext) -> list[dict]:
        reqs = [...]                                   # build prompts
        results = ctx.generate(reqs)                   # cached + checkpointed per request
        verdicts = ctx.checkpoint(records, fn, key=lambda r: r["question_id"])  # non-LLM work
        ctx.counts["dropped_no_code"] = ...            # extra counts go into the manifest
        return out_records

* ``records`` is the previous stage's output (the first stage gets ``cfg.input`` or ``[]``);
  question stages append their new rows to what they receive, map/filter stages return a new list.
* ``@stage(..., streams=True)``: the stage gets its records as a lazy, re-iterable ``store.StreamInput``
  (``len`` known; each ``for`` is one more pass over the input) and returns (or yields) an
  iterable; the runner writes each output record to the part as it comes and passes the next stage
  a lazy view of that file (``store.Rows``), so memory stays bounded in the number of rows.  Counts
  the stage sets in ``ctx.counts`` are read after its output is exhausted.
  Records are JSON-serialisable dicts; the runner owns every path (stages never read or write
  files of other stages).
* ``ctx.cfg`` is the typed stage config (``cfg.stage.<name>`` built into ``schema``; a plain dict
  without a schema).  ``ctx.full_cfg`` is the whole validated ``SynthConfig``.  An optional
  ``@stage(..., precheck=fn)`` with ``fn(stage_cfg, full_cfg) -> list[str]`` adds startup checks
  (e.g. seed files exist) to the one config error raised before any stage runs.
* ``ctx.llm(role=None)`` returns the generation backend for ``role`` (default: the stage's own
  name); ``cfg.roles.<role>`` overrides ``llm``/``model``.  Engines are built once and shared.
  ``ctx.generate(requests, role=None)`` is ``ctx.llm(role).generate(...)``.  The request cache
  (``<run_dir>/llm_cache`` unless ``llm.cache_dir``) is the per-item checkpoint of LLM stages;
  ``llm.cache=false`` turns that off.
* ``ctx.checkpoint(items, fn, key=..., batch_size=...)`` runs ``fn(batch) -> list`` with per-item
  results appended to ``checkpoint-*.jsonl``: a crash loses at most the batch in flight.  Its items
  show as ``jobs done/total, rate`` on the live status line (``kodcode/synth/progress.py``);
  ``ctx.work(label, total)`` counts any other loop there (``.advance(n)``).
* ``ctx.checkpoint_window(window, fn, key=...)``: the same for a streaming stage, called once per
  window of rows; results go to ``checkpoint-*.sqlite`` and are looked up by key, not held in memory.
* ``ctx.executor()``: a streaming stage's sandbox executor, started on first use, closed at the end.
* ``ctx.shard``: ``(i, n)``; ``ctx.shard_slice(items)`` is this shard's contiguous slice (stages that
  create work from seeds slice their own prompt list; input records already arrive sliced).
* ``ctx.rng`` is a ``random.Random`` seeded from ``(cfg.seed, stage name)``; ``ctx.seed`` the int.
* ``ctx.exec_config()`` builds ``kodcode.exec.ExecConfig`` from ``cfg.exec``;
  ``ctx.progress(iterable, total=, desc=)`` a progress bar; ``ctx.log(**scalars)`` to W&B.

A stage is found by name in the registry; if missing, the runner imports
``kodcode.synth.<name>`` (so ``solve`` lives in ``kodcode/synth/solve.py``), then every module in
``kodcode.synth``.

Skipping and resume: each stage's output goes to ``<run_dir>/<stage>/part-*.jsonl`` with a
manifest written last (``kodcode/synth/store.py``).  A stage is skipped when its manifest records
the same config hash (stage config, subsets, seed, prompt files), the same settings for each LLM
role it used (llm minus operational keys, model, generation code) and for exec if it used it (settings,
engine code with its worker program, the job interpreter's package versions), the same code version
(stage version + a hash of every kodcode module the stage may run) and input hash
(``kodcode/synth/cachekey.py``).  A stage run as ``shard=i/n`` on every ``i``
counts as done for the unsharded run that follows (its parts are concatenated in order).
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import itertools
import pkgutil
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kodcode import __version__
from kodcode.rows import read_rows
from kodcode.synth import store
from kodcode.synth.cachekey import (config_hash, exec_hash, finished_shard_set, matches, role_hash, slices,
                                    stage_code_version)
from kodcode.synth.config import RoleConfig, SynthConfig, parse_shard

StageFn = Callable[[list[dict], "StageContext"], list[dict]]
PROMPTS_DIR = Path(__file__).parent / "prompts"


@dataclass
class StageSpec:
    name: str
    fn: StageFn
    schema: type | None = None
    prompts: tuple[str, ...] = ()  # file names under kodcode/synth/prompts hashed into the config
    version: str = "1"  # bump when the stage's output changes for the same input and config
    # Optional startup check beyond the schema: fn(stage_cfg, full_cfg) -> problems (e.g. that the
    # subsets a stage names exist and their seed files are there), reported with config problems.
    precheck: Callable[[Any, SynthConfig], list[str]] | None = None
    streams: bool = False  # fn(iterator, ctx) -> iterable; output written as produced

    def code_version(self) -> str:
        return stage_code_version(self)

    def prompt_hashes(self) -> dict[str, str]:
        from kodcode.synth.templates import prompt_path

        out = {}
        for name in self.prompts:
            path = prompt_path(name)  # the shipped file or the run's replacement (prompts.<name>=path)
            out[name] = hashlib.sha256(path.read_bytes()).hexdigest()[:16] if path.is_file() else "missing"
        return out


STAGES: dict[str, StageSpec] = {}


def stage(name: str, *, schema: type | None = None, prompts: Iterable[str] = (), version: str = "1",
          precheck: Callable[[Any, SynthConfig], list[str]] | None = None, streams: bool = False):
    """Register ``fn(records, ctx) -> records`` as stage ``name`` (see the module docstring)."""

    def register(fn: StageFn) -> StageFn:
        STAGES[name] = StageSpec(name, fn, schema, tuple(prompts), version, precheck, streams)
        return fn

    return register


# Stages whose module is not named after them.
_STAGE_MODULES = {"prefill": "questions", "seeded": "questions", "snippets": "questions", "docs": "questions",
                  "filter": "annotate"}


def resolve_stage(name: str) -> StageSpec:
    if name not in STAGES:
        try:
            importlib.import_module(f"kodcode.synth.{_STAGE_MODULES.get(name, name)}")
        except ModuleNotFoundError as e:
            if e.name != f"kodcode.synth.{_STAGE_MODULES.get(name, name)}":
                raise
    if name not in STAGES:
        import kodcode.synth as pkg

        for info in pkgutil.iter_modules(pkg.__path__):
            if info.name not in ("__main__",):
                try:
                    importlib.import_module(f"kodcode.synth.{info.name}")
                except ImportError:
                    continue  # a module whose optional dependency is missing registers nothing
    if name not in STAGES:
        from kodcode.config import ConfigError

        import difflib

        near = difflib.get_close_matches(name, list(STAGES), n=1)
        hint = f"did you mean {near[0]}?" if near else "fix the name in stages=[...]"
        raise ConfigError([
            f"stages: {name}: no @stage({name!r}) is registered in kodcode.synth (known: "
            f"{', '.join(sorted(STAGES))}); {hint}"
        ])
    return STAGES[name]


class RunState:
    """What stages share during one run: the config, built LLMs, the W&B run."""

    def __init__(self, cfg: SynthConfig, run_dir: Path, shard: tuple[int, int], tracker=None, llm_factory=None):
        self.cfg, self.run_dir, self.shard, self.tracker = cfg, run_dir, shard, tracker
        self._llms: dict[str, Any] = {}
        self._llm_factory = llm_factory
        from kodcode.synth.progress import Heartbeat

        self.heartbeat = Heartbeat(self._llms, len(cfg.stages), cfg.heartbeat_s, tracker=tracker)

    def role_config(self, role: str) -> tuple[dict, dict]:
        from kodcode.config import validate

        llm = dataclasses.asdict(self.cfg.llm)
        model = dataclasses.asdict(self.cfg.model)
        if role in self.cfg.roles:
            rc = validate(self.cfg.roles[role] or {}, RoleConfig)
            llm.update(rc.llm or {})
            if rc.model is not None:
                model = {**dataclasses.asdict(type(self.cfg.model)()), **rc.model}
        return llm, model

    def llm(self, role: str):
        from kodcode.llm import build_llm

        llm_cfg, model_cfg = self.role_config(role)
        key = store.hash_obj([llm_cfg, model_cfg])
        if key not in self._llms:
            if llm_cfg["backend"] == "vllm":
                # One offline engine per process: each claims most of the GPU memory.  (Roles on
                # different vLLM models can also run as separate invocations: finished stages skip.)
                for other_key, other in list(self._llms.items()):
                    if other.backend == "vllm":
                        other.close()
                        del self._llms[other_key]
            if self._llm_factory is not None:
                self._llms[key] = self._llm_factory(llm_cfg, model_cfg)
            else:
                cache_dir = llm_cfg.get("cache_dir") or self.run_dir / "llm_cache"
                self._llms[key] = build_llm(llm=llm_cfg, model=model_cfg, cache_dir=cache_dir)
        return self._llms[key]

    def close(self) -> None:
        self.heartbeat.close()
        for llm in self._llms.values():
            llm.close()
        self._llms.clear()


@dataclass
class StageContext:
    name: str
    cfg: Any
    state: RunState
    stage_dir: Path
    shard: tuple[int, int]
    seed: int
    rng: random.Random
    counts: dict[str, Any] = field(default_factory=dict)

    @property
    def full_cfg(self) -> SynthConfig:
        return self.state.cfg

    roles_used: set[str] = field(default_factory=set)
    exec_used: bool = False
    _table: Any = None  # checkpoint_window's store.CheckpointTable, opened on first use
    _jobs: Any = None
    _executor: Any = None  # executor()'s kodcode.exec.Executor, started on first use

    def llm(self, role: str | None = None):
        self.roles_used.add(role or self.name)
        return self.state.llm(role or self.name)

    def generate(self, requests, role: str | None = None):
        return self.llm(role).generate(requests, desc=self.name, progress=self.full_cfg.progress)

    def shard_slice(self, items: list) -> list:
        return slices(items, self.shard[1])[self.shard[0]]

    def progress(self, iterable, total: int | None = None, desc: str | None = None):
        if not self.full_cfg.progress:
            return iterable
        from tqdm.auto import tqdm

        return tqdm(iterable, total=total, desc=desc or self.name, leave=False)

    def checkpoint(self, items: list, fn: Callable[[list], list], *, key: Callable[[Any], str],
                   batch_size: int = 32, desc: str | None = None) -> list:
        """``fn`` over ``items`` in batches, resuming from per-item results kept on disk."""
        ck = store.Checkpoint(store.checkpoint_path(self.stage_dir, self.shard))
        keys = [key(x) for x in items]
        todo = [i for i, k in enumerate(keys) if k not in ck.done]
        batches = [todo[j : j + batch_size] for j in range(0, len(todo), batch_size)]
        work = self.work("jobs", len(todo))
        for batch in self.progress(batches, total=len(batches), desc=desc):
            values = fn([items[i] for i in batch])
            work.advance(len(batch))
            if len(values) != len(batch):
                raise ValueError(f"stage {self.name}: checkpointed fn returned {len(values)} results for {len(batch)} items")
            ck.add([(keys[i], v) for i, v in zip(batch, values)])
        return [ck.done[k] for k in keys]

    def checkpoint_window(self, items: list, fn: Callable[[list], list], *, key: Callable[[Any], str],
                          batch_size: int = 32, desc: str | None = None) -> list:
        """``checkpoint`` for a streaming stage, called once per window of its rows: the results live
        in a SQLite table (``store.CheckpointTable``), so memory holds this window, not the run."""
        if self._table is None:
            self._table = store.CheckpointTable(store.checkpoint_table_path(self.stage_dir, self.shard))
            self._jobs = self.work("jobs", 0)
        keys = [key(x) for x in items]
        done = self._table.get_many(keys)
        todo = [i for i, k in enumerate(keys) if k not in done]
        self._jobs.total += len(todo)
        for j in range(0, len(todo), batch_size):
            batch = todo[j:j + batch_size]
            values = fn([items[i] for i in batch])
            if len(values) != len(batch):
                raise ValueError(f"stage {self.name}: checkpointed fn returned {len(values)} results for {len(batch)} items")
            self._table.add([(keys[i], v) for i, v in zip(batch, values)])
            done.update((keys[i], v) for i, v in zip(batch, values))
            self._jobs.advance(len(batch))
        return [done[k] for k in keys]

    def executor(self):
        """A streaming stage's sandbox (``kodcode.exec.Executor`` on ``cfg.exec``), started on first use,
        so a stage with nothing to run starts none; the runner closes it when the stage ends."""
        if self._executor is None:
            from kodcode.exec import Executor

            self._executor = Executor(self.exec_config()).__enter__()
        return self._executor

    def work(self, label: str, total: int):
        """A counter shown on the live status line: ``label done/total, rate`` and the ETA."""
        return self.state.heartbeat.work(label, total)

    def exec_config(self):
        from kodcode.config import validate
        from kodcode.exec import ExecConfig

        self.exec_used = True
        return validate(self.full_cfg.exec, ExecConfig)

    def log(self, **scalars) -> None:
        from kodcode.tracking import log_scalars

        log_scalars(self.state.tracker, {f"{self.name}/{k}": v for k, v in scalars.items()})


def stage_config(spec: StageSpec, cfg: SynthConfig) -> Any:
    from kodcode.config import validate

    raw = cfg.stage.get(spec.name) or {}
    return validate(raw, spec.schema) if spec.schema is not None else raw


def check_stages(cfg: SynthConfig, check_inputs: bool = True) -> tuple[list[StageSpec], dict[str, Any], list[str]]:
    """The stages ``cfg.stages`` names, their typed settings, and every problem with them: an unknown
    stage, a bad ``stage.<name>`` section (every section, run or not, whose stage is registered), and
    (``check_inputs``) each run stage's precheck (subsets exist, seed files are there)."""
    import difflib

    from kodcode.config import ConfigError, collect

    specs, problems = [], []
    for name in cfg.stages:
        try:
            specs.append(resolve_stage(name))
        except ConfigError as e:
            problems += e.problems
    stage_cfgs = {}
    for spec in specs:
        if spec.schema is None:
            stage_cfgs[spec.name] = cfg.stage.get(spec.name) or {}
            continue
        before = len(problems)
        stage_cfgs[spec.name] = collect(cfg.stage.get(spec.name) or {}, spec.schema, f"stage.{spec.name}", problems)
        if check_inputs and len(problems) == before and spec.precheck is not None:
            problems += spec.precheck(stage_cfgs[spec.name], cfg)
    for name, raw in cfg.stage.items():
        if name in stage_cfgs:
            continue
        try:
            spec = resolve_stage(name)
        except ConfigError:
            near = difflib.get_close_matches(name, list(STAGES), n=1)
            hint = f"did you mean stage.{near[0]}?" if near else f"known stages: {', '.join(sorted(STAGES))}"
            problems.append(f"stage.{name}={{...}}: names no registered stage; {hint}")
            continue
        if spec.schema is not None:
            collect(raw or {}, spec.schema, f"stage.{name}", problems)
    return specs, stage_cfgs, list(dict.fromkeys(problems))


def load_input(path: str | None):
    """``cfg.input``: a JSONL or Parquet file, or a stage directory of an earlier run.

    JSONL files and stage directories come back as a lazy ``store.Rows`` (read when iterated, a
    shard's slice without parsing the rest); Parquet as a list."""
    if not path:
        return []
    from kodcode.synth.paths import looked_in, resolve_path

    p = resolve_path(path)
    if p.is_dir():
        sets = store.shard_sets(p)
        if not sets:
            raise FileNotFoundError(
                f"input={path} is a directory without stage manifests: it is not a finished stage output. "
                "Point input at a JSONL/Parquet file or at <run_dir>/<stage> of a finished run"
            )
        n = 1 if 1 in sets else max(sets)
        if len(sets[n]) != n:
            raise FileNotFoundError(f"input={path} has {len(sets[n])} of {n} shard manifests; finish the other shards first")
        manifests = [store.read_manifest(p, (i, n)) or {} for i in range(n)]
        counts = [m.get("counts", {}).get("output") for m in manifests]
        return store.Rows([store.part_path(p, (i, n)) for i in range(n)],
                          hash=manifests[0].get("output_hash") if n == 1 else None,
                          count=sum(counts) if None not in counts else None)
    if not p.is_file():
        raise FileNotFoundError(f"input={path} does not exist ({looked_in(path)}); give a JSONL/Parquet file "
                                "or a stage directory (<run_dir>/<stage>) of a finished run")
    if p.suffix == ".parquet":
        return list(read_rows(p))
    return store.Rows([p])


def run_stages(cfg: SynthConfig, *, tracker=None, llm_factory=None) -> dict:
    """Run ``cfg.stages`` in order; return a summary ``{stage: {status, counts, seconds}}``."""
    # Validate every stage's name and settings before any stage runs (one error, every problem).
    from kodcode.config import ConfigError

    specs, stage_cfgs, problems = check_stages(cfg)
    if problems:
        raise ConfigError(problems)

    from kodcode.synth.templates import set_overrides

    set_overrides(cfg.prompts)
    shard = parse_shard(cfg.shard)
    run_dir = Path(cfg.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    state = RunState(cfg, run_dir, shard, tracker, llm_factory)
    records = load_input(cfg.input)
    if shard[1] > 1:  # a shard reads only its slice of the input (store.Rows.slice)
        records = slices(records, shard[1])[shard[0]]
    # Hashes of the previous stage's shard parts, when it was finished as a shard set (lets the
    # unsharded run accept a sharded next stage too).
    prev_parts: list[str] | None = None
    summary: dict[str, Any] = {"run_dir": str(run_dir), "shard": list(shard), "stages": {}}
    try:
        for spec in specs:
            stage_dir = run_dir / spec.name
            stage_cfg = stage_cfgs[spec.name]
            cfg_hash, code = config_hash(spec, cfg, stage_cfg), spec.code_version()
            input_hash = store.records_hash(records)
            forced = spec.name in cfg.force
            manifest = store.read_manifest(stage_dir, shard)
            if not forced and matches(manifest, cfg_hash, code, input_hash, state):
                records = store.Rows([store.part_path(stage_dir, shard)], hash=manifest["output_hash"],
                                     count=manifest["counts"]["output"])
                summary["stages"][spec.name] = {"status": "skipped", "counts": manifest["counts"]}
                prev_parts = None
                continue
            found = None if forced or shard[1] > 1 else finished_shard_set(
                stage_dir, cfg_hash, code, records, prev_parts, state)
            if found is not None:
                n, manifests = found
                records = store.Rows([store.part_path(stage_dir, (i, n)) for i in range(n)],
                                     count=sum(m["counts"]["output"] for m in manifests))
                prev_parts = [m["output_hash"] for m in manifests]
                summary["stages"][spec.name] = {"status": "skipped", "counts": {"output": len(records), "shards": n}}
                continue
            prev_parts = None
            records, manifest = _run_one(spec, stage_cfg, records, input_hash, cfg_hash, code, state, stage_dir)
            summary["stages"][spec.name] = {"status": "ran", "counts": manifest["counts"],
                                            "seconds": manifest["timings"]["seconds"], "llm": manifest["llm"]}
    finally:
        state.close()
    summary["output"] = len(records)
    return summary


def _run_one(spec, stage_cfg, records, input_hash, cfg_hash, code, state: RunState,
             stage_dir: Path) -> tuple[list[dict], dict]:
    cfg, shard = state.cfg, state.shard
    seed = int(hashlib.sha256(f"{cfg.seed}:{spec.name}".encode()).hexdigest()[:8], 16)
    ctx = StageContext(spec.name, stage_cfg, state, stage_dir, shard, seed, random.Random(seed))
    stage_dir.mkdir(parents=True, exist_ok=True)
    stats_before = {k: dataclasses.asdict(v.stats) for k, v in state._llms.items()}
    started = time.time()
    n_in = len(records)
    state.heartbeat.start_stage(spec.name, cfg.stages.index(spec.name), n_in)
    if spec.streams:
        out, output_hash = _stream_one(spec, records, ctx, stage_dir, shard)
    else:
        out = spec.fn(list(records), ctx)
        if not isinstance(out, list):
            raise TypeError(f"stage {spec.name} returned {type(out).__name__}; a stage must return a list of records")
        output_hash = None
    seconds = time.time() - started
    state.heartbeat.end_stage(len(out), seconds)
    llm_stats = {}
    for key, llm in state._llms.items():
        now, before = dataclasses.asdict(llm.stats), stats_before.get(key, {})
        delta = {k: v - before.get(k, 0) for k, v in now.items()}
        if any(delta.values()):
            llm_stats[f"{llm.backend}:{llm.model_id}"] = delta
    if output_hash is None:
        store.write_part(stage_dir, shard, out)
        output_hash = store.hash_records(out)
    counts = {"input": n_in, "output": len(out), **ctx.counts}
    manifest = {
        "stage": spec.name,
        "shard": list(shard),
        "config_hash": cfg_hash,
        "code_version": code,
        "input_hash": input_hash,
        "output_hash": output_hash,
        "counts": counts,
        "llm": llm_stats,
        "roles": {role: role_hash(state, role) for role in sorted(ctx.roles_used)},
        "exec": exec_hash(cfg) if ctx.exec_used else None,
        "timings": {"started": started, "seconds": round(seconds, 3)},
        "kodcode_version": __version__,
        "git_commit": store.git_commit(),
    }
    store.write_manifest(stage_dir, shard, manifest)  # last: the stage is now finished
    ck = store.checkpoint_path(stage_dir, shard)
    if ck.exists():
        ck.unlink()
    store.CheckpointTable.remove(store.checkpoint_table_path(stage_dir, shard))
    if spec.streams:
        _log_stage(state, spec.name, counts, seconds, list(itertools.islice(out, state.cfg.log_samples)))
    else:  # question stages pass earlier rows through: show the rows this stage added, else its output
        seen = {r.get("question_id") for r in records}
        _log_stage(state, spec.name, counts, seconds, [r for r in out if r.get("question_id") not in seen] or out)
    return out, manifest


def _stream_one(spec, records, ctx, stage_dir: Path, shard) -> tuple[store.Rows, str]:
    """Run a streaming stage: input read lazily, each output record written as it is produced."""
    writer = store.PartWriter(stage_dir, shard)
    out = spec.fn(store.StreamInput(records, ctx.work("rows", len(records))), ctx)
    try:
        for rec in out:
            writer.write(rec)
    except BaseException:
        writer.abort()
        if hasattr(out, "close"):
            out.close()  # a generator stage's finally blocks (executors, files) run now, not at GC
        raise
    finally:
        if ctx._table is not None:
            ctx._table.close()
        if ctx._executor is not None:
            ctx._executor.__exit__(None, None, None)
    path = writer.close()
    return store.Rows([path], hash=writer.hash, count=writer.count), writer.hash


def _log_stage(state: RunState, name: str, counts: dict, seconds: float, out: list[dict]) -> None:
    if state.tracker is None:
        return
    from kodcode.tracking import log_scalars, log_table

    scalars = {f"{name}/{k}": v for k, v in counts.items() if isinstance(v, (int, float))}
    log_scalars(state.tracker, {**scalars, f"{name}/seconds": seconds})
    k = state.cfg.log_samples
    if k and out:
        cols = [c for c in ("question_id", "subset", "question") if c in out[0]] or ["record"]
        rows = [[str(r.get(c, ""))[:2000] for c in cols] if cols != ["record"] else [store.canonical(r)[:2000]]
                for r in out[:k]]
        log_table(state.tracker, f"{name}/samples", cols, rows)


def validate_config(cfg, check_inputs: bool = True) -> SynthConfig:
    """The whole composed config, checked in one pass: the top level, roles, exec, subsets and every
    stage section (``check_stages``); one ``ConfigError`` lists every problem.  ``check_inputs=False``
    leaves out what depends on this machine (that the seed files the stages read exist)."""
    from kodcode.config import ConfigError, collect

    # (Lazy imports here are the runner's services: they do not enter every stage's code version.)
    from kodcode.exec.config import ExecConfig
    from kodcode.synth.questions import SubsetConfig

    problems: list[str] = []
    typed = collect(cfg, SynthConfig, "", problems)
    if typed is not None:
        for role, rc in typed.roles.items():
            collect(rc, RoleConfig, f"roles.{role}", problems)
        collect(typed.exec, ExecConfig, "exec", problems)
        for key, sub in typed.subsets.items():
            collect(sub, SubsetConfig, f"subsets.{key}", problems)
        if isinstance(typed.stages, list):
            problems += check_stages(typed, check_inputs)[2]
    problems = list(dict.fromkeys(problems))
    if problems:
        raise ConfigError(problems)
    return typed


def run(cfg, *, llm_factory=None) -> dict:
    """Entry point behind ``python -m kodcode.synth``: validate ``cfg``, open W&B, run the stages."""
    from omegaconf import OmegaConf

    from kodcode.tracking import init_run

    typed: SynthConfig = validate_config(cfg)
    tracker = None
    if typed.wandb.mode != "disabled":
        wb = dataclasses.replace(typed.wandb, group=typed.wandb.group or typed.name,
                                 dir=typed.wandb.dir or typed.run_dir)
        resolved = OmegaConf.to_container(cfg, resolve=True) if not isinstance(cfg, dict) else cfg
        tracker = init_run(wb, config=resolved, job_type="synth")
    try:
        summary = run_stages(typed, tracker=tracker, llm_factory=llm_factory)
    finally:
        if tracker is not None:
            tracker.finish()
    from kodcode.synth.progress import funnel_table

    for name, info in summary["stages"].items():
        print(f"[synth] {name}: {info['status']} {info['counts']}")
    print(funnel_table(summary))
    print(f"[synth] {summary['output']} records -> {summary['run_dir']}")
    return summary
