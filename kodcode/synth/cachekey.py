"""What decides whether a finished synth stage is reused: the hashes its manifest records and the check.

A manifest (``kodcode/synth/store.py``) records the stage's ``config_hash``, its ``code_version``
(``stage_code_version``: the stage version and every kodcode module it may run), its input hash, a
``role_hash`` per LLM role it used and an ``exec_hash`` if it ran sandbox jobs.  ``matches`` says
whether a manifest still holds for the current run; the runner (``kodcode/synth/runner.py``) skips
the stage when it does.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kodcode.codeversion import code_hash, job_environment, module_closure, module_file
from kodcode.synth import store
from kodcode.synth.config import SynthConfig

if TYPE_CHECKING:
    from kodcode.synth.runner import RunState, StageSpec

# Keys that never change a stage's output: left out of the hashes that decide whether it reruns.
_OPERATIONAL_LLM_KEYS = {"progress", "cache", "cache_dir", "concurrency", "timeout_s", "max_retries", "backoff_s"}
_OPERATIONAL_EXEC_KEYS = {"workers", "start_timeout_s", "uid_base"}


def stage_modules(name: str) -> list[str]:
    """Every kodcode module the stage module ``name`` may run (``kodcode.codeversion``).

    The function-level imports of the runner and of this module are the services a stage reaches
    through its context (LLM roles, exec, W&B); they count only for the stages that use them, in
    ``role_hash`` and ``exec_hash``, so a sandbox change does not rerun a stage that never ran a job."""
    return module_closure(name, top_level_only=["kodcode.synth.runner", __name__])


def stage_code_version(spec: StageSpec) -> str:
    """The stage's version and a hash of ``stage_modules`` (a stage defined outside the package: its source)."""
    module = inspect.getmodule(spec.fn)
    name = module.__name__ if module is not None else ""
    if module_file(name) is None:
        try:
            src = inspect.getsource(module) if module else ""
        except (OSError, TypeError):
            src = ""
        return f"{spec.version}:{hashlib.sha256(src.encode()).hexdigest()[:16]}"
    return f"{spec.version}:{code_hash(stage_modules(name))[:16]}"


def role_hash(state: RunState, role: str) -> str:
    """What a role's backend returns depends on: its llm settings (minus operational ones), model and
    the generation code (``kodcode.llm``)."""
    llm, model = state.role_config(role)
    return store.hash_obj([{k: v for k, v in llm.items() if k not in _OPERATIONAL_LLM_KEYS}, model,
                           code_hash(module_closure("kodcode.llm"))])


def exec_hash(cfg: SynthConfig) -> str:
    """What a sandbox verdict depends on: the exec settings (minus operational ones), the engine's code
    (its worker program included) and the job interpreter's Python and package versions."""
    import sys

    from kodcode.config import validate
    from kodcode.exec import ExecConfig

    exec_cfg = validate(cfg.exec, ExecConfig)
    return store.hash_obj([{k: v for k, v in cfg.exec.items() if k not in _OPERATIONAL_EXEC_KEYS},
                           code_hash(module_closure("kodcode.exec")),
                           job_environment(exec_cfg.python or sys.executable, exec_cfg.job_env())])


def config_hash(spec: StageSpec, cfg: SynthConfig, stage_cfg: Any) -> str:
    """Stage settings and the global settings every stage may read.  The LLM roles and the exec
    settings a stage used are checked separately (manifest ``roles`` and ``exec``), so switching one
    role's model, or the sandbox limits, reruns only the stages that used them."""
    stage_data = dataclasses.asdict(stage_cfg) if dataclasses.is_dataclass(stage_cfg) else stage_cfg
    return store.hash_obj(
        {
            "stage": stage_data,
            "subsets": cfg.subsets,
            "seed": cfg.seed,
            "prompts": spec.prompt_hashes(),
        }
    )


def matches(manifest: dict | None, cfg_hash: str, code: str, input_hash: str | None, state: RunState) -> bool:
    """Whether a finished stage's manifest was written for this config, code, input and services."""
    return (
        manifest is not None
        and manifest.get("config_hash") == cfg_hash
        and manifest.get("code_version") == code
        and (input_hash is None or manifest.get("input_hash") == input_hash)
        and all(role_hash(state, role) == h for role, h in (manifest.get("roles") or {}).items())
        and (manifest.get("exec") is None or manifest["exec"] == exec_hash(state.cfg))
    )


def slices(records, n: int) -> list:
    """``records`` cut into ``n`` contiguous slices (shard ``i`` gets slice ``i``)."""
    if isinstance(records, store.Rows):
        return [records.slice(i, n) for i in range(n)]
    return [records[len(records) * i // n : len(records) * (i + 1) // n] for i in range(n)]


def finished_shard_set(stage_dir: Path, cfg_hash: str, code: str, records: list[dict],
                        prev_parts: list[str] | None, state: RunState):
    """A complete set of shard manifests whose inputs chain to what this stage would get.

    Shard ``i`` got the previous stage's part ``i`` when that stage also ran as ``n`` shards
    (``prev_parts``), else slice ``i`` of the records (the first stage of a sharded run)."""
    for n, paths in sorted(store.shard_sets(stage_dir).items()):
        if n == 1 or len(paths) != n:
            continue
        manifests = [store.read_manifest(stage_dir, (i, n)) for i in range(n)]
        if not all(matches(m, cfg_hash, code, None, state) for m in manifests):
            continue
        expected = prev_parts if prev_parts is not None and len(prev_parts) == n else [
            store.records_hash(part) for part in slices(records, n)
        ]
        if any(m["input_hash"] != h for m, h in zip(manifests, expected)):
            continue
        return n, manifests
    return None
