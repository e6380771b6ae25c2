"""Jobs that run one after another on the same worker do not see each other, and cannot touch it.

A worker is init of its slot's PID and network namespaces, and before each job it mounts a fresh
``/tmp`` and ``/dev/shm``; each job gets new IPC and UTS namespaces.  So what one job leaves must not
reach the next one: files in ``/tmp`` or ``/dev/shm``, a port it closed (TIME_WAIT), SysV shared
memory, zombies of its orphans.  And the worker, which each job sees as
PID 1, must keep serving after a job signals it or tries to read it.

    .venv/bin/python -m pytest tests/exec/test_shared_worker.py -q
"""

from __future__ import annotations

import errno
import os
import socket
import sys

import pytest
from hostile_jobs import WORKER_ATTACKS as WORKER

from kodcode.exec import ExecConfig, Executor, PytestJob

pytestmark = [
    pytest.mark.skipif(sys.platform != "linux", reason="Linux namespaces"),
    pytest.mark.timeout(300),
]

PORT = 20000 + os.getpid() % 20000

SERVE_ONCE = f"""
import socket

PORT = {PORT}


def serve_once(port=PORT):
    # The server side closes first, so its end of the connection (local port PORT) enters TIME_WAIT.
    srv = socket.socket()
    srv.bind(("127.0.0.1", port))
    srv.listen(1)
    cli = socket.create_connection(("127.0.0.1", port))
    conn, _ = srv.accept()
    conn.sendall(b"hi")
    conn.close()
    data = cli.recv(10)
    cli.close()
    srv.close()
    return data


def bind_plain(port=PORT):
    s = socket.socket()  # no SO_REUSEADDR, like many hand-written servers
    try:
        s.bind(("127.0.0.1", port))
    finally:
        s.close()
    return True
"""

SHM = """
import ctypes

libc = ctypes.CDLL(None, use_errno=True)
KEY, IPC_CREAT = 0x6B6F64, 0o1000


def create_segment():
    return libc.shmget(KEY, 4096, IPC_CREAT | 0o666)


def find_segment():
    return libc.shmget(KEY, 0, 0)
"""

ORPHANS = """
import os
import time


def orphans(batches, per_batch, pause, linger=0.05):
    # Each grandchild outlives its parent for a moment and exits as an orphan: reparented to the
    # worker, it stays a zombie (counted against the job's process limit) until the worker reaps it.
    for _ in range(batches):
        for _ in range(per_batch):
            pid = os.fork()
            if pid == 0:
                code = 1
                try:
                    if os.fork() == 0:
                        time.sleep(linger)
                    code = 0
                finally:
                    os._exit(code)
            if os.waitpid(pid, 0)[1] != 0:
                raise OSError("fork failed: process limit reached")
        time.sleep(pause)
    return batches * per_batch
"""



def _host_time_wait_blocks_rebind() -> bool:
    """The control: outside the sandbox the same two steps do collide (TIME_WAIT holds the port)."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    ns: dict = {}
    exec(SERVE_ONCE, ns)
    assert ns["serve_once"](port) == b"hi"
    try:
        ns["bind_plain"](port)
    except OSError as e:
        return e.errno == errno.EADDRINUSE
    return False


@pytest.fixture(scope="module")
def executor():
    with Executor(ExecConfig(workers=1, timeout_s=10, max_procs=32)) as ex:
        if ex.isolation != "namespaces":
            pytest.skip("needs the namespaces sandbox (user namespaces or root)")
        yield ex


def test_a_port_closed_by_one_job_is_free_for_the_next(executor):
    if not _host_time_wait_blocks_rebind():  # the control: the collision exists at all on this kernel
        pytest.skip("this host's kernel keeps no TIME_WAIT socket that blocks a plain rebind")
    first, second = executor.run(
        [
            PytestJob(SERVE_ONCE, "def test_serve():\n    assert serve_once() == b'hi'\n"),
            PytestJob(SERVE_ONCE, "def test_bind():\n    assert bind_plain()\n"),
        ]
    )
    assert first.status == "pass", first.message
    assert second.status == "pass", (second.message, [t.message for t in second.tests])


LEFTOVERS = """
import os

PATHS = ["/tmp/leftover.txt", "/dev/shm/leftover.txt", os.path.join(os.getcwd(), "leftover.txt")]


def leave_files():
    for p in PATHS:
        with open(p, "w") as f:
            f.write("from the last job")
    return all(os.path.exists(p) for p in PATHS)


def found_files():
    return [p for p in PATHS if os.path.exists(p)]
"""


def test_files_a_job_leaves_in_tmp_are_gone_for_the_next(executor):
    left, looked = executor.run(
        [
            PytestJob(LEFTOVERS, "def test_leave():\n    assert leave_files()\n"),
            PytestJob(LEFTOVERS, "def test_look():\n    assert found_files() == []\n"),
        ]
    )
    assert left.status == "pass", (left.message, [t.message for t in left.tests])
    assert looked.status == "pass", (looked.message, [t.message for t in looked.tests])


def test_shared_memory_does_not_outlive_its_job(executor):
    made, found = executor.run(
        [
            PytestJob(SHM, "def test_create():\n    assert create_segment() >= 0\n"),
            PytestJob(SHM, "def test_find():\n    assert find_segment() >= 0\n"),
        ]
    )
    assert made.status == "pass", made.message
    assert found.status == "fail", found.message  # the segment went with the first job's IPC namespace


def test_orphans_are_reaped_while_the_job_runs(executor):
    # 60 orphans over 4 s with a limit of 32 processes: passes only if zombies are reaped in between.
    v = executor.run([PytestJob(ORPHANS, "def test_orphans():\n    assert orphans(6, 10, 0.7) == 60\n")])[0]
    assert v.status == "pass", (v.message, [t.message for t in v.tests])
    # The control: the same number alive at once exceeds the limit (each lingers 3 s, so this does not
    # depend on how fast the machine forks).
    v = executor.run([PytestJob(ORPHANS, "def test_orphans():\n    assert orphans(1, 60, 0, 3.0) == 60\n")])[0]
    assert v.status != "pass"


def test_keyboard_interrupt_still_works_in_jobs(executor):
    test = (
        "import os, signal, time\nimport pytest\n\n\ndef test_sigint():\n"
        "    with pytest.raises(KeyboardInterrupt):\n        os.kill(os.getpid(), signal.SIGINT)\n"
        "        time.sleep(2)\n"
    )
    v = executor.run([PytestJob("X = 1\n", test)])[0]
    assert v.status == "pass", (v.message, [t.message for t in v.tests])


def test_the_worker_cannot_be_read_or_signalled_by_a_job(executor):
    worker = executor._workers[0]
    before = worker.proc.pid
    read, signalled, after = executor.run(
        [
            PytestJob(WORKER, "def test_read():\n    assert read_worker()\n"),
            PytestJob(WORKER, "def test_signal():\n    assert signal_worker()\n"),
            PytestJob("def f():\n    return 1\n", "def test_f():\n    assert f() == 1\n"),
        ]
    )
    assert read.status == "fail", (read.message, [t.message for t in read.tests])
    assert signalled.status == "pass"
    assert after.status == "pass", after.message
    assert worker.proc.pid == before and worker.alive(), "the worker had to be restarted"
