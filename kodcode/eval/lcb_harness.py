"""lcb_runner's way of running one program on one problem, as the program of a single sandbox job.

``livecodebench.make_job`` (``semantics=official``) sends this file's source as a ``StdioJob``
program and a JSON payload on its stdin: ``{"code", "inputs", "fn_name", "timeout", "nonce"}``.  It
runs the candidate the way ``lcb_runner/evaluation/testing_util.py`` (28fef95) does, inside one
process: a stdin program is wrapped into a function and called once per test with a stand-in
``sys.stdin`` and a captured ``sys.stdout``; a call-based program is executed once and its method
called once per test; each test has a wall-clock ``signal.alarm``.  Every behaviour this reproduces
is listed in the README (section "LiveCodeBench: data, harnesses, and what the official scorer does").

It only reports what happened, one line per test on the job's original stdout (``nonce`` + JSON):
``{"case": i, "status": "ok" | "timeout" | "error", "stdout" | "value": ...}``, or ``{"abort": ...}``
when the program could not be set up or killed the harness.  Expected outputs never enter the job;
``lcb_rules`` grades the reports in the parent.  The candidate runs in this process, as on the
official harness, so it can write forged report lines; the sandbox still bounds what it can do.

Standard library only (numpy values are recognised by their type's module, never imported).
"""

import ast
import builtins
import io
import json
import os
import signal
import sys
import types

# testing_util.import_string: the lines lcb_runner puts before every program.
IMPORT_PRELUDE = (
    "from string import *\nfrom re import *\nfrom datetime import *\nfrom collections import *\n"
    "from heapq import *\nfrom bisect import *\nfrom copy import *\nfrom math import *\nfrom random import *\n"
    "from statistics import *\nfrom itertools import *\nfrom functools import *\nfrom operator import *\n"
    "from io import *\nfrom sys import *\nfrom json import *\nfrom builtins import *\nfrom typing import *\n"
    "import string\nimport re\nimport datetime\nimport collections\nimport heapq\nimport bisect\nimport copy\n"
    "import math\nimport random\nimport statistics\nimport itertools\nimport functools\nimport operator\n"
    "import io\nimport sys\nimport json\nsys.setrecursionlimit(50000)\n"
)
_MAX_DEPTH = 100
_BIG_INT_DIGITS = 4000  # ints longer than this travel as hex (the parent's str->int limit is 4300 digits)


class TimeoutException(Exception):  # noqa: N818 - lcb_runner recognises a timeout by this name in repr(e)
    pass


def _on_alarm(signum, frame):
    raise TimeoutException


class _StdinBytes:
    """lcb_runner's ``sys.stdin.buffer``: ``read`` gives every byte, ``readline`` always the first line."""

    def __init__(self, text):
        self._data = text.encode("utf-8")

    def read(self, *args):
        return self._data

    def readline(self, *args):
        return self._data.split(b"\n")[0] + b"\n"


class LcbStdin:
    """The stand-in ``sys.stdin``: ``read`` always returns the whole input, ``readlines`` splits it on
    newlines (so a trailing newline gives a last empty item), ``readline`` reads on, the rest comes
    from a ``StringIO``; it cannot be iterated (no ``__iter__`` on the class)."""

    def __init__(self, text):
        self._text = text
        self._io = io.StringIO(text)
        self.buffer = _StdinBytes(text)

    def read(self, *args):
        return self._text

    def readline(self, *args):
        return self._io.readline(*args)

    def readlines(self, *args):
        return self._text.split("\n")

    def __getattr__(self, name):
        return getattr(self._io, name)


def lift_main_guard(code):
    """A last top-level ``if __name__ == '__main__':`` is replaced by its body (only when it is last)."""
    try:
        tree = ast.parse(code)
        last = tree.body[-1]
        if isinstance(last, ast.If) and ast.unparse(last.test).strip() == "__name__ == '__main__'":
            code = ast.unparse(tree.body[:-1]) + "\n" + ast.unparse(last.body)
    except Exception:  # noqa: BLE001 - unparsable code is left as it is
        pass
    return code


def wrap_in_function(code):
    """Top-level imports stay at module level; every other statement becomes the body of
    ``wrapped_function()``, after the prelude.  Unparsable code is returned unchanged (no prelude)."""
    try:
        tree = ast.parse(code)
        imports = [s for s in tree.body if isinstance(s, (ast.Import, ast.ImportFrom))]
        body = [s for s in tree.body if not isinstance(s, (ast.Import, ast.ImportFrom))]
        fn = ast.FunctionDef(name="wrapped_function", args=ast.arguments(posonlyargs=[], args=[], kwonlyargs=[],
                             kw_defaults=[], defaults=[]), body=body, decorator_list=[], lineno=-1)
        return IMPORT_PRELUDE + "\n" + ast.unparse(imports) + "\n" + ast.unparse(fn)
    except Exception:  # noqa: BLE001
        return code


