"""The run's HTML report renders in headless Chromium: figures load, funnels and attempts are there.

Skipped where no Chromium is installed (Debian: ``apt-get install chromium-headless-shell``)."""

import json
import shutil
import subprocess

import pytest

from kodcode.synth.report import build_report
from kodcode.synth.report_page import subset_funnel, write_page

BROWSER = next((b for b in ("chromium-headless-shell", "chromium", "chromium-browser", "google-chrome")
                if shutil.which(b)), None)

MANIFESTS = {
    "verify": {"counts": {"input": 3, "output": 3}, "timings": {"seconds": 1.5}},
    "label": {"counts": {"input": 3, "output": 1, "difficulty": {"Leetcode": {"easy": 1, "medium": 0, "hard": 0,
                                                                             "fail": 1}}}},
    "decontaminate": {"counts": {"input": 1, "output": 1, "by_subset": {"Leetcode": {"checked": 1, "dropped": 0}}}},
}
ATTEMPTS = [
    {"question_id": "q1", "subset": "Leetcode", "question": "Add <two> numbers.", "attempt": 0, "model": "m",
     "solution": "def add(a, b):\n    return a + b", "test": "def test_add():\n    assert add(1, 2) == 3",
     "passed": True, "verdict": {"status": "pass", "n_tests": 1, "n_passed": 1, "message": ""}},
    {"question_id": "q1", "subset": "Leetcode", "question": "Add <two> numbers.", "attempt": 1, "model": "m",
     "solution": "def add(a, b):\n    return a - b", "test": "def test_add():\n    assert add(1, 2) == 3",
     "passed": False, "verdict": {"status": "fail", "n_tests": 1, "n_passed": 0, "message": "test_add failed"}},
    {"question_id": "q2", "subset": "Leetcode", "question": "Reverse a list.", "attempt": 0, "model": "m",
     "solution": None, "test": None, "passed": False, "verdict": {"status": "fail", "message": "not run: no code"}},
]
EXPORTED = [{"subset": "Leetcode", "question": "Add two numbers.", "solution": "def add(a, b):\n    return a + b",
             "test": "def test_add():\n    assert add(1, 2) == 3"}]


def test_subset_funnel_counts_attempted_verified_kept_and_exported():
    assert subset_funnel(MANIFESTS, EXPORTED) == [["Leetcode", 2, 1, 1, 1]]


@pytest.mark.skipif(BROWSER is None, reason="no Chromium installed (apt-get install chromium-headless-shell)")
def test_report_page_renders_in_headless_chromium(tmp_path):
    pak = {"Leetcode": {"pass@1": 0.25, "pass@2": 0.5}, "all": {"pass@1": 0.25, "pass@2": 0.5}}
    summary = build_report(pak, MANIFESTS["label"]["counts"]["difficulty"], {"threshold": 0.95}, {"verify": 3},
                           EXPORTED, tmp_path / "figures")
    page = write_page(tmp_path, summary, MANIFESTS, EXPORTED, ATTEMPTS)
    done = subprocess.run([BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files",
                           "--virtual-time-budget=5000", "--dump-dom", page.as_uri()],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    assert f'data-figures-loaded="{len(summary["figures"])}"' in dom  # every PNG decoded in the browser
    assert dom.count("class=\"q\"") == 2  # one entry per question
    assert "Add &lt;two&gt; numbers." in dom  # question text escaped, not injected
    assert "not run: no code" in dom and "25.0%" in dom
    assert json.loads((tmp_path / "figures" / "summary.json").read_text())["pass_at_k"] == pak


def test_question_browser_reads_attempts_once_and_keeps_the_first_questions():
    from kodcode.synth.report_page import question_browser

    seen = []

    def attempts():  # a generator: one pass, as the report stage streams the verify output
        for i in range(3000):
            seen.append(i)
            yield {"question_id": f"Q{i % 1000}", "attempt": i // 1000, "subset": "S", "question": f"q{i % 1000}",
                   "verdict": {"status": "pass" if i % 2 else "fail"}, "passed": bool(i % 2)}

    html = question_browser(attempts(), max_questions=3)
    assert len(seen) == 3000
    assert html.count("class='q'") == 3 and "first 3 of 1000 questions" in html
    assert "Q0 &middot;" in html and "Q2 &middot;" in html and "Q3 &middot;" not in html
    assert html.count("attempt 2 &middot;") == 3  # each shown question has its later attempts too
