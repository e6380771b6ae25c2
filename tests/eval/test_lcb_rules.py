"""LiveCodeBench grading rules (lcb_rules) on CaseOutput values, without running anything."""

from kodcode.eval.lcb_rules import (
    RUNTIME_ERROR,
    TIME_LIMIT,
    WRONG_ANSWER,
    call_output_matches,
    grade_call_outputs,
    grade_stdio_outputs,
    stdio_output_matches,
)
from kodcode.exec.jobs import CaseOutput


def test_stdio_ignores_surrounding_and_trailing_whitespace_per_line():
    assert stdio_output_matches("  3 4 \n5\n\n", "3 4\n5")


def test_stdio_requires_the_same_number_of_lines():
    assert not stdio_output_matches("3\n4\n", "3 4\n")


def test_stdio_compares_numbers_as_decimals_without_epsilon():
    assert stdio_output_matches("1.0 2.50\n", "1 2.5\n")
    assert not stdio_output_matches("0.3333333\n", "0.3333334\n")


def test_stdio_token_mismatch_in_non_numeric_line_fails():
    assert not stdio_output_matches("Yes\n", "YES\n")


def test_call_counts_a_tuple_answer_as_a_list():
    assert call_output_matches((0, 1), [0, 1])
    assert not call_output_matches([1, 0], [0, 1])


def test_call_has_no_float_tolerance():
    assert call_output_matches(2.0, 2)
    assert not call_output_matches(0.30000000000000004, 0.3)


def test_stdio_grading_stops_at_first_failure_with_lcb_codes():
    outs = [CaseOutput("ok", stdout="3\n"), CaseOutput("ok", stdout="8\n"), CaseOutput("ok", stdout="0\n")]
    ok, detail = grade_stdio_outputs(outs, ["3", "7", "0"])
    assert not ok and detail["results"] == [True, WRONG_ANSWER] and detail["case"] == 1


def test_stdio_timeout_and_traceback_are_time_limit_and_runtime_error():
    ok, d = grade_stdio_outputs([CaseOutput("timeout")], ["1"])
    assert not ok and d["error_code"] == TIME_LIMIT
    crash = CaseOutput("error", stdout="1\n", stderr="Traceback (most recent call last):\n  ...\nValueError", exit_code=1)
    ok, d = grade_stdio_outputs([crash], ["1"])
    assert not ok and d["error_code"] == RUNTIME_ERROR


def test_stdio_sys_exit_without_traceback_is_graded_on_its_output():
    # LCB swallows SystemExit and compares what was printed.
    ok, _ = grade_stdio_outputs([CaseOutput("error", stdout="42\n", exit_code=3)], ["42"])
    assert ok


def test_call_grading_all_pass_and_missing_case():
    ok, d = grade_call_outputs([CaseOutput("ok", value=[0, 1]), CaseOutput("ok", value=5)], [[0, 1], 5])
    assert ok and d["results"] == [True, True]
    ok, d = grade_call_outputs([CaseOutput("ok", value=[0, 1])], [[0, 1], 5])
    assert not ok and d["error_code"] == RUNTIME_ERROR


def test_engine_encoded_values_are_decoded_before_comparing():
    from kodcode.eval.lcb_rules import decode_value

    assert decode_value({"__dict__": {"a": [1, {"__set__": [2, 3]}]}}) == {"a": [1, {2, 3}]}
    assert decode_value({"__pairs__": [[1, "x"]]}) == {1: "x"}
    assert decode_value({"__repr__": "<obj>", "__type__": "Weird"}) != [0, 1]
    ok, _ = grade_call_outputs([CaseOutput("ok", value={"__pairs__": [[1, 2]]})], [{"1": 2}])
    assert not ok  # int keys are not the JSON string keys LCB expects


def test_signalling_nan_is_a_runtime_error_not_a_scorer_crash():
    from kodcode.eval.lcb_rules import stdio_case_result

    assert stdio_case_result("sNaN\n", "1\n") == RUNTIME_ERROR
    ok, d = grade_call_outputs([CaseOutput("ok", value=None)], [1])
    assert not ok and d["error_code"] == WRONG_ANSWER


def test_harness_reports_are_graded_like_lcb_runner():
    from kodcode.eval.lcb_rules import NO_RESULT, grade_reports

    tagged = [{"case": 0, "status": "ok", "value": [{"__tuple__": [1, 2]}]},
              {"case": 1, "status": "ok", "value": {"__ndarray__": [7], "size": 1}},
              {"case": 2, "status": "ok", "value": {"__ndarray__": [1, 2], "size": 2}}]
    ok, d = grade_reports(tagged, [[[1, 2]], 7, [1, 2]], stdio=False)
    assert not ok and d["results"] == [WRONG_ANSWER]  # a nested tuple never equals a list
    ok, d = grade_reports(tagged[1:], [[[1, 2]], 7, [1, 2]], stdio=False)
    assert d["error_code"] == NO_RESULT  # case 0 never reported: the run ended early
    shifted = [dict(r, case=r["case"] - 1) for r in tagged[1:]]
    ok, d = grade_reports(shifted, [[7], [1, 2]], stdio=False)
    assert d["results"] == [True, RUNTIME_ERROR]  # a 1-element array compares as its element; 2 elements raise
    ok, d = grade_reports([{"abort": "SyntaxError()"}], ["1"], stdio=True)
    assert d["error_code"] == RUNTIME_ERROR


def test_malformed_tags_decode_to_values_that_equal_nothing():
    from kodcode.eval.lcb_rules import decode_value

    for junk in ({"__int__": "zz"}, {"__fraction__": [1, 0]}, {"__decimal__": []}, {"__tuple__": 5}):
        assert decode_value(junk) != junk and decode_value(junk) != 0
