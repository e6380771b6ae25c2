"""Training with TRL: SFT and unit-test-reward GRPO on our exports or the published KodCode sets.

    python -m kodcode.train +experiment=smoke_sft          # CPU, tiny model
    python -m kodcode.train +experiment=kodcode_32b_50k    # the paper's run (multi-node: slurm/train.sh)

``from kodcode.train.runner import run`` runs a composed config (what the entry point calls).
"""
