"""Difficulty, pass@k and attempt selection."""

import pytest

from kodcode.synth.label import choose_best, difficulty, label_questions, pass_at_k, pass_at_k_by_subset


def test_difficulty_boundaries_follow_kodcode_code():
    assert difficulty(2, 3) == "easy"  # p = 2/3 is easy (code uses >=; the paper says >)
    assert difficulty(10, 10) == "easy"
    assert difficulty(1, 3) == "medium"  # p = 1/3 is not hard
    assert difficulty(3, 10) == "hard"
    assert difficulty(0, 10) == "fail"
    with pytest.raises(ValueError, match="at least one trial"):
        difficulty(0, 0)


def test_pass_at_k_unbiased_estimator():
    assert pass_at_k(10, 0, 1) == 0.0
    assert pass_at_k(10, 10, 5) == 1.0
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3)
    assert pass_at_k(4, 1, 2) == pytest.approx(0.5)  # 1 - C(3,2)/C(4,2) = 1 - 3/6
    assert pass_at_k(5, 4, 2) == 1.0
    with pytest.raises(ValueError, match="k <= n"):
        pass_at_k(3, 1, 5)


def _attempt(qid, i, passed, n_tests=2, status=None):
    return {"question_id": qid, "attempt": i, "passed": passed, "solution": f"s{qid}{i}", "test": f"t{qid}{i}",
            "test_info": [{"function_name": "f"}],
            "verdict": {"status": status or ("pass" if passed else "fail"), "n_tests": n_tests}}


def test_choose_best_prefers_more_tests_then_earliest():
    a = [_attempt("q", 0, False, 9), _attempt("q", 1, True, 2), _attempt("q", 2, True, 5), _attempt("q", 3, True, 5)]
    assert choose_best(a)["attempt"] == 2
    assert choose_best([_attempt("q", 0, False)]) is None


def test_label_questions_builds_kodcode_fields():
    qs = [{"question_id": "Q1", "subset": "Leetcode", "question": "a"},
          {"question_id": "Q2", "subset": "Leetcode", "question": "b"},
          {"question_id": "Q3", "subset": "Prefill", "question": "c"}]
    attempts = [_attempt("Q1", 1, True), _attempt("Q1", 0, False), _attempt("Q1", 2, True),
                _attempt("Q2", 0, False), _attempt("Q2", 1, False, status="sandbox_error")]
    verified, failed = label_questions(qs, attempts, trial_prefix="trial_m")
    assert [t["question_id"] for t in verified] == ["Q1"]
    assert [t["question_id"] for t in failed] == ["Q2", "Q3"]
    q1 = verified[0]
    assert q1["gpt_pass_sequence"] == [0, 1, 1]
    assert q1["gpt_pass_trial_num"] == 2
    assert q1["gpt_pass_percentage"] == 0.667
    assert q1["gpt_difficulty"] == "easy"
    assert q1["chosen_trial"] == "trial_m_1" and q1["solution"] == "sQ11"
    assert q1["trials"]["trial_m_0"]["test_result"] == "Fail"
    # A sandbox error is not a failed attempt: left out of the sequence, counted on its own.
    assert failed[0]["gpt_pass_sequence"] == [0] and failed[0]["n_sandbox_errors"] == 1


def test_pass_at_k_by_subset_counts_failed_questions():
    rows = [{"subset": "A", "gpt_pass_sequence": [1, 0]}, {"subset": "A", "gpt_pass_sequence": [0, 0]},
            {"subset": "B", "gpt_pass_sequence": [1, 1]}]
    out = pass_at_k_by_subset(rows, [1, 2])
    assert out["A"] == {"pass@1": 0.25, "pass@2": 0.5}
    assert out["B"] == {"pass@1": 1.0, "pass@2": 1.0}
    assert out["all"]["pass@1"] == pytest.approx(0.5)


def test_pass_at_k_keeps_questions_with_fewer_attempts_so_the_curve_never_falls():
    # One seed row with a single passing attempt, two generated rows with two failing ones.
    rows = [{"subset": "A", "gpt_pass_sequence": [1]}, {"subset": "A", "gpt_pass_sequence": [0, 0]},
            {"subset": "A", "gpt_pass_sequence": [0, 0]}]
    out = pass_at_k_by_subset(rows, [1, 2, 5])
    assert out["A"] == {"pass@1": pytest.approx(1 / 3), "pass@2": pytest.approx(1 / 3), "pass@5": pytest.approx(1 / 3)}
