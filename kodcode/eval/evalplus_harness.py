"""The program a HumanEval+/MBPP+ sandbox job runs: one model solution called on every test input.

``kodcode.eval.evalplus_bench`` sends this module's source as a ``StdioJob`` program and one payload
on stdin (base64 of a pickle the parent wrote: the solution, its entry point, and per phase -- base,
then plus -- the inputs and evalplus's per-input time limits).  For each phase it forks a child that
does what evalplus 0.3.1 ``evalplus/eval/__init__.py::unsafe_execute`` does before comparing:
``reliability_guard()`` (evalplus's own, imported), the solution ``exec``'d under ``swallow_io``,
then ``fn(*inp)`` for each input in order under a per-input limit -- in CPU seconds here (evalplus
counts wall seconds, so a busy machine flips its verdicts), with a wall guard only against sleeping.
The first input that raises or runs out of time ends the phase (evalplus's ``fast_check``); a
wrong answer does not, since nothing here can tell one, which is why the parent sends a phase in
growing parts, its first, cheap inputs alone first.  Each return value is written, as it is produced,
as one line of tagged JSON (``encode``) to this process, which forwards it on stdout; at the end of
the phase it adds how the child ended (exit, CPU limit, wall guard) and the child's CPU time.

Nothing here decides a verdict, and nothing here can see an expected output: the parent compares
the decoded values with evalplus's rules.  A solution can write lines of its own into the channel;
that only reports values of its choosing, which it could have returned anyway, and a line the
parent cannot read counts as a failed input.  Each phase runs in a fresh child, as each of
evalplus's ``untrusted_check`` calls runs in a fresh process, so state never crosses phases.

Run by hand (the parent builds the payload with ``evalplus_bench.harness_payload``)::

    python -m kodcode.eval.evalplus_harness < payload.b64
"""

import base64
import json
import os
import pickle
import resource
import select
import signal
import sys
import time

INT_DIGITS = 4000  # Python 3.11 refuses str(int) past 4300 digits; bigger ints travel as hex
# A float-free value whose JSON is longer travels as its sha256 (the exec result channel holds 64 MiB
# per job; HumanEval/15's and /130's plus outputs alone are over 100 MB).  The parent hashes the
# expected output the same way: equal digests mean equal encodings, so equal values of equal types.
DIGEST_OVER = 4096
DIGEST_FLOATS_OVER = 1 << 20  # values with floats travel in full (the parent's tolerance needs them) up to this


class InputTimeLimit(BaseException):
    """Raised in the solution by the per-input timers (BaseException: evalplus catches that too)."""


_ATOMS = (str, float, bool, type(None))
_NO_INTS = frozenset(_ATOMS)
_NUMBERS = frozenset((int, float, bool))
_INT_BITS = 13000  # below 10**INT_DIGITS
_INT_BOUND = 10 ** INT_DIGITS
_NO_FLOATS = frozenset((str, int, bool, type(None)))


def _atoms(seq):
    """Whether every item travels as itself (the fast path for long lists of numbers or strings)."""
    types = set(map(type, seq))  # (C loops first: HumanEval/130's outputs have a million items)
    if types <= _NO_INTS:
        return True
    if types <= _NUMBERS and -_INT_BOUND < min(seq) and max(seq) < _INT_BOUND:
        return True  # (a NaN makes min or max NaN, or is skipped by them: never a wrong True)
    return all(type(x) in _ATOMS or (type(x) is int and x.bit_length() < _INT_BITS) for x in seq)


def _tag_seq(tag, seq, depth):
    return {tag: list(seq) if _atoms(seq) else [encode(x, depth + 1) for x in seq]}


