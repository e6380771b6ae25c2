"""What a launch will do, computed before it starts, and what slurm/train.sh needs from Python (the
shell never parses YAML or Slurm host lists).

    python -m kodcode.train.cluster plan --nodes 4 -- +experiment=kodcode_32b_50k
        # global batch: 128 = 1 x 4 x 32, tokens per step, memory per rank on an 80 GB card
    python -m kodcode.train.cluster plan --nodes 1 --gpus-per-node 3 -- +experiment=kodcode_32b_50k
        # exit 2: 128 cannot be formed on 3 GPUs; the GPU counts that can are named
    python -m kodcode.train.cluster plan --shell --nodes 2 -- ...   # shell-quoted assignments (slurm/train.sh)
    python -m kodcode.train.cluster nodes 'gpu[01-03],cpu7'           # one host per line

``plan`` composes and validates the training config exactly as ``python -m kodcode.train`` would with
the same overrides, so a bad override, a batch the GPU count cannot form, or a run that does not fit
the card fails before any node is allocated work (the last one only with ``--strict``; the run itself
refuses too, before its first step, on the card it finds). Options: ``--nodes N`` (allocation size),
``--gpus-per-node G`` (8), ``--vllm`` (the last node serves vLLM), ``--accelerate NAME`` (default: the
config's ``accelerate``), ``--card-gb GB`` (default ``memory.card_gb`` or 80).
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys
from dataclasses import dataclass, field

from kodcode.exec import ExecConfig
from kodcode.train.batch import BatchError, BatchPlan, plan_batch
from kodcode.train.config import TrainConfig
from kodcode.train.memory import MemoryEstimate, estimate_memory
from kodcode.train.sft import weights_dtype

_RANGE = re.compile(r"^(\d+)-(\d+)$")


def expand_nodelist(nodelist: str) -> list[str]:
    """Expand a Slurm host list (``gpu[01-03,07],login1``) into host names, in order."""
    items, depth, cur = [], 0, ""
    for ch in nodelist.strip():
        depth += ch == "["
        depth -= ch == "]"
        if ch == "," and depth == 0:
            items.append(cur)
            cur = ""
        else:
            cur += ch
    if cur:
        items.append(cur)
    hosts: list[str] = []
    for item in items:
        m = re.match(r"^([^\[]*)\[([^\]]+)\](.*)$", item)
        if not m:
            hosts.append(item)
            continue
        prefix, body, suffix = m.groups()
        for part in body.split(","):
            r = _RANGE.match(part)
            if r:
                lo, hi = r.groups()
                width = len(lo)
                hosts += [f"{prefix}{i:0{width}d}{rest}" for i in range(int(lo), int(hi) + 1)
                          for rest in expand_nodelist(suffix) or [""]]
            else:
                hosts += [f"{prefix}{part}{rest}" for rest in expand_nodelist(suffix) or [""]]
    return hosts


DEFAULT_CARD_GB = 80.0  # A100 / H100 80 GB, the cards the shipped experiments are sized for
SHARDING_BY_STAGE = {"0": "ddp", "1": "ddp", "2": "zero2", "3": "zero3"}


def accelerate_sharding(name: str) -> str:
    """ddp | zero2 | zero3 | fsdp | none, read from conf/shared/accelerate/<name>.yaml."""
    from omegaconf import OmegaConf

    from kodcode import CONF_DIR

    path = CONF_DIR / "shared" / "accelerate" / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in path.parent.glob("*.yaml")))
        raise FileNotFoundError(f"accelerate={name}: no {path} (choose one of: {known})")
    acc = OmegaConf.load(path)
    kind = acc.get("distributed_type")
    if kind == "DEEPSPEED":
        return SHARDING_BY_STAGE[str(acc.deepspeed_config.zero_stage)]
    return {"FSDP": "fsdp", "MULTI_GPU": "ddp"}.get(kind, "none")


def exec_serve_args(cfg: ExecConfig) -> tuple[list[str], list[str]]:
    """Flags for `python -m kodcode.exec serve` carrying ``cfg``, and the fields those flags cannot carry
    that differ from the defaults (so a caller can say so rather than drop them silently)."""
    args = ["--workers", str(cfg.workers), "--timeout", str(cfg.timeout_s), "--isolation", cfg.isolation]
    if cfg.python:
        args += ["--python", cfg.python]
    carried = {"workers", "timeout_s", "isolation", "python"}
    default = ExecConfig()
    lost = [f"{k}={getattr(cfg, k)!r}" for k in vars(cfg) if k not in carried and getattr(cfg, k) != getattr(default, k)]
    return args, lost


@dataclass
class LaunchPlan:
    tc: TrainConfig
    nodes: int  # training nodes
    gpus_per_node: int
    accelerate: str
    batch: BatchPlan | None = None
    batch_error: str | None = None
    memory: MemoryEstimate | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.batch_error is None

    def lines(self) -> list[str]:
        tc = self.tc
        out = [
            f"experiment {tc.name}: {tc.trainer['kind']} of {tc.model.name_or_path} on {self.nodes} node(s) x "
            f"{self.gpus_per_node} GPUs, accelerate {self.accelerate}",
            f"precision: weights {weights_dtype(tc, cuda=True)} (model.dtype={tc.model.dtype}), attention "
            f"{attention_name(tc)}, peft {tc.peft.method}",
        ]
        if self.batch_error:
            return out + [f"error: {self.batch_error}"]
        out += self.batch.lines()
        out.append(
            f"per node: {self.gpus_per_node} ranks x {self.batch.per_device} per device x "
            f"{self.batch.accumulation} accumulation = {self.gpus_per_node * self.batch.per_device * self.batch.accumulation}"
            " per step; every rank holds the same share"
        )
        out += self.memory.lines() if self.memory else ["memory per rank: unknown (the model's shape is not known "
                                                        "locally; give model.name_or_path a local directory)"]
        return out + self.notes


def attention_name(tc: TrainConfig) -> str:
    return {"varlen": "kodcode_varlen (varlen FlashAttention)", None: "the model's default (sdpa)"}.get(
        tc.attention, tc.attention)


def launch_plan(tc: TrainConfig, nodes: int = 1, gpus_per_node: int = 8, accelerate: str | None = None,
                card_gb: float | None = None) -> LaunchPlan:
    """Batch arithmetic, tokens per step and memory per rank of ``tc`` on ``nodes`` x ``gpus_per_node``."""
    accelerate = accelerate or tc.accelerate
    plan = LaunchPlan(tc, nodes, gpus_per_node, accelerate)
    try:
        plan.batch = plan_batch(tc.trainer, nodes * gpus_per_node, tc.memory.prompt_tokens)
    except BatchError as e:
        plan.batch_error = str(e)
        return plan
    card = card_gb or tc.memory.card_gb or DEFAULT_CARD_GB
    plan.memory = estimate_memory(tc, plan.batch, accelerate_sharding(accelerate), card, weights_dtype(tc, cuda=True))
    if tc.trainer["kind"] == "grpo" and tc.trainer.get("log_completions") and nodes * gpus_per_node > 1:
        plan.notes.append("note: trainer.log_completions=true sends every completion of every step to rank 0; "
                          "samples.per_step logs a few instead (set trainer.log_completions=false)")
    return plan


def shell_facts(plan: LaunchPlan) -> dict[str, str]:
    """The few config facts the launcher acts on, as shell variables."""
    from kodcode.llm.tiny import ensure_model

    tc, t = plan.tc, plan.tc.trainer
    serve_args, lost = exec_serve_args(tc.exec)
    return {
        "KODCODE_KIND": t["kind"],
        "KODCODE_NAME": tc.name,
        "KODCODE_RUN_DIR": tc.run_dir,
        "KODCODE_MODEL": ensure_model(tc.model.name_or_path),
        "KODCODE_REVISION": tc.model.revision or "",
        "KODCODE_USE_VLLM": "1" if t.get("use_vllm") else "0",
        "KODCODE_VLLM_MODE": str(t.get("vllm_mode") or "colocate"),
        "KODCODE_VLLM_PORT": str(t.get("vllm_server_port") or 8000),
        "KODCODE_ACCELERATE": plan.accelerate,
        "KODCODE_EXEC_ARGS": shlex.join(serve_args),
        "KODCODE_EXEC_UNCARRIED": " ".join(lost),
        "KODCODE_FITS": "1" if plan.memory is None or plan.memory.fits else "0",
        "KODCODE_PLAN": "\n".join(plan.lines()),
    }


def compose_train(overrides: list[str]) -> TrainConfig:
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from kodcode import CONF_DIR
    from kodcode.config import validate

    with initialize_config_dir(str(CONF_DIR / "train"), version_base=None):
        cfg = compose("train", overrides=overrides)
    return validate(OmegaConf.to_container(cfg, resolve=True), TrainConfig)


def _plan_main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m kodcode.train.cluster plan")
    p.add_argument("--nodes", type=int, default=1)
    p.add_argument("--gpus-per-node", type=int, default=8)
    p.add_argument("--vllm", action="store_true", help="the last node serves vLLM; the rest train")
    p.add_argument("--accelerate", default=None)
    p.add_argument("--card-gb", type=float, default=None)
    p.add_argument("--shell", action="store_true", help="print shell assignments for slurm/train.sh")
    p.add_argument("--strict", action="store_true", help="exit 3 when the memory estimate exceeds the card")
    p.add_argument("overrides", nargs="*")
    a = p.parse_args(argv)
    if a.nodes < 1 or a.gpus_per_node < 1:
        print(f"error: --nodes and --gpus-per-node must be >= 1 (got {a.nodes}, {a.gpus_per_node})", file=sys.stderr)
        return 2
    train_nodes = a.nodes - 1 if a.vllm else a.nodes
    if a.vllm:  # what slurm/train.sh --vllm adds: generation leaves the training GPUs
        a.overrides += ["trainer.use_vllm=true", "trainer.vllm_mode=server"]
    if train_nodes < 1:
        print("error: --vllm needs at least 2 nodes (one serves, the rest train)", file=sys.stderr)
        return 2
    from hydra.errors import HydraException

    from kodcode.config import ConfigError

    try:
        plan = launch_plan(compose_train(a.overrides), train_nodes, a.gpus_per_node, a.accelerate, a.card_gb)
    except (ConfigError, FileNotFoundError, HydraException) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if not plan.ok:
        print("\n".join(plan.lines()), file=sys.stderr)
        return 2
    if a.shell:
        print("\n".join(f"{k}={shlex.quote(v)}" for k, v in shell_facts(plan).items()))
    else:
        print("\n".join(plan.lines()))
    if a.strict and plan.memory is not None and not plan.memory.fits:
        print(plan.memory.refusal(), file=sys.stderr)
        return 3
    return 0


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("nodes", "plan"):
        print(__doc__, file=sys.stderr)
        return 2
    if argv[0] == "nodes":
        print("\n".join(expand_nodelist(argv[1] if len(argv) > 1 else "")))
        return 0
    return _plan_main(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
