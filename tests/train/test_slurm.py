"""slurm/train.sh in dry-run mode with a fake allocation: the exact command per node, ranks,
rendezvous, forwarded overrides, the vLLM node; plus Slurm host-list expansion."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from kodcode import CONF_DIR
from kodcode.train.cluster import expand_nodelist

SCRIPT = CONF_DIR.parent / "slurm" / "train.sh"


def dry_run(*args: str, nodelist: str = "gpu[01-03]") -> list[str]:
    env = {**os.environ, "DRY_RUN": "1", "SLURM_JOB_NODELIST": nodelist, "SLURM_JOB_ID": "4242",
           "PYTHON": sys.executable}
    out = subprocess.run(["bash", str(SCRIPT), *args], check=False, env=env, capture_output=True, text=True, cwd="/")
    assert out.returncode == 0, out.stderr
    return out.stdout.splitlines()


def test_nodelist_expansion():
    assert expand_nodelist("gpu[01-03,07],login1") == ["gpu01", "gpu02", "gpu03", "gpu07", "login1"]
    assert expand_nodelist("a[8-10]") == ["a8", "a9", "a10"]
    assert expand_nodelist("node5") == ["node5"]


def test_one_command_per_node_with_its_machine_rank():
    lines = dry_run("--accelerate", "zero3", "--", "+experiment=kodcode_32b_50k", "wandb.notes=two words")
    assert lines[0].startswith("job 4242: 3 node(s), 3 training x 8 GPUs")
    nodes = [ln for ln in lines if ln.startswith("node ")]
    assert [ln.split(":")[0] for ln in nodes] == ["node gpu01 (rank 0)", "node gpu02 (rank 1)", "node gpu03 (rank 2)"]
    for rank, line in enumerate(nodes):
        assert f"--machine_rank {rank} " in line
        assert "--config_file conf/shared/accelerate/zero3.yaml --num_machines 3 --num_processes 24" in line
        assert "--main_process_ip gpu01 --main_process_port 29500 --rdzv_backend c10d" in line
        assert line.endswith(r"-m kodcode.train +experiment=kodcode_32b_50k wandb.notes=two\ words")


def test_vllm_server_node_and_shared_exec_server_for_grpo():
    lines = dry_run("--accelerate", "zero2", "--vllm", "--", "+experiment=coder_r1_light10k")
    vllm = [ln for ln in lines if "(vllm)" in ln]
    assert vllm == [("node gpu03 (vllm): trl vllm-serve --model Qwen/Qwen2.5-Coder-7B-Instruct --tensor_parallel_size 1 "
                    "--data_parallel_size 8 --host 0.0.0.0 --port 8000")]
    train = [ln for ln in lines if "(rank" in ln]
    assert len(train) == 2 and "--num_machines 2 --num_processes 16" in train[0]
    for line in train:
        assert "kodcode.exec serve --socket /tmp/kodcode-exec-4242.sock &" in line
        assert line.split("-m kodcode.train ")[1].startswith(
            "+experiment=coder_r1_light10k trainer.use_vllm=true trainer.vllm_mode=server "
            "trainer.vllm_server_host=gpu03 reward.exec_socket=/tmp/kodcode-exec-4242.sock;")


@pytest.mark.parametrize("args, message", [
    (["--accelerate", "zero9", "--", "+experiment=smoke_sft"], "--accelerate zero9: no conf/shared/accelerate/zero9.yaml"),
    (["--", "+experiment=smoke_sft", "trainer.learning_rat=1"], "invalid overrides"),
])
def test_bad_launches_fail_before_any_node_starts(args, message):
    env = {**os.environ, "DRY_RUN": "1", "SLURM_JOB_NODELIST": "gpu[1-2]", "SLURM_JOB_ID": "1", "PYTHON": sys.executable}
    out = subprocess.run(["bash", str(SCRIPT), *args], check=False, env=env, capture_output=True, text=True)
    assert out.returncode != 0 and message in out.stderr