def encode(v, depth=0):
    """A JSON-able, exactly decodable form of a return value (``evalplus_values.decode`` inverts it).

    Exact builtin types travel as themselves or tagged; subclasses of builtin types that keep the
    base type's ``__eq__`` carry their class name (so ``==`` and ``type(out) == type(exp)`` decode
    as they behave); numpy scalars and arrays carry their dtype; anything else is a description.
    """
    if depth > 100:
        return {"o": "deep", "r": "<nested more than 100 levels>"}
    t = type(v)
    if v is None or t is bool or t is str:
        return v
    if t is int:
        return v if -10 ** INT_DIGITS < v < 10 ** INT_DIGITS else {"i": hex(v)}
    if t is float:
        return v  # json writes repr (exact round trip) and NaN/Infinity
    if t is list:
        return v if _atoms(v) else [encode(x, depth + 1) for x in v]
    if t is tuple:
        return _tag_seq("t", v, depth)
    if t is set or t is frozenset:  # sorted by their JSON: the same set encodes the same everywhere
        return {"s" if t is set else "fs": sorted((encode(x, depth + 1) for x in v), key=json.dumps)}
    if t is dict:
        return {"d": [[encode(k, depth + 1), encode(x, depth + 1)] for k, x in dict.items(v)]}
    if t is complex:
        return {"c": [v.real, v.imag]}
    if t is bytes:
        return {"b": base64.b64encode(v).decode()}
    mod = getattr(t, "__module__", "")
    if mod == "numpy":
        np = sys.modules.get("numpy")
        if np is not None and isinstance(v, np.ndarray) and v.dtype.kind in "biufc":
            return {"nd": v.dtype.str, "shape": list(v.shape), "v": encode(v.ravel().tolist(), depth + 1)}
        if np is not None and isinstance(v, np.generic) and v.dtype.kind in "biufc":
            return {"np": v.dtype.str, "v": encode(v.item(), depth + 1)}
    if mod == "collections" and t.__name__ in ("OrderedDict", "defaultdict", "Counter", "deque"):
        items = list(v) if t.__name__ == "deque" else [[k, x] for k, x in dict.items(v)]
        return {"coll": t.__name__, "v": encode(items, depth + 1)}
    for base in (int, float, str, list, tuple, dict, set, frozenset, bytes):
        if isinstance(v, base) and t.__eq__ is base.__eq__:
            return {"sub": t.__name__[:100], "bt": base.__name__, "base": encode(base(v), depth + 1)}
    try:
        r = repr(v)[:1000]
    except BaseException:  # noqa: BLE001 - a value whose repr raises is still a value
        r = "<unrepresentable>"
    return {"o": t.__name__[:100], "r": r}


def _has_float(enc):
    if type(enc) is str:
        return False
    if isinstance(enc, float):
        return True
    if isinstance(enc, list):
        types = set(map(type, enc))
        if float in types:
            return True
        return not types <= _NO_FLOATS and any(_has_float(x) for x in enc)
    if isinstance(enc, dict):
        return any(_has_float(x) for x in enc.values())
    return False


def digest(text):
    import hashlib

    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


_FLAT = frozenset((int, float, bool, type(None)))
_FLAT_LONG = DIGEST_FLOATS_OVER // 3 + 1  # more items than this: the list's JSON is over DIGEST_FLOATS_OVER


def _raw_digest(value):
    """For a long string or a long flat list of numbers -- values that travel as digests whatever they
    hold -- a digest of its own bytes, without writing its JSON (HumanEval/15's and /130's outputs);
    None for any other value.  Pickle writes these types by value, never by reference, so equal
    items of equal types give equal bytes."""
    import hashlib

    t = type(value)
    if t is str and len(value) > DIGEST_OVER:
        return "s" + digest(value)
    if t is list and len(value) > _FLAT_LONG and set(map(type, value)) <= _FLAT:
        return "l" + hashlib.sha256(pickle.dumps(value, protocol=4)).hexdigest()
    return None


def value_digest(value):
    """The digest ``channel_text`` sends for ``value`` when it sends one (the parent hashes the expected output so)."""
    return _raw_digest(value) or digest(json.dumps(encode(value)))


