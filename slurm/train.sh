#!/bin/bash
# Multi-node training on Slurm: the same `python -m kodcode.train <overrides>` as locally, started by
# `accelerate launch` once per node (machine rank = the node's index in the allocation).
#
#   mkdir -p logs/train
#   sbatch --nodes=4 slurm/train.sh --accelerate zero3 -- +experiment=kodcode_32b_50k
#   sbatch --nodes=3 slurm/train.sh --accelerate zero2 --vllm -- +experiment=coder_r1_light10k
#   DRY_RUN=1 SLURM_JOB_NODELIST='gpu[01-04]' SLURM_JOB_ID=1 bash slurm/train.sh -- +experiment=...
#
# Options (before `--`; everything after it is forwarded to Hydra unchanged):
#   --accelerate NAME    kodcode/conf/shared/accelerate/NAME.yaml: single_gpu | ddp | zero2 | zero3 | fsdp2
#                        (default: the experiment's `accelerate`, which its memory estimate assumes)
#   --gpus-per-node N    processes per node (default $GPUS_PER_NODE or 8)
#   --vllm               GRPO: reserve the last node for `trl vllm-serve` (vLLM server mode)
#   --vllm-tp N          tensor parallel size of that server (default 1); data parallel = GPUs / N
#   --port P             rendezvous port (default $MASTER_PORT or 29500)
#   --dry-run            print the plan and the command each node would run, run nothing (also DRY_RUN=1)
#   --force              launch even when the memory estimate exceeds the card (the ranks still check)
#
# Before anything starts, `python -m kodcode.train.cluster plan` prints the batch arithmetic
# (`global batch: 128 = 1 x 4 x 32`: the experiment's global batch, accumulation derived from the GPU
# count), the tokens per step and the memory per rank; a GPU count that cannot form the global batch
# exits 2 naming the counts that can. The per-node exec server takes its limits and interpreter from
# the run's `exec:` config (the plan prints its flags).
#
# The run directory is fixed by the config (run_dir, no timestamps), so every rank and every requeue
# agrees on it, and resume=auto continues from its newest checkpoint. Slurm signals USR1 five
# minutes before the time limit; the job then requeues itself. The shell never reads YAML:
# `python -m kodcode.train.cluster plan` composes the config and prints the few facts used here.
#
#SBATCH --job-name=kodcode-train
#SBATCH --nodes=1
#SBATCH --ntasks-per-node=1
#SBATCH --gres=gpu:8
#SBATCH --exclusive
#SBATCH --requeue
#SBATCH --signal=B:USR1@300
#SBATCH --time=3-00:00:00
#SBATCH --output=logs/train/%x-%j.out

set -euo pipefail

ACCEL=""
FORCE=0
GPUS=${GPUS_PER_NODE:-8}
PORT=${MASTER_PORT:-29500}
VLLM=0
VLLM_TP=1
DRY_RUN=${DRY_RUN:-0}
while [[ $# -gt 0 ]]; do
  case "$1" in
    --accelerate) ACCEL=$2; shift 2 ;;
    --gpus-per-node) GPUS=$2; shift 2 ;;
    --vllm) VLLM=1; shift ;;
    --vllm-tp) VLLM_TP=$2; shift 2 ;;
    --port) PORT=$2; shift 2 ;;
    --dry-run) DRY_RUN=1; shift ;;
    --force) FORCE=1; shift ;;
    --) shift; break ;;
    -h|--help) sed -n '2,36p' "$0"; exit 0 ;;
    *) break ;;
  esac
done
OVERRIDES=("$@")

# sbatch runs a copy of this script from the spool directory: find the checkout from the submit dir.
REPO=${KODCODE_REPO:-${SLURM_SUBMIT_DIR:-$(cd "$(dirname "$0")/.." && pwd)}}
PY=${PYTHON:-python}
cd "$REPO"
if [[ -n $ACCEL && ! -f kodcode/conf/shared/accelerate/${ACCEL}.yaml ]]; then
  echo "--accelerate $ACCEL: no kodcode/conf/shared/accelerate/${ACCEL}.yaml (choose one of: $(ls kodcode/conf/shared/accelerate | sed 's/\.yaml//' | tr '\n' ' '))" >&2
  exit 2
fi
if [[ -z ${SLURM_JOB_NODELIST:-} || -z ${SLURM_JOB_ID:-} ]]; then
  echo "SLURM_JOB_NODELIST / SLURM_JOB_ID are not set: submit with sbatch, or set them for a dry run" >&2
  exit 2
fi

mapfile -t NODES < <("$PY" -m kodcode.train.cluster nodes "$SLURM_JOB_NODELIST")
PLAN_ARGS=(--shell --nodes "${#NODES[@]}" --gpus-per-node "$GPUS")
[[ $VLLM == 1 ]] && PLAN_ARGS+=(--vllm)
[[ -n $ACCEL ]] && PLAN_ARGS+=(--accelerate "$ACCEL")
PLAN=$("$PY" -m kodcode.train.cluster plan "${PLAN_ARGS[@]}" -- "${OVERRIDES[@]}") || {
  echo "invalid launch: the overrides or the batch arithmetic on ${#NODES[@]} node(s) x $GPUS GPUs (see above)" >&2; exit 2; }
