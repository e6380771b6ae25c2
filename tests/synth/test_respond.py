"""The respond stage's labels from verified responses (the program extraction: tests/test_answers.py)."""

from kodcode.synth.respond import label_responses


def test_labels_from_verified_responses():
    triplet = {"question_id": "Q_I", "question": "Add.", "test": "t"}
    row = label_responses(triplet, [{"index": 1, "text": "B", "code": "b", "passed": True},
                                    {"index": 0, "text": "A", "code": "a", "passed": False},
                                    {"index": 2, "text": "C", "code": "c", "passed": True}])
    assert row["r1_pass_sequence"] == [0, 1, 1] and row["r1_pass_trial_num"] == 2
    assert row["r1_correctness"] == "True" and row["r1_solution"] == "b" and row["r1_chosen_trial_key"] == "trial_r1_1"
    assert row["conversations"] == [{"from": "human", "value": "Add."}, {"from": "gpt", "value": "B"}]
    bad = label_responses(triplet, [{"index": 0, "text": "A", "code": None, "passed": False}])
    assert bad["r1_correctness"] == "False" and bad["conversations"][1]["value"] == "A"