def channel_text(value):
    """The JSON that travels for one return value: its encoding, or a digest of it when long and float-free."""
    raw = _raw_digest(value)
    if raw is not None:
        return json.dumps({"h": raw, "n": len(value)})
    enc = encode(value)
    text = json.dumps(enc)
    if len(text) > DIGEST_FLOATS_OVER or (len(text) > DIGEST_OVER and not _has_float(enc)):
        return json.dumps({"h": digest(text), "n": len(text)})
    return text


def _on_timer(signum, frame):
    raise InputTimeLimit("cpu" if signum == signal.SIGPROF else "wall")


def _limit(cpu_s, wall_s):
    signal.setitimer(signal.ITIMER_PROF, cpu_s)
    signal.setitimer(signal.ITIMER_REAL, wall_s)


def _write(fd, rec):
    _send(fd, (json.dumps(rec) + "\n").encode())


def _send(fd, data):
    while data:
        data = data[os.write(fd, data):]


def run_phase(code, entry_point, inputs, limits, wall_factor, out_fd, n=0, more=False, max_memory=None, s=0,
              headroom=None):
    """The child: evalplus's guard and I/O swallowing, the solution, each input under its limits.

    Ends with a ``done`` record however the phase went (evalplus sets its status there); a child
    that ends without one (killed, ``os._exit``) leaves the status unknown, which evalplus calls
    ``timeout``.  ``more``: ``inputs`` is a first part of the phase's inputs; after the last one a
    ``paused`` record says so (the parent runs the whole phase again if this part was all right).
    ``max_memory``: evalplus's address-space cap; ``headroom``: the bytes evalplus's own process would
    have left under it (``evalplus_bench.evaluator_footprint``), granted above this child's own size.
    """
    _run_inputs(code, entry_point, inputs, limits, wall_factor, out_fd, n, more, max_memory, s, headroom)
    _write(out_fd, {"s": s, "p": n, "done": 1})


