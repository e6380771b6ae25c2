"""What the assertion guard costs: CPU per assertion in kodcode.exec against plain pytest.

Every assertion in a test runs through the guard that refuses forged comparisons.  This runs test
files that assert in a loop (builtin values, containers, differences, pytest.approx, numpy) once in
the engine and once under plain ``pytest`` with the same interpreter, subtracts each side's cost for
the same file with an empty loop, and prints microseconds per assertion for both.

    .venv/bin/python bench/exec_guard.py --python /work/jobenv/bin/python [--n 300000] \
        [--report bench/reports/exec_guard.md]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kodcode.exec import ExecConfig, Executor, PytestJob

SOLUTION = "def f(x):\n    return x + 1\n\n\ndef pair(x):\n    return [x, x + 1]\n"

CASES = {
    "scalar ==": "assert f(i) == i + 1",
    "container ==": "assert pair(i) == [i, i + 1]",
    "abs difference": "assert abs(f(i) - i - 1) < 1e-9",
    "pytest.approx": "assert f(i) == pytest.approx(i + 1)",
    "nested all()": "assert all(x == y for x, y in zip(pair(i), [i, i + 1]))",
    "numpy scalar ==": "assert np.int64(f(i)) == i + 1",
}


def test_file(body: str, n: int) -> str:
    return (
        "import numpy as np\nimport pytest\n\n\ndef test_loop():\n"
        f"    for i in range({n}):\n        {body}\n"
    )


def plain_pytest_cpu(python: str, solution: str, test: str) -> float:
    with tempfile.TemporaryDirectory() as d:
        Path(d, "solution.py").write_text(solution)
        Path(d, "test_solution.py").write_text("from solution import *\n\n" + test)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(
            [python, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
            cwd=d,
            capture_output=True,
            check=True,
            env={"PATH": os.path.dirname(python) + ":/usr/bin:/bin", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
        )
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--python", default=sys.executable, help="job interpreter (needs pytest and numpy)")
    p.add_argument("--n", type=int, default=100000, help="assertions per file")
    p.add_argument("--repeat", type=int, default=3, help="runs per side (the fastest counts)")
    p.add_argument("--report", type=Path, default=None, help="also write the table as Markdown")
    args = p.parse_args(argv)
    files = {name: test_file(body, args.n) for name, body in CASES.items()}
    files["(empty loop)"] = test_file("pass", args.n)
    with Executor(ExecConfig(workers=1, timeout_s=120, python=args.python)) as ex:
        ours = {}
        for name, test in files.items():
            runs = ex.run([PytestJob(SOLUTION, test)] * args.repeat)
            bad = [v for v in runs if v.status != "pass"]
            if bad:
                sys.exit(f"{name}: {bad[0].status} {bad[0].message}")
            ours[name] = min(v.cpu_s for v in runs)
    theirs = {name: min(plain_pytest_cpu(args.python, SOLUTION, t) for _ in range(args.repeat)) for name, t in files.items()}
    print(f"{args.n} assertions per file; microseconds of CPU per assertion (empty loop subtracted)")
    print(f"{'assertion':18s} {'kodcode.exec':>13s} {'plain pytest':>13s} {'ratio':>6s}")
    lines = [
        "# What the assertion guard costs",
        "",
        f"Command: `.venv/bin/python bench/exec_guard.py --python {args.python} --n {args.n} "
        f"--repeat {args.repeat} --report {args.report}`",
        "",
        f"{args.n} assertions in a loop per test file, one file per kind; CPU of the job (kodcode.exec, one warm "
        "worker) and of a plain `pytest` process (same interpreter), fastest of the runs, minus the same file "
        "with an empty loop; microseconds per assertion.",
        "",
        "| assertion | code | kodcode.exec | plain pytest | ratio |",
        "|---|---|---|---|---|",
    ]
    for name in CASES:
        o = (ours[name] - ours["(empty loop)"]) / args.n * 1e6
        t = (theirs[name] - theirs["(empty loop)"]) / args.n * 1e6
        ratio = o / t if t > 0 else float("nan")
        print(f"{name:18s} {o:13.2f} {t:13.2f} {ratio:6.1f}")
        lines.append(f"| {name} | `{CASES[name]}` | {o:.2f} | {t:.2f} | {ratio:.1f}x |")
    if args.report:
        args.report.write_text("\n".join(lines) + "\n")
        print(f"wrote {args.report}")


if __name__ == "__main__":
    main()