def _load(code, timeout):
    """Execute ``code`` as module ``tmp_sol``; a ``Solution`` instance when the text mentions the class."""
    signal.alarm(timeout)
    try:
        mod = types.ModuleType("tmp_sol", "")
        exec(code, mod.__dict__)
        return mod.Solution() if "class Solution" in code else mod
    finally:
        signal.alarm(0)


# reliability_guard's lists (the same in lcb_runner and SkyThought): os functions set to None, modules blocked
GUARDED_OS = ("kill", "system", "putenv", "remove", "removedirs", "rmdir", "fchdir", "setuid", "fork", "forkpty",
              "killpg", "rename", "renames", "truncate", "replace", "unlink", "fchmod", "fchown", "chmod", "chown",
              "chroot", "lchflags", "lchmod", "lchown", "getcwd", "chdir")
GUARDED_MODULES = ("ipdb", "joblib", "resource", "psutil", "tkinter")


def disable_guarded():
    """What both runners' guards disable: the ``GUARDED_OS`` functions, ``shutil``'s removals,
    ``subprocess.Popen``, ``quit`` and the ``GUARDED_MODULES``."""
    import shutil
    import subprocess

    os.environ["OMP_NUM_THREADS"] = "1"
    builtins.quit = None
    for name in GUARDED_OS:
        setattr(os, name, None)
    shutil.rmtree = shutil.move = shutil.chown = None
    subprocess.Popen = None
    for name in GUARDED_MODULES:
        sys.modules[name] = None


def apply_reliability_guard():
    """The same functions lcb_runner's ``reliability_guard`` disables (programs that call them fail)."""
    disable_guarded()
    builtins.help = None


def encode_value(v, depth=0):
    """What the parent needs to apply ``prediction == expected`` exactly as lcb_runner would.

    Plain JSON values pass as they are; tuples, big ints, non-finite floats, dicts, sets, Decimals,
    Fractions, complex numbers and numpy values are tagged; anything else is described (``__opaque__``).
    """
    t = type(v)
    if depth > _MAX_DEPTH:
        return {"__opaque__": "too deep"}
    if v is None or t in (bool, str):
        return v
    if t is int:
        return v if v.bit_length() < _BIG_INT_DIGITS * 3 else {"__int__": hex(v)}
    if t is float:
        return v if v - v == 0 else {"__float__": repr(v)}
    if t is list:
        return [encode_value(x, depth + 1) for x in v]
    if t is tuple:
        return {"__tuple__": [encode_value(x, depth + 1) for x in v]}
    mod = getattr(t, "__module__", "") or ""
    if mod.split(".")[0] == "numpy":
        return _encode_numpy(v, depth)
    if t.__name__ == "Decimal" and mod in ("decimal", "_decimal", "_pydecimal"):
        return {"__decimal__": str(v)}
    if t.__name__ == "Fraction" and mod == "fractions":
        return {"__fraction__": [encode_value(v.numerator), encode_value(v.denominator)]}
    if t is complex:
        return {"__complex__": [repr(v.real), repr(v.imag)]}
    base = _plain_base(v)
    if base is dict:
        return {"__pairs__": [[encode_value(k, depth + 1), encode_value(x, depth + 1)] for k, x in v.items()]}
    if base in (set, frozenset, bytes, bytearray):
        return {"__opaque__": t.__name__, "never_equal": True}  # never equal to a JSON value
    if base is not None and base is not t:
        return encode_value(base(v), depth)
    return {"__opaque__": t.__name__}


def _plain_base(v):
    """The builtin a value behaves as when compared with ``==`` (its class keeps that type's ``__eq__``)."""
    for base in (bool, int, float, str, list, tuple, dict, set, frozenset, bytes, bytearray):
        if isinstance(v, base):
            eq = getattr(type(v), "__eq__", None)
            if eq is base.__eq__ or type(v).__module__ == "collections":  # Counter/OrderedDict compare as dicts
                return base
            return None
    return None


def _encode_numpy(v, depth):
    if hasattr(v, "tolist") and hasattr(v, "shape") and type(v).__name__ == "ndarray":
        return {"__ndarray__": encode_value(v.tolist(), depth + 1), "size": int(v.size)}
    if hasattr(v, "item") and hasattr(v, "dtype"):
        # numpy 2 compares a float32/float16 with a Python number at the scalar's own precision (NEP 50)
        bits = int(v.dtype.itemsize * 8) if v.dtype.kind == "f" and v.dtype.itemsize < 8 else None
        return {"__npscalar__": encode_value(v.item(), depth + 1), "bits": bits}
    return {"__opaque__": type(v).__name__}


