"""Solve requests: one per attempt, explicit sampling, numbering that later runs continue."""

from kodcode.llm.types import GenerationResult
from kodcode.synth.parse import parse_record
from kodcode.synth.solve import SolveConfig, seed_attempts, solve_attempts, solve_request

Q = [{"question_id": "Leetcode_1", "subset": "Leetcode", "question": "Add two numbers.", "metadata": {"prompt_id": 1}},
     {"question_id": "Leetcode_2", "subset": "Leetcode", "question": "Sort a list.", "metadata": {}}]


class Recorder:
    def __init__(self):
        self.requests = []

    def __call__(self, requests):
        self.requests += requests
        return [GenerationResult([f"reply seed={r.seed}"], ["stop"]) for r in requests]


def test_request_carries_question_and_explicit_sampling():
    r = solve_request("Add two numbers.", 3, SolveConfig(temperature=0.8, seed=10, max_tokens=100))
    assert r.temperature == 0.8 and r.seed == 13 and r.n == 1 and r.max_tokens == 100
    content = r.messages[0]["content"]
    assert content.rstrip().endswith("Add two numbers.") and "<|Solution Begin|>" in content


def test_all_mode_makes_n_independent_attempts():
    gen = Recorder()
    out = solve_attempts(Q, gen, SolveConfig(n=3), model="m")
    assert [(a["question_id"], a["attempt"]) for a in out] == [
        ("Leetcode_1", 0), ("Leetcode_1", 1), ("Leetcode_1", 2), ("Leetcode_2", 0), ("Leetcode_2", 1), ("Leetcode_2", 2)]
    assert len({r.cache_key("b", "m") for r in gen.requests}) == 6  # distinct seeds: distinct samples
    assert out[0]["metadata"] == {"prompt_id": 1} and out[0]["model"] == "m"


def test_later_run_continues_only_unsolved_questions():
    previous = [{"question_id": "Leetcode_1", "attempt": 0, "passed": True},
                {"question_id": "Leetcode_2", "attempt": 0, "passed": False},
                {"question_id": "Leetcode_2", "attempt": 1, "passed": False}]
    out = solve_attempts(Q, Recorder(), SolveConfig(n=2), previous=previous)
    assert [(a["question_id"], a["attempt"]) for a in out[3:]] == [("Leetcode_2", 2), ("Leetcode_2", 3)]


def test_seed_triplets_go_through_the_normal_parser():
    qs, attempts = seed_attempts([{"question_id": "Prefill_s1", "subset": "Prefill", "question": "q",
                                   "solution": "def f():\n    return 1", "test": "def test_f():\n    assert f() == 1"}])
    parsed = parse_record(attempts[0])
    assert qs[0]["question_id"] == "Prefill_s1" and attempts[0]["model"] == "seed_triplets"
    assert parsed["parse_error"] == "" and parsed["solution"] == "def f():\n    return 1"