def _address_space():
    """This process's virtual size in bytes (what RLIMIT_AS counts), None where /proc cannot tell."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _run_inputs(code, entry_point, inputs, limits, wall_factor, out_fd, n, more, max_memory, s, headroom=None):
    from evalplus.eval.utils import reliability_guard, swallow_io

    signal.signal(signal.SIGPROF, _on_timer)
    signal.signal(signal.SIGALRM, _on_timer)
    if max_memory is not None:  # what reliability_guard(max_memory) sets, each within the sandbox's own limit
        cap = max_memory
        if headroom is not None:  # evalplus's process already holds evalplus's data: the same room above ours
            own = _address_space()
            cap = max_memory if own is None else min(max_memory, own + headroom)
        for lim in (resource.RLIMIT_AS, resource.RLIMIT_DATA, resource.RLIMIT_STACK):
            hard = resource.getrlimit(lim)[1]
            value = cap if hard == resource.RLIM_INFINITY else min(cap, hard)
            resource.setrlimit(lim, (value, value))
    reliability_guard()  # evalplus's own guard (the memory limits are set above)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)  # as fd 1: the solution's raw writes go nowhere
    g = {}
    try:
        with swallow_io():
            exec(code, g)  # noqa: S102 - the job: run the model's solution
            fn = g[entry_point]
    except BaseException as e:  # noqa: BLE001 - evalplus: any failure here fails the phase
        _write(out_fd, {"s": s, "p": n, "load": "error", "msg": f"{type(e).__name__}: {e}"[:500]})
        return
    for i, inp in enumerate(inputs):
        try:
            _limit(limits[i], limits[i] * wall_factor + 1.0)
            try:
                with swallow_io():
                    out = fn(*inp)
            finally:
                _limit(0, 0)
        except InputTimeLimit as e:
            _write(out_fd, {"s": s, "p": n, "i": i, "timeout": str(e)})
            return
        except BaseException as e:  # noqa: BLE001
            _write(out_fd, {"s": s, "p": n, "i": i, "error": f"{type(e).__name__}: {e}"[:300]})
            return
        try:
            line = '{"s": %d, "p": %d, "i": %d, "v": %s}\n' % (s, n, i, channel_text(out))  # (encoded once)
            _send(out_fd, line.encode())
        except BaseException as e:  # noqa: BLE001 - a value that cannot be described is not comparable
            _write(out_fd, {"s": s, "p": n, "i": i, "error": f"unencodable return value: {type(e).__name__}"})
            return
    if more:
        _write(out_fd, {"s": s, "p": n, "paused": len(inputs)})


def _phase(payload, code, phase, k, more, out_fd, s):
    """Fork the child for sample ``s`` on the first ``k`` inputs of ``phase``, forward its lines, then
    report how it ended (this process never runs the solution)."""
    r, w = os.pipe()
    cpu = phase["task_limit"]
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:
        exit_code = 1
        try:
            os.close(r)
            os.close(out_fd)  # the child writes only to its own pipe: its lines arrive framed as its
            soft = max(1, int(cpu + 0.999))
            resource.setrlimit(resource.RLIMIT_CPU, (soft, soft + 1))
            inputs, limits = phase["inputs"], phase["limits"]
            if k < len(inputs):
                inputs, limits = inputs[:k], limits[:k]
            run_phase(code, payload["entry_point"], inputs, limits,
                      payload["wall_factor"], w, phase["n"], more, payload.get("max_memory_bytes"), s,
                      payload.get("headroom_bytes"))
            exit_code = 0
        finally:
            os._exit(exit_code)
    os.close(w)
    wall = cpu * payload["wall_factor"] + 2.0
    ended = "exit"
    got = []

    while True:
        left = t0 + wall - time.monotonic()
        if left <= 0:
            ended = "wall"
            break
        ready, _, _ = select.select([r], [], [], left)
        if not ready:
            continue
        chunk = os.read(r, 1 << 16)
        if not chunk:
            break
        got.append(chunk)
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass
    _, status, usage = os.wait4(pid, 0)
    os.close(r)
    cpu_s = usage.ru_utime + usage.ru_stime
    if ended == "exit" and os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        ended = "cpu" if sig == signal.SIGXCPU or (sig == signal.SIGKILL and cpu_s >= cpu) else "signal"
    elif ended == "exit" and os.WEXITSTATUS(status) != 0:
        ended = "crash"
    data = b"".join(got)
    if data and not data.endswith(b"\n"):
        data += b"\n"
    # A frame: this header, then exactly that many lines from the child, then how it ended.  The
    # parent reads the child's lines only inside their frame, so one sample cannot speak for another.
    _write(out_fd, {"frame": s, "p": phase["n"], "lines": data.count(b"\n")})
    while data:
        data = data[os.write(out_fd, data):]
    _write(out_fd, {"s": s, "p": phase["n"], "end": ended, "cpu_s": cpu_s})


def _not_dumpable():
    """This process frames every sample's lines and each sample runs as the same uid: made non-dumpable
    (inherited by the samples' forks), no sample can open its ``/proc/<pid>/mem`` or ``/proc/<pid>/fd``
    and report for another sample."""
    try:
        import ctypes
        ctypes.CDLL(None).prctl(4, ctypes.c_ulong(0), 0, 0, 0)  # PR_SET_DUMPABLE, 0
    except (OSError, AttributeError):
        pass


def main():
    _not_dumpable()
    payload = pickle.loads(base64.b64decode(sys.stdin.buffer.read()))
    out_fd = os.dup(1)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)  # the solution's own writes to fd 1 go nowhere, as evalplus swallows them
    phases = {ph["n"]: ph for ph in payload["phases"]}
    for run in payload["runs"]:  # each sample's each part in a child of its own: no state crosses
        for part in run["parts"]:
            _phase(payload, run["code"], phases[part["n"]], part["k"], part["more"], out_fd, run["s"])


if __name__ == "__main__":
    main()