class _Reporter:
    def __init__(self, fd, nonce):
        self.fd, self.nonce, self.write = fd, nonce, os.write

    def __call__(self, rec):
        try:
            text = json.dumps(rec)
        except Exception as e:  # noqa: BLE001 - an unencodable report is still a report
            text = json.dumps({k: (v if k in ("case", "status") else repr(e)) for k, v in rec.items()})
        data = ("\n" + self.nonce + text + "\n").encode("utf-8", "backslashreplace")
        while data:
            data = data[self.write(self.fd, data):]


def _describe(e):
    try:
        return repr(e)[:500]
    except Exception:  # noqa: BLE001
        return "<unrepresentable exception>"


def _case_status(e):
    return "timeout" if "timeoutexception" in _describe(e).lower() else "error"


_COMPRESS_OVER = 64 * 1024  # large outputs travel zlib-compressed, so the engine's output cap fits real tests


def _stdout_field(text):
    if len(text) <= _COMPRESS_OVER:
        return {"stdout": text}
    import base64
    import zlib

    raw = text.encode("utf-8", "surrogatepass")
    return {"stdout_z": base64.b64encode(zlib.compress(raw, 6)).decode("ascii")}


def run_stdio(code, inputs, timeout, report):
    try:
        fn = getattr(_load(wrap_in_function(lift_main_guard(code)), timeout), "wrapped_function")
    except BaseException as e:  # noqa: BLE001 - lcb_runner: a program that cannot be set up scores -4
        return report({"abort": _describe(e)})
    from unittest import mock

    for i, text in enumerate(inputs):
        out = io.StringIO()
        out.close = lambda x: 1  # lcb_runner's capture: close() is a no-op taking exactly one argument
        saved, status, err = sys.stdout, "ok", ""
        sys.stdout = out
        signal.alarm(timeout)
        try:
            with mock.patch("builtins.open", mock.mock_open(read_data=text)), mock.patch("sys.stdin", LcbStdin(text)):
                try:
                    fn()
                except SystemExit:
                    pass
        except Exception as e:  # noqa: BLE001
            status, err = _case_status(e), _describe(e)
        except BaseException as e:  # noqa: BLE001 - escapes lcb_runner's handlers and ends its process
            sys.stdout = saved
            return report({"abort": _describe(e), "case": i})
        finally:
            signal.alarm(0)
            sys.stdout = saved
        report({"case": i, "status": status, "error": err, **_stdout_field(out.getvalue())})
        if status != "ok":
            return None
    return None


def run_call(code, inputs, fn_name, timeout, report):
    try:
        target = getattr(_load(IMPORT_PRELUDE + "\n\n" + code, timeout), fn_name)
        cases = [[json.loads(line) for line in text.split("\n")] for text in inputs]
    except BaseException as e:  # noqa: BLE001
        return report({"abort": _describe(e)})
    for i, args in enumerate(cases):
        signal.alarm(timeout)
        try:
            value = target(*args)
            signal.alarm(0)
            if isinstance(value, tuple):  # lcb_runner: a top-level tuple counts as a list
                value = list(value)
            rec = {"case": i, "status": "ok", "value": encode_value(value)}
        except Exception as e:  # noqa: BLE001
            rec = {"case": i, "status": _case_status(e), "error": _describe(e)}
        except BaseException as e:  # noqa: BLE001
            return report({"abort": _describe(e), "case": i})
        finally:
            signal.alarm(0)
        report(rec)
        if rec["status"] != "ok":
            return None
    return None


STACK_BYTES = 8 * 1024 * 1024  # the stack of a process started with Linux defaults, as lcb_runner's worker is


def _default_stack():
    """Deep C-level recursion (through ``lru_cache``, say) crashes lcb_runner's worker near 20k calls;
    the sandbox's own main stack is far larger, so bring it back to the common default."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_STACK)
    want = STACK_BYTES if hard == resource.RLIM_INFINITY else min(STACK_BYTES, hard)
    if soft == resource.RLIM_INFINITY or soft > want:
        resource.setrlimit(resource.RLIMIT_STACK, (want, hard))


def main():
    payload = json.loads(sys.stdin.read())
    report = _Reporter(os.dup(1), payload["nonce"])
    # lcb_runner's worker process has stdin on /dev/null and no faulthandler
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    sys.stdin = open(0, closefd=False)  # noqa: SIM115
    if hasattr(sys, "set_int_max_str_digits"):
        sys.set_int_max_str_digits(50000)  # compute_code_generation_metrics
    _default_stack()
    signal.signal(signal.SIGALRM, _on_alarm)
    apply_reliability_guard()
    timeout = max(1, int(payload["timeout"]))
    try:
        if payload["fn_name"] is None:
            run_stdio(payload["code"], payload["inputs"], timeout, report)
        else:
            run_call(payload["code"], payload["inputs"], payload["fn_name"], timeout, report)
        report({"done": True})
    finally:
        os._exit(0)  # threads the program left running do not hold the verdict back


if __name__ == "__main__":
    main()
