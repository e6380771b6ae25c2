"""Typed schema of ``conf/synth/synth.yaml`` (validated once at startup, every problem at once).

Stage settings live under ``stage.<name>`` and are validated by the schema each stage registers
(``@stage(name, schema=...)``, see ``kodcode/synth/runner.py``); subset definitions live under
``subsets.<name>`` (``kodcode/synth/questions.py``).  ``roles.<role>`` overrides ``llm``/``model`` for
one role (a stage name such as ``prefill`` or a shared role such as ``annotator``): the paper uses
an open model for prefill, a strong model for questions and solutions, a reasoning model for
responses and a small model as annotator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from kodcode.config import setting
from kodcode.llm.config import LLMConfig, ModelConfig
from kodcode.tracking import WandbConfig

_SHARD_RE = re.compile(r"^(\d+)/(\d+)$")


def parse_shard(value: str | None) -> tuple[int, int]:
    if value is None:
        return (0, 1)
    m = _SHARD_RE.match(str(value).strip())
    if not m or not 0 <= int(m.group(1)) < int(m.group(2)):
        raise ValueError(f"shard={value}: must look like i/n with 0 <= i < n (it runs slice i of n); set shard=0/8")
    return int(m.group(1)), int(m.group(2))


@dataclass
class RoleConfig:
    llm: dict[str, Any] | None = None  # keys of LLMConfig, merged over the top-level llm
    model: dict[str, Any] | None = None  # keys of ModelConfig, replacing the top-level model


@dataclass
class SynthConfig:
    run_dir: str
    stages: list[str] = setting(min_len=1, fix="[prefill,dedup]", why="the stages to run, in order")
    llm: LLMConfig
    model: ModelConfig
    name: str = "synth"
    seed: int = 0
    input: str | None = None  # JSONL/Parquet file or a stage directory of an earlier run
    shard: str | None = None  # "i/n": run slice i of n (a Slurm array task)
    force: list[str] = field(default_factory=list)  # stages to rerun although their manifest matches
    progress: bool = True  # tqdm bars inside stages
    heartbeat_s: float = setting(3.0, ge=0, why="seconds between live status lines per stage (stderr, W&B); 0: off")
    log_samples: int = 8  # output records per stage logged to W&B as a table
    roles: dict[str, Any] = field(default_factory=dict)  # role -> RoleConfig keys
    exec: dict[str, Any] = field(default_factory=dict)  # kodcode.exec.ExecConfig keys
    wandb: WandbConfig = field(default_factory=WandbConfig)
    stage: dict[str, Any] = field(default_factory=dict)
    subsets: dict[str, Any] = field(default_factory=dict)
    # Prompt files replacing the shipped ones: {solve_triplet: path/to/file.txt} (kodcode/synth/templates.py)
    prompts: dict[str, str] = field(default_factory=dict)

    def check(self) -> list[str]:
        """Relations between keys.  The sections kept as mappings (roles, exec, subsets, stage) are
        checked against their schemas in the same pass by ``kodcode.synth.runner.validate_config``."""
        p = []
        try:
            parse_shard(self.shard)
        except ValueError as e:
            p.append(str(e))
        unknown = [s for s in self.force if s not in self.stages]
        if unknown:
            p.append(f"force={unknown}: names stages that are not in stages ({self.stages}); add them to stages "
                     "or drop them from force")
        from kodcode.synth.paths import looked_in, resolve_path
        from kodcode.synth.templates import shipped_names

        for name, path in self.prompts.items():
            if name not in shipped_names():
                p.append(f"prompts.{name}={path}: names no shipped prompt (known: {', '.join(shipped_names())}); the key is "
                         "the file name under kodcode/synth/prompts without .txt, e.g. prompts.solve_triplet=my.txt")
            elif not resolve_path(str(path)).is_file():
                p.append(f"prompts.{name}={path}: not a file ({looked_in(str(path))}); point it at a prompt file "
                         f"with the same {{{{placeholders}}}} as kodcode/synth/prompts/{name}.txt")
        return p
