"""Benchmark evaluation: HumanEval+/MBPP+ (evalplus), BigCodeBench and LiveCodeBench (on kodcode.exec).

    python -m kodcode.eval model=tiny benchmark=[humaneval,mbpp,bigcodebench,livecodebench]
    python -m kodcode.eval +experiment=smoke

``runner.run(cfg)`` does the work; one module per benchmark holds its data loading, official prompt,
sanitization and scoring; ``leaderboard`` renders the paper's Table 2 layout.
"""
