#!/bin/bash
# Evaluate a model on the four benchmarks on one GPU node; every argument is a Hydra override of
# `python -m kodcode.eval` (this script never reads the YAML itself).
#
#   sbatch slurm/eval.sh model=qwen2.5-coder-32b-instruct llm=vllm llm.tensor_parallel_size=4 \
#       benchmark.humaneval.data_path=$DATA/HumanEvalPlus-v0.1.10.jsonl.gz \
#       benchmark.bigcodebench.python=$BCB_VENV/bin/python
#   sbatch slurm/eval.sh model.name_or_path=/ckpt/kodcode-32b llm=vllm benchmark=[humaneval,mbpp]
#
#SBATCH --job-name=kodcode-eval
#SBATCH --nodes=1
#SBATCH --ntasks-per-node=1
#SBATCH --gpus-per-node=4
#SBATCH --cpus-per-task=32
#SBATCH --time=12:00:00
#SBATCH --output=%x-%j.out
set -euo pipefail

cd "${SLURM_SUBMIT_DIR:-$(dirname "$0")/..}"
PYTHON="${KODCODE_PYTHON:-.venv/bin/python}"
# Compute nodes are usually offline: W&B writes locally (sync later), the hub is not contacted.
export WANDB_MODE="${WANDB_MODE:-offline}"
export HF_HUB_OFFLINE="${HF_HUB_OFFLINE:-1}"
# Scoring uses the job's cores: the sandbox pool gets one worker per core (evalplus takes half).
srun "$PYTHON" -m kodcode.eval exec.workers="${SLURM_CPUS_PER_TASK:-0}" "$@"
