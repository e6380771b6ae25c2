"""SkyThought's way of running one program on one LiveCodeBench problem, as one sandbox job.

The KodCode paper's LiveCodeBench numbers came from SkyThought's evaluation.  Its runner
(``skythought/evals/tasks/livecodebench/livecodebench_util.py``, the same logic from 2025-02-18
through 4bb8f3e, 2025-02-27, the last commit before the paper, to 0d190f1, 2025-07-11, and in
substance since the first release, 2025-01-10) differs
from lcb_runner's in almost every step; this program reproduces it (docs/eval.md lists each
difference).  ``livecodebench.make_job`` (``prompt=skythought``, ``semantics=official``) sends the
source of ``lcb_harness`` followed by this file's as the program of a ``StdioJob``, and a JSON
payload on its stdin: ``{"code", "inputs", "fn_name", "nonce"}``.  The job's own limit is
SkyThought's only one, ``(timeout + 1) * tests + 5`` s for the whole problem: no test has a limit
of its own.

What it does, as SkyThought does, in one process with its reliability guard applied:

* every test executes the program again in a fresh namespace (module state in ``sys.modules``
  survives, globals do not);
* stdin: ``sys.stdin`` is a ``StringIO`` of the input and ``sys.stdout`` a ``StringIO`` (so
  ``sys.stdin.buffer``, ``open(0)``, ``os.write(1, ...)`` and ``sys.__stdout__`` see nothing of
  the test); the namespace has no ``__name__`` unless the text holds ``__name__ == "__main__"`` in
  double quotes, in which case ``__name__ = "__main__"`` is put first;
* call-based: the function called is the last word before the program's first ``(`` looked up
  among the program's globals (a ``class Solution`` method is never found), with the arguments
  read by ``sky_call_args``; the value must format and pickle (it travels to the parent through a
  ``multiprocessing.Manager`` list), so an instance of a class the program defines never passes.

It reports what happened (``lcb_harness``'s report lines: ``{"case", "status", "stdout" |
"value"}``); ``lcb_rules.grade_sky_reports`` applies SkyThought's comparison in the parent, where
the expected outputs stay.  An exception that is not an ``Exception`` (``SystemExit``) ends the
run, as it ends SkyThought's worker process.

Standard library only.  Inside the job, ``_Reporter``, ``encode_value``, ``_describe``,
``_stdout_field``, ``_default_stack`` and ``disable_guarded`` come from ``lcb_harness``'s source,
placed before this one.
"""

import builtins
import io
import json
import os
import pickle
import sys

try:  # imported as a module (tests); inside the job these names are already defined
    from kodcode.eval.lcb_harness import (_default_stack, _describe, _Reporter, _stdout_field, disable_guarded,
                                          encode_value)
except ImportError:  # pragma: no cover - the job's interpreter need not have kodcode
    pass

INT_MAX_STR_DIGITS = 4300  # Python's default: SkyThought's scorer never raises it


def _scalar(text):
    """One argument line that is neither quoted nor a list: int, else float, else the text."""
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def _keyed(part):
    """A ``key = value`` piece: the value as an int, a float or the text without its double quotes."""
    _key, value = part.split("=")  # more or fewer than one '=' raises, failing the test, as there
    value = value.strip()
    out = _scalar(value)
    return value.strip('"') if isinstance(out, str) else out


def sky_call_args(text):
    """SkyThought's reading of a call-based test input (``prepare_test_input_output_functional``).

    Any ``=`` in the text: it is split on ``,`` (when there is one) into ``key=value`` pieces.
    Otherwise one argument per non-blank stripped line: ``"..."`` loses its double quotes (no JSON
    unescaping), ``[...]`` is JSON, anything else an int, a float or the text itself (so ``true``,
    ``null`` and ``{...}`` arrive as strings).
    """
    if "=" in text:
        parts = [p.strip() for p in text.split(",")] if "," in text else [text]
        return [_keyed(p) for p in parts]
    args = []
    for line in text.split("\n"):
        part = line.strip()
        if not part:
            continue
        if part.startswith('"') and part.endswith('"'):
            args.append(part.strip('"'))
        elif part.startswith("[") and part.endswith("]"):
            args.append(json.loads(part))
        else:
            args.append(_scalar(part))
    return args


def sky_func_name(code):
    """The name SkyThought calls: the last whitespace-separated word before the first ``(``."""
    return code.split("(")[0].split()[-1]


def apply_sky_guard():
    """SkyThought's ``reliability_guard``: lcb_runner's list, and ``exit`` disabled too (``help`` kept)."""
    import faulthandler

    faulthandler.disable()
    disable_guarded()
    builtins.exit = None


def _run_stdin(code, text):
    sys.stdin = io.StringIO(text)
    out = io.StringIO()
    sys.stdout = out  # SkyThought never puts the real one back between tests
    if '__name__ == "__main__"' in code:
        code = '__name__ = "__main__"\n' + code
    exec(code, {})
    return {"status": "ok", **_stdout_field(out.getvalue())}


def _run_call(code, text):
    args = sky_call_args(text)
    namespace = {}
    exec(code, namespace)
    name = sky_func_name(code)
    sys.stdout = io.StringIO()
    try:
        value = namespace[name](*args)
    except Exception as e:  # noqa: BLE001 - a failed call is that test's failure
        return {"status": "error", "error": _describe(e)}
    finally:
        sys.stdout = sys.__stdout__
    try:  # SkyThought formats the value into its message and pickles it into a Manager list
        f"{value}"
        pickle.dumps(value)
    except Exception as e:  # noqa: BLE001 - there the worker dies and the test has no result
        return {"status": "error", "error": "the value cannot be formatted and pickled: " + _describe(e)}
    return {"status": "ok", "value": encode_value(value)}


def run_sky(code, inputs, stdin, report):
    """Every test in order in this process; after a failure SkyThought stops, and so does the grading."""
    for i, text in enumerate(inputs):
        try:
            rec = _run_stdin(code, text) if stdin else _run_call(code, text)
        except Exception as e:  # noqa: BLE001 - run_tests_for_one_example's handler: this test fails
            rec = {"status": "error", "error": _describe(e)}
        except BaseException as e:  # noqa: BLE001 - escapes SkyThought's handler and ends its worker
            return report({"abort": _describe(e), "case": i})
        report({"case": i, **rec})
        if rec["status"] != "ok":
            return None
    return None


def sky_main():
    payload = json.loads(sys.stdin.read())
    report = _Reporter(os.dup(1), payload["nonce"])
    devnull = os.open(os.devnull, os.O_RDONLY)  # a multiprocessing worker's stdin is /dev/null
    os.dup2(devnull, 0)
    sys.stdin = open(0, closefd=False)  # noqa: SIM115
    if hasattr(sys, "set_int_max_str_digits"):
        sys.set_int_max_str_digits(INT_MAX_STR_DIGITS)
    _default_stack()
    apply_sky_guard()
    try:
        run_sky(payload["code"], payload["inputs"], payload["fn_name"] is None, report)
        report({"done": True})
    finally:
        os._exit(0)  # threads the program left running do not hold the verdict back


if __name__ == "__main__":
    sky_main()
