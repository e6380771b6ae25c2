"""stdio and call jobs: each case runs in its own fork, so this runner never runs untrusted code and its
report cannot be forged by it."""

import json
import os
import resource
import select
import signal
import sys
import time

from .libc import PR_GET_DUMPABLE, PR_SET_DUMPABLE, _libc, prctl
from .outcome import _msg
from .state import STATE


def _encode(v, depth=0):
    """Canonical, trusted-side-decodable form of a return value (exact builtin types only)."""
    t = type(v)
    if depth > 50:
        return {"__repr__": "<too deep>"}
    if t is int and v.bit_length() > 13000:  # past 4,300 digits: JSON could not write it (lcb_rules reads hex)
        return {"__int__": format(v, "x")}
    if t in (bool, int, str) or v is None:
        return v
    if t is float:
        return v if v == v and v not in (float("inf"), float("-inf")) else {"__float__": repr(v)}
    if t in (list, tuple):
        return [_encode(x, depth + 1) for x in v]
    if t is dict:
        if all(type(k) is str for k in v):
            return {"__dict__": {k: _encode(x, depth + 1) for k, x in v.items()}}
        return {"__pairs__": [[_encode(k, depth + 1), _encode(x, depth + 1)] for k, x in v.items()]}
    if t in (set, frozenset):
        return {"__set__": [_encode(x, depth + 1) for x in v]}
    if t is bytes:
        import base64
        return {"__bytes__": base64.b64encode(v).decode()}
    try:
        r = repr(v)[:1000]
    except Exception:
        r = "<unrepresentable>"
    return {"__repr__": r, "__type__": t.__name__}

class CaseRunner(object):
    """stdio and call jobs: each case in its own fork, so this runner never runs untrusted code."""

    @staticmethod
    def prepare(job, workdir):
        return None

    @staticmethod
    def run(job, workdir, prepared, fixed):
        cases = job["inputs"] if job["kind"] == "stdio" else job["args_list"]
        outputs = []
        cap = int(STATE["cfg"]["max_output_bytes"])
        # This process holds the verdict channel and each case runs as the same uid: made non-dumpable,
        # no case may open its /proc/<pid>/mem or /proc/<pid>/fd (each case is given back its own
        # dumpable state, so its /proc/self reads as before).
        STATE["case_dumpable"] = _libc.prctl(PR_GET_DUMPABLE, 0, 0, 0, 0)
        prctl(PR_SET_DUMPABLE, 0)
        for case in cases:
            outputs.append(_run_case(job, case, fixed, cap))
        return {"runner": job["kind"], "outputs": outputs}

def _run_case(job, case, fixed, cap):
    timeout = float(job["timeout_s"])
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    val_r, val_w = os.pipe()
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:
        try:
            os.setpgid(0, 0)
            if STATE.get("case_dumpable", 0) > 0:
                prctl(PR_SET_DUMPABLE, STATE["case_dumpable"])
            for fd in list(fixed.values()) + [in_w, out_r, err_r, val_r]:
                try:
                    os.close(fd)
                except OSError:
                    pass
            os.dup2(in_r, 0)
            os.dup2(out_w, 1)
            os.dup2(err_w, 2)
            for fd in (in_r, out_w, err_w):
                os.close(fd)
            cpu = int(timeout + 0.999)
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
            _case_child(job, case, val_w)
        finally:
            os._exit(1)
    for fd in (in_r, out_w, err_w, val_w):
        os.close(fd)
    data = (case if isinstance(case, str) else "").encode() if job["kind"] == "stdio" else b""
    if not data:
        os.close(in_w)
        in_w = None
    bufs = {out_r: bytearray(), err_r: bytearray(), val_r: bytearray()}
    open_r = [out_r, err_r, val_r]
    deadline = t0 + timeout * float(STATE["cfg"]["wall_factor"]) + 1.0
    status = None
    timed_out = over = False
    while open_r or in_w is not None:
        now = time.monotonic()
        if now >= deadline:
            timed_out = True
            break
        ws = [in_w] if in_w is not None else []
        try:
            r, w, _ = select.select(open_r, ws, [], min(0.5, deadline - now))
        except InterruptedError:
            continue
        if w:
            try:
                n = os.write(in_w, data[:65536])
                data = data[n:]
            except OSError:
                data = b""
            if not data:
                os.close(in_w)
                in_w = None
        for fd in r:
            chunk = os.read(fd, 65536)
            if not chunk:
                open_r.remove(fd)
                continue
            bufs[fd] += chunk
            if len(bufs[out_r]) + len(bufs[err_r]) > cap or len(bufs[val_r]) > cap:
                over = True
        if over:
            break
        if not open_r and in_w is None:
            break
        if not open_r:
            break
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass
    _, status = os.waitpid(pid, 0)
    for fd in [out_r, err_r, val_r] + ([in_w] if in_w is not None else []):
        os.close(fd)
    dur = time.monotonic() - t0
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
    sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
    out = {"stdout": bufs[out_r].decode(errors="replace"), "stderr": bufs[err_r][-4096:].decode(errors="replace"),
           "exit_code": code, "duration_s": dur}
    if timed_out or sig in (signal.SIGXCPU,) or (sig == signal.SIGKILL and dur >= timeout):
        out["status"] = "timeout"
    elif over:
        out["status"] = "error"
        out["message"] = "output cap exceeded"
    elif job["kind"] == "call":
        try:
            val = json.loads(bufs[val_r].decode())
            out["status"], out["value"] = val.get("status", "error"), val.get("value")
            out["message"] = val.get("message", "")
        except Exception:
            out["status"] = "crash" if sig else "error"
            out["message"] = "no return value (exit code %s, signal %s)" % (code, sig)
    else:
        out["status"] = "ok" if code == 0 else ("crash" if sig else "error")
    return out

def _case_child(job, case, val_w):
    import builtins
    g = {"__name__": "__main__" if job["kind"] == "stdio" else "solution", "__builtins__": builtins}
    if job["kind"] == "stdio":
        os.close(val_w)
        code = 0
        try:
            exec(compile(job["program"], "program.py", "exec"), g)
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
            if not isinstance(e.code, int) and e.code is not None:
                sys.stderr.write(str(e.code) + "\n")
        except BaseException:
            import traceback
            traceback.print_exc()
            code = 1
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)
    try:
        exec(compile(job["program"], "solution.py", "exec"), g)
        parts = job["fn_name"].split(".")
        target = g[parts[0]]
        if len(parts) == 2:
            target = getattr(target(), parts[1])
        value = target(*case)
        msg = {"status": "ok", "value": _encode(value)}
    except BaseException as e:
        msg = {"status": "error", "message": _msg(e)}
    try:
        sys.stdout.flush()
    except Exception:
        pass
    try:
        data = json.dumps(msg, default=repr).encode()
    except Exception as e:  # a value JSON cannot write is reported, not lost with the child
        data = json.dumps({"status": "error", "message": "return value not encodable: %s" % _msg(e)}).encode()
    while data:
        n = os.write(val_w, data)
        data = data[n:]
    os._exit(0)
