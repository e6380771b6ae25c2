"""Weights & Biases wiring shared by every entry point: offline unless the config says otherwise.

Config group ``conf/shared/wandb/`` (``wandb=default``) maps onto ``WandbConfig``. Compute nodes are
often air-gapped, so runs are written offline to ``<dir>/wandb/offline-run-*`` and uploaded later
with ``wandb sync <run dir>``; set ``wandb.mode=online`` to stream, or ``wandb.mode=disabled``.

    from kodcode.tracking import WandbConfig, init_run, log_scalars, log_table
    run = init_run(WandbConfig(project="kodcode", group="smoke"), config=resolved_cfg, job_type="sft")
    log_scalars(run, {"verify/pass_rate": 0.8}, step=0)
    log_table(run, "samples", ["prompt", "completion", "reward"], rows)
    run.finish()

``apply_env(cfg)`` only exports the ``WANDB_*`` variables, for code that lets another library
(transformers' ``WandbCallback`` in TRL trainers) open the run; ``init_run`` opens it first, so such
a callback reuses this run and its names instead of opening its own.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kodcode.config import setting

MODES = ("offline", "online", "disabled")


@dataclass
class WandbConfig:
    project: str = setting("kodcode", min_len=1)
    entity: str | None = None
    group: str | None = None  # e.g. the experiment name: runs of one experiment side by side
    name: str | None = None  # run name; None lets W&B pick one
    mode: str = setting("offline", one_of=MODES, why="offline writes a local run to sync later; online streams, "
                        "which needs network and a key")
    dir: str | None = None  # parent of the wandb/ folder; None: the current directory
    tags: list[str] = field(default_factory=list)
    notes: str | None = None


def apply_env(cfg: WandbConfig) -> None:
    """Export the WANDB_* variables libraries read; the config wins over what the shell had."""
    os.environ["WANDB_MODE"] = cfg.mode
    os.environ["WANDB_PROJECT"] = cfg.project
    for var, value in (("WANDB_ENTITY", cfg.entity), ("WANDB_RUN_GROUP", cfg.group), ("WANDB_NAME", cfg.name)):
        if value:
            os.environ[var] = value
        else:
            os.environ.pop(var, None)
    if cfg.dir:
        Path(cfg.dir).mkdir(parents=True, exist_ok=True)
        os.environ["WANDB_DIR"] = str(cfg.dir)
    # Never block a run on a login prompt or a model upload.
    os.environ.setdefault("WANDB_SILENT", "true")
    os.environ.setdefault("WANDB_LOG_MODEL", "false")


def init_run(
    cfg: WandbConfig, config: dict[str, Any] | None = None, job_type: str | None = None, run_id: str | None = None
):
    """Open (or return the already open) W&B run with names from ``cfg`` and ``config`` logged.

    ``run_id``: a stable id (e.g. derived from the run directory) makes a restarted job continue the
    same W&B run instead of opening a new one.
    """
    import wandb

    apply_env(cfg)
    if wandb.run is not None:
        if config:
            wandb.run.config.update(config, allow_val_change=True)
        return wandb.run
    return wandb.init(
        project=cfg.project,
        entity=cfg.entity,
        group=cfg.group,
        name=cfg.name,
        job_type=job_type,
        mode=cfg.mode,
        dir=cfg.dir,
        tags=list(cfg.tags) or None,
        notes=cfg.notes,
        config=config or {},
        id=run_id,
        resume="allow" if run_id else None,
    )


def run_dir(run) -> Path | None:
    """The local directory this run writes to (``.../wandb/offline-run-...``), or None when disabled."""
    if run is None or getattr(run, "disabled", False):
        return None
    return Path(run.dir).parent  # run.dir is <run folder>/files


def log_scalars(run, values: dict[str, float], step: int | None = None) -> None:
    if run is not None:
        run.log(dict(values), step=step)


def log_table(run, key: str, columns: list[str], rows: list[list[Any]], step: int | None = None) -> None:
    """Log ``rows`` (one list per row, in ``columns`` order) as a W&B table under ``key``."""
    if run is None:
        return
    import wandb

    table = wandb.Table(columns=list(columns), data=[list(r) for r in rows])
    run.log({key: table}, step=step)


def read_offline_run(path: str | Path) -> dict[str, Any]:
    """What an offline run recorded, read back from its ``run-<id>.wandb`` file (``path``: that file or
    the run's folder) without syncing: ``id``, ``name``, ``group``, ``tags``, ``config`` and ``summary``.

    The file is a LevelDB-style log (W&B's datastore): a 7-byte header, then 32 KiB blocks of records,
    each ``<crc32 u32><length u16><kind u8>`` + a piece of a protobuf ``Record`` (kind 1 whole, 2-4
    first / middle / last piece).
    """
    import json
    import struct

    from wandb.proto import wandb_internal_pb2 as pb

    path = Path(path)
    if path.is_dir():
        path = next(path.glob("run-*.wandb"))
    data, block, pos, piece = path.read_bytes(), 32768, 7, b""
    out: dict[str, Any] = {"config": {}, "summary": {}}

    def apply(target: dict, items) -> None:
        for item in items:
            keys = list(item.nested_key) or [item.key]
            node = target
            for k in keys[:-1]:
                node = node.setdefault(k, {})
            node[keys[-1]] = json.loads(item.value_json)

    while pos + 7 <= len(data):
        left = block - pos % block
        _, n, kind = struct.unpack("<IHB", data[pos:pos + 7]) if left >= 7 else (0, 0, 0)
        if left < 7 or (n == 0 and kind == 0):  # block padding
            pos += left
            continue
        piece += data[pos + 7:pos + 7 + n]
        pos += 7 + n
        if kind not in (1, 4):
            continue
        record = pb.Record()
        record.ParseFromString(piece)
        piece = b""
        what = record.WhichOneof("record_type")
        if what == "run":
            run = record.run
            out.update(id=run.run_id, name=run.display_name, group=run.run_group, tags=list(run.tags))
            apply(out["config"], run.config.update)
        elif what == "config":
            apply(out["config"], record.config.update)
        elif what == "summary":
            apply(out["summary"], record.summary.update)
    return out
