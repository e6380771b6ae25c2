"""Scripted replies for runner tests, with a request log and an optional hard kill after N requests.

RUNNER_LOG: file that receives one line per request the backend actually got.
RUNNER_KILL_AT: when the log reaches this many lines, the process SIGKILLs itself (a crash
mid-stage that no exception handler can tidy up after).
"""

import os
import signal


def reply(request):
    text = request.messages[-1]["content"] if request.messages else request.prompt
    log = os.environ.get("RUNNER_LOG")
    if log:
        with open(log, "a") as f:
            f.write(request.cache_key("scripted", "log")[:16] + "\n")
        kill_at = int(os.environ.get("RUNNER_KILL_AT", "0"))
        if kill_at and sum(1 for _ in open(log)) >= kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
    if request.prompt is not None:
        return [f" do thing {i}" for i in range(request.n)]
    tail = text.strip().splitlines()[-3][:60] if len(text.strip().splitlines()) >= 3 else text[:60]
    return f"[Question 9]: A question inspired by: {tail}"
