"""What slurm/train.sh needs from Python, so the shell never parses YAML or Slurm host lists.

    python -m kodcode.train.cluster nodes 'gpu[01-03],cpu7'      # one host per line
    python -m kodcode.train.cluster plan +experiment=coder_r1_light10k trainer.use_vllm=true
        # KODCODE_KIND=grpo KODCODE_MODEL=... KODCODE_USE_VLLM=1 ... as shell-quoted assignments

``plan`` composes and validates the training config exactly as ``python -m kodcode.train`` would with
the same overrides, so a bad override fails before any node is allocated work.
"""

from __future__ import annotations

import re
import shlex
import sys

from kodcode.train.config import TrainConfig

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


def launch_plan(tc: TrainConfig) -> dict[str, str]:
    """The few config facts the launcher acts on (which trainer, which model to serve, vLLM mode)."""
    from kodcode.tiny import ensure_model

    t = tc.trainer
    return {
        "KODCODE_KIND": t["kind"],
        "KODCODE_NAME": tc.name,
        "KODCODE_RUN_DIR": tc.run_dir,
        "KODCODE_MODEL": ensure_model(tc.model.name_or_path),
        "KODCODE_REVISION": tc.model.revision or "",
        "KODCODE_USE_VLLM": "1" if t.get("use_vllm") else "0",
        "KODCODE_VLLM_MODE": str(t.get("vllm_mode") or "colocate"),
        "KODCODE_VLLM_PORT": str(t.get("vllm_server_port") or 8000),
    }


def compose_train(overrides: list[str]) -> TrainConfig:
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from kodcode import CONF_DIR
    from kodcode.config import validate

    with initialize_config_dir(str(CONF_DIR / "train"), version_base=None):
        cfg = compose("train", overrides=overrides)
    return validate(OmegaConf.to_container(cfg, resolve=True), TrainConfig)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("nodes", "plan"):
        print(__doc__, file=sys.stderr)
        return 2
    if argv[0] == "nodes":
        print("\n".join(expand_nodelist(argv[1] if len(argv) > 1 else "")))
        return 0
    plan = launch_plan(compose_train(argv[1:]))
    print("\n".join(f"{k}={shlex.quote(v)}" for k, v in plan.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