eval "$PLAN"
ACCEL=$KODCODE_ACCELERATE
ACCEL_FILE="kodcode/conf/shared/accelerate/${ACCEL}.yaml"
if [[ -n $KODCODE_EXEC_UNCARRIED ]]; then
  echo "warning: exec settings the per-node server's flags cannot carry (it uses its defaults): $KODCODE_EXEC_UNCARRIED" >&2
fi

TRAIN_NODES=("${NODES[@]}")
EXTRA=()
VLLM_CMD=""
if [[ $VLLM == 1 ]]; then
  if [[ $KODCODE_KIND != grpo ]]; then echo "--vllm is for GRPO (trainer.kind=$KODCODE_KIND)" >&2; exit 2; fi
  if (( ${#NODES[@]} < 2 )); then echo "--vllm needs at least 2 nodes (one serves, the rest train)" >&2; exit 2; fi
  VLLM_NODE=${NODES[-1]}
  TRAIN_NODES=("${NODES[@]:0:${#NODES[@]}-1}")
  VLLM_CMD="trl vllm-serve --model $(printf '%q' "$KODCODE_MODEL")"
  [[ -n $KODCODE_REVISION ]] && VLLM_CMD+=" --revision $(printf '%q' "$KODCODE_REVISION")"
  VLLM_CMD+=" --tensor_parallel_size $VLLM_TP"
  VLLM_CMD+=" --data_parallel_size $((GPUS / VLLM_TP)) --host 0.0.0.0 --port $KODCODE_VLLM_PORT"
  EXTRA=(trainer.use_vllm=true trainer.vllm_mode=server "trainer.vllm_server_host=$VLLM_NODE")
fi

NUM_NODES=${#TRAIN_NODES[@]}
MASTER_ADDR=${TRAIN_NODES[0]}
LOG_DIR="logs/train/${SLURM_JOB_NAME:-kodcode-train}-${SLURM_JOB_ID}"
# GRPO ranks of a node share one exec server for rewards (started before the ranks, on each node).
EXEC_SOCKET="/tmp/kodcode-exec-${SLURM_JOB_ID}.sock"
if [[ $KODCODE_KIND == grpo ]]; then EXTRA+=("reward.exec_socket=$EXEC_SOCKET"); fi

ARGS=""
for a in "${OVERRIDES[@]}" "${EXTRA[@]}"; do ARGS+=" $(printf '%q' "$a")"; done

node_command() {  # $1: machine rank
  local launch="$PY -m accelerate.commands.launch --config_file $ACCEL_FILE --num_machines $NUM_NODES"
  launch+=" --num_processes $((NUM_NODES * GPUS)) --machine_rank $1 --main_process_ip $MASTER_ADDR"
  launch+=" --main_process_port $PORT --rdzv_backend c10d --same_network --max_restarts 0"
  launch+=" -m kodcode.train$ARGS"
  if [[ $KODCODE_KIND == grpo ]]; then
    echo "rm -f $EXEC_SOCKET; $PY -m kodcode.exec serve --socket $EXEC_SOCKET $KODCODE_EXEC_ARGS & EXEC_PID=\$!; $launch; rc=\$?; kill \$EXEC_PID; exit \$rc"
  else
    echo "$launch"
  fi
}

if [[ $DRY_RUN == 1 ]]; then
  echo "job $SLURM_JOB_ID: ${#NODES[@]} node(s), $NUM_NODES training x $GPUS GPUs, accelerate $ACCEL_FILE, logs $LOG_DIR"
  echo "$KODCODE_PLAN"
  [[ -n $VLLM_CMD ]] && echo "node $VLLM_NODE (vllm): $VLLM_CMD"
  for i in "${!TRAIN_NODES[@]}"; do echo "node ${TRAIN_NODES[$i]} (rank $i): $(node_command "$i")"; done
  exit 0
fi

echo "$KODCODE_PLAN"
if [[ $KODCODE_FITS != 1 && $FORCE != 1 ]]; then
  echo "refusing to launch: the memory estimate above exceeds the card (apply a fix it names, or --force)" >&2
  exit 3
fi
mkdir -p "$LOG_DIR"
export NCCL_ASYNC_ERROR_HANDLING=1 WANDB_MODE=${WANDB_MODE:-offline}
trap 'echo "time limit near: requeueing $SLURM_JOB_ID"; scontrol requeue "$SLURM_JOB_ID"' USR1

VLLM_PID=""
if [[ -n $VLLM_CMD ]]; then
  srun --nodes=1 --ntasks=1 --nodelist="$VLLM_NODE" --output="$LOG_DIR/vllm-%N.out" bash -c "$VLLM_CMD" &
  VLLM_PID=$!
fi
# One task per training node; its task rank in this step is its machine rank.
NODE_LIST=$(IFS=,; echo "${TRAIN_NODES[*]}")
srun --nodes="$NUM_NODES" --ntasks="$NUM_NODES" --ntasks-per-node=1 --nodelist="$NODE_LIST" \
  --kill-on-bad-exit=1 --output="$LOG_DIR/train-%N.out" \
  bash -c "cd $(printf '%q' "$REPO") && $(node_command '$SLURM_PROCID')" &
TRAIN_PID=$!
rc=0
wait "$TRAIN_PID" || rc=$?
[[ -n $VLLM_PID ]] && kill "$VLLM_PID" 2>/dev/null
exit "$rc"
