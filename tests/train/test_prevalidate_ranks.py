"""RL prevalidation under two real processes (torch.distributed, gloo, CPU): rank 0 runs the sandbox,
every rank ends with the same kept rows, and the other rank runs no job at all."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

import pytest
import torch.multiprocessing as mp

from kodcode.train.data import FIXTURES

WORLD = 2
DEADLINE_S = 240  # the whole two-process run, start-up included; it takes seconds when the machine is idle


class CountingBackend:
    """An ExecBackend that records how many jobs this rank sent to the sandbox."""

    def __init__(self, backend):
        self.backend, self.jobs = backend, 0

    def run(self, jobs):
        self.jobs += len(jobs)
        return self.backend.run(jobs)


def _rank(rank: int, port: int, data: str, cache: str, out: str) -> None:
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(WORLD), LOCAL_WORLD_SIZE=str(WORLD),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    from accelerate import PartialState

    from kodcode.exec.config import ExecConfig
    from kodcode.train.config import DataConfig
    from kodcode.train.data import load_splits
    from kodcode.train.prevalidate import Prevalidator
    from kodcode.train.rewards import ExecBackend

    state = PartialState(cpu=True)  # the process group, as GRPOConfig sets it up under `accelerate launch --cpu`
    exec_cfg = ExecConfig(workers=2, timeout_s=5.0)
    backend = CountingBackend(ExecBackend(exec_cfg))
    check = Prevalidator(exec_cfg, backend, cache=Path(cache))
    try:
        splits = load_splits(DataConfig(format="kodcode_rl", path=data), "grpo", check_rows=check)
    finally:
        backend.backend.close()
    with open(f"{out}/rank{rank}.json", "w") as f:
        json.dump({"kept": list(splits.train["question_id"]), "counts": splits.counts, "ran": check.ran,
                   "jobs": backend.jobs, "world": state.num_processes, "backend": str(state.backend)}, f)
    state.wait_for_everyone()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_rank_zero_checks_the_rows_and_every_rank_keeps_the_same_ones(tmp_path):
    rows = [json.loads(line) for line in (FIXTURES / "smoke_rl.jsonl").read_text().splitlines()]
    broken = rows[1]["question_id"]
    rows[1]["solution"] = rows[1]["solution"].replace("return", "return None and", 1)
    data = tmp_path / "rl.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    ctx = mp.start_processes(_rank, args=(_free_port(), str(data), str(tmp_path / "cache"), str(tmp_path)),
                             nprocs=WORLD, join=False, start_method="spawn")
    deadline = time.monotonic() + DEADLINE_S
    try:
        while not ctx.join(timeout=1):
            if time.monotonic() > deadline:
                pytest.fail(f"the {WORLD}-process prevalidation did not finish within {DEADLINE_S} s")
    finally:
        for p in ctx.processes:
            if p.is_alive():
                p.terminate()
    got = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(WORLD)]
    assert [g["world"] for g in got] == [WORLD, WORLD] and got[0]["backend"] == "gloo"
    assert got[0]["kept"] == got[1]["kept"] and broken not in got[0]["kept"]
    assert len(got[0]["kept"]) == len(rows) - 1
    assert got[0]["counts"]["unsolvable"] == got[1]["counts"]["unsolvable"] == 1
    # Only rank 0 ran the sandbox: every row once there, nothing on rank 1.
    assert (got[0]["ran"], got[0]["jobs"]) == (len(rows), len(rows))
    assert (got[1]["ran"], got[1]["jobs"]) == (0, 0)
