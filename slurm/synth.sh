#!/bin/bash
# Run synth stages on GPU nodes; every argument is a Hydra override of `python -m kodcode.synth`
# (this script never reads the YAML itself).  As a job array, task i runs shard i of N
# (`shard=i/N`) into the same run_dir; a final unsharded run then picks up the finished shards and
# runs the global stages (dedup, decontaminate, export, report).
#
#   # Step 1 question generation, 8 shards of the vLLM engine (one GPU each):
#   sbatch --array=0-7 slurm/synth.sh llm=vllm model.name_or_path=Qwen/Qwen2.5-Coder-32B-Instruct \
#       llm.tensor_parallel_size=1 run_dir=runs/synth/v1 stages=[prefill,seeded,snippets,docs,filter]
#   # then once, after the array finished (shards are merged in order, dedup runs on all of them):
#   sbatch slurm/synth.sh llm=vllm model.name_or_path=Qwen/Qwen2.5-Coder-32B-Instruct run_dir=runs/synth/v1 \
#       stages=[prefill,seeded,snippets,docs,filter,dedup]
#   # against a server instead of a local engine (no GPU needed on this node):
#   sbatch --gpus-per-node=0 slurm/synth.sh llm=openai llm.base_url=http://gpu-host:8000/v1 model.name_or_path=...
#
# The shard count is the array size: set SHARDS to override (e.g. to run a subset of the tasks again).
#SBATCH --job-name=kodcode-synth
#SBATCH --nodes=1
#SBATCH --ntasks-per-node=1
#SBATCH --gpus-per-node=1
#SBATCH --cpus-per-task=16
#SBATCH --time=24:00:00
#SBATCH --output=%x-%A_%a.out
set -euo pipefail

cd "${SLURM_SUBMIT_DIR:-$(dirname "$0")/..}"
PYTHON="${KODCODE_PYTHON:-.venv/bin/python}"
# Compute nodes are usually offline: W&B writes locally (sync later), the hub is not contacted.
export WANDB_MODE="${WANDB_MODE:-offline}"
export HF_HUB_OFFLINE="${HF_HUB_OFFLINE:-1}"

SHARD_ARGS=()
if [[ -n "${SLURM_ARRAY_TASK_ID:-}" ]]; then
    SHARDS="${SHARDS:-${SLURM_ARRAY_TASK_COUNT:?array jobs need SLURM_ARRAY_TASK_COUNT or SHARDS}}"
    SHARD_ARGS=("shard=${SLURM_ARRAY_TASK_ID}/${SHARDS}" "wandb.name=shard-${SLURM_ARRAY_TASK_ID}-of-${SHARDS}")
fi
srun "$PYTHON" -m kodcode.synth "${SHARD_ARGS[@]}" "$@"
