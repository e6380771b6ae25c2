"""The worker program of the execution engine: the code that runs in the job interpreter.

``zygote`` is its entry point (one process per slot, forking one sandboxed child per job); ``isolation``,
``job``, ``libc``, ``seccomp`` and ``slot`` set up the sandbox; ``runners``, ``fastpath``, ``session``
and ``cases`` run the job; ``rewrite``, ``checks`` and ``snapshot`` are what the job knows of its test.

Every module is standard library only and valid on Python 3.9+: the job interpreter is whatever
``exec.python`` names.  The engine compiles each module with that interpreter and hands the compiled
code to it by value (``kodcode.exec.engine``), because the package's own files may sit under a
directory the job's filesystem view masks.  On the host they are ordinary modules (linted, unit-tested).
"""
