"""What the runners share: the stream outcomes are written to the moment they exist, how an exception
is classified, and what one job's tamper checks cover."""

import json
import os

from .state import STATE


class _Emitter(object):
    """Writes each outcome and flag to the result pipe the moment it exists.

    The engine takes outcomes only from this stream (one line per test phase) and treats a phase
    reported twice as forged, so a job thread that later rewrites the runner's in-memory lists, or
    writes records of its own, changes nothing or is caught."""

    def __init__(self):
        self.fd = None

    def emit(self, rec):
        if self.fd is None:
            return
        data = b"\n" + json.dumps(rec, default=repr).encode() + b"\n"
        while data:
            n = os.write(self.fd, data)
            data = data[n:]


def _classify(exc, outcomes):
    if isinstance(exc, (outcomes.Exit, KeyboardInterrupt)):
        return "interrupted"
    if isinstance(exc, outcomes.XFailed):
        return "xfailed"
    if isinstance(exc, outcomes.Skipped):
        return "skipped"
    return "failed"


def _msg(exc):
    try:
        text = "%s: %s" % (type(exc).__name__, exc)
    except Exception:
        text = type(exc).__name__
    return text[:500]


def _libraries_reached(p, namespace, flag):
    """The library snapshot one job compares: the packages its test's source imports (``p["libs"]``) and
    those the test module's namespace reaches only through other names (``np`` from the solution's
    ``import *``).  A name bound to an impostor of a watched module is flagged."""
    reached, impostors = p["scan"](namespace)
    for k in impostors:
        flag("tampered:module bound to %s" % k)
    return p["only"](p["roots"] | reached) if reached - p["roots"] else p["libs"]


def note_test_classes(namespace, classes):
    """The test module's own classes (by identity, once its code has run): an object of one of them
    compares as the test's author made it compare (a tolerance class, a sentinel)."""
    name = namespace.get("__name__")
    found = STATE.setdefault("test_classes", set())
    for k in classes:
        v = namespace.get(k)
        if isinstance(v, type) and getattr(v, "__module__", None) == name:
            found.add(v)
