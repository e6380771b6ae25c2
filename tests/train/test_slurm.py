"""slurm/train.sh in dry-run mode with a fake allocation: the exact command per node, ranks,
rendezvous, forwarded overrides, the vLLM node, the global batch on each node count, the exec server's
flags from the run's config; plus Slurm host-list expansion."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from kodcode import PACKAGE_DIR
from kodcode.train.cluster import expand_nodelist

SCRIPT = PACKAGE_DIR.parent / "slurm" / "train.sh"


def launch(*args: str, nodelist: str = "gpu[01-03]") -> subprocess.CompletedProcess:
    env = {**os.environ, "DRY_RUN": "1", "SLURM_JOB_NODELIST": nodelist, "SLURM_JOB_ID": "4242",
           "PYTHON": sys.executable}
    return subprocess.run(["bash", str(SCRIPT), *args], check=False, env=env, capture_output=True, text=True, cwd="/")


def dry_run(*args: str, nodelist: str = "gpu[01-03]") -> list[str]:
    out = launch(*args, nodelist=nodelist)
    assert out.returncode == 0, out.stderr
    return out.stdout.splitlines()


def test_nodelist_expansion():
    assert expand_nodelist("gpu[01-03,07],login1") == ["gpu01", "gpu02", "gpu03", "gpu07", "login1"]
    assert expand_nodelist("a[8-10]") == ["a8", "a9", "a10"]
    assert expand_nodelist("node5") == ["node5"]


def test_one_command_per_node_with_its_machine_rank():
    lines = dry_run("--accelerate", "zero3", "--", "+experiment=kodcode_32b_50k", "wandb.notes=two words",
                    nodelist="gpu[01-04]")
    assert lines[0].startswith("job 4242: 4 node(s), 4 training x 8 GPUs")
    nodes = [ln for ln in lines if ln.startswith("node ")]
    assert [ln.split(":")[0] for ln in nodes] == [f"node gpu0{i + 1} (rank {i})" for i in range(4)]
    for rank, line in enumerate(nodes):
        assert f"--machine_rank {rank} " in line
        assert "--config_file kodcode/conf/shared/accelerate/zero3.yaml --num_machines 4 --num_processes 32" in line
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
        # Code-R1's 20 s from the experiment's exec: section, not the server's default 10 s.
        assert "kodcode.exec serve --socket /tmp/kodcode-exec-4242.sock --workers 0 --timeout 20.0 --isolation auto &" in line
        assert line.split("-m kodcode.train ")[1].startswith(
            "+experiment=coder_r1_light10k trainer.use_vllm=true trainer.vllm_mode=server "
            "trainer.vllm_server_host=gpu03 reward.exec_socket=/tmp/kodcode-exec-4242.sock;")


@pytest.mark.parametrize("args, message", [
    (["--accelerate", "zero9", "--", "+experiment=smoke_sft"], "--accelerate zero9: no kodcode/conf/shared/accelerate/zero9.yaml"),
    (["--", "+experiment=smoke_sft", "trainer.learning_rat=1"], "Could not override 'trainer.learning_rat'"),
])
def test_bad_launches_fail_before_any_node_starts(args, message):
    env = {**os.environ, "DRY_RUN": "1", "SLURM_JOB_NODELIST": "gpu[1-2]", "SLURM_JOB_ID": "1", "PYTHON": sys.executable}
    out = subprocess.run(["bash", str(SCRIPT), *args], check=False, env=env, capture_output=True, text=True)
    assert out.returncode != 0 and message in out.stderr


@pytest.mark.parametrize("nodes, expected", [
    (1, "global batch: 128 = 1 x 16 x 8"), (2, "global batch: 128 = 1 x 8 x 16"), (4, "global batch: 128 = 1 x 4 x 32"),
])
def test_paper_batch_of_128_on_every_node_count(nodes, expected):
    lines = dry_run("--", "+experiment=kodcode_32b_50k", nodelist=f"gpu[01-0{nodes}]")
    assert [ln for ln in lines if ln.startswith("global batch:")] == [
        f"{expected}  (sequences = per device x accumulation x GPUs)"]


def test_gpu_count_that_cannot_form_the_batch_is_refused_with_the_valid_counts():
    out = launch("--gpus-per-node", "3", "--", "+experiment=kodcode_32b_50k", nodelist="gpu[01-02]")
    assert out.returncode == 2
    assert "cannot be formed on 6 GPU(s)" in out.stderr
    assert "GPU counts that honour it: 1, 2, 4, 8, 16, 32, 64, 128" in out.stderr
    assert "node gpu01" not in out.stdout


@pytest.mark.parametrize("nodes", [1, 2, 4])
def test_grpo_prompts_and_completions_per_step_do_not_change_with_nodes(nodes):
    lines = dry_run("--", "+experiment=coder_r1_light10k", nodelist=f"gpu[01-0{nodes}]")
    gpus = 8 * nodes
    assert f"global batch: 4096 = 8 x {4096 // (8 * gpus)} x {gpus}  (completions = per device x accumulation x GPUs)" in lines
    assert "prompts per step: 256 x 16 completions" in lines


def test_exec_server_takes_limits_and_interpreter_from_the_run_config():
    lines = dry_run("--", "+experiment=smoke_grpo", "exec.timeout_s=7", f"exec.python={sys.executable}",
                    "exec.workers=3", nodelist="gpu1")
    (node,) = [ln for ln in lines if ln.startswith("node gpu1 (rank 0)")]
    assert f"serve --socket /tmp/kodcode-exec-4242.sock --workers 3 --timeout 7.0 --isolation auto --python {sys.executable} &" in node
