"""Live progress of a synth run: one status line per stage every few seconds, and the closing funnel.

The runner owns one ``Heartbeat`` per run.  When a stage starts it prints at once::

    [synth 7/15 solve] started: 40 rows in

and then, every ``heartbeat_s`` seconds (config key; 0 turns it off) while the stage runs::

    [synth 7/15 solve] 0:00:12 | rows in 40 | llm 120/400 req 2.1 req/s 1,830 tok/s | ETA 0:02:13
    [synth 9/15 verify] 0:00:30 | rows in 80 | jobs 64/80 4.2/s | ETA 0:00:04

LLM numbers come from the backends' own counters (``kodcode.llm`` ``LLMStats``), work units from
``ctx.checkpoint`` (verify, convert and respond report their sandbox jobs that way) and from
``ctx.work(label, total)`` for any other loop.  The same numbers go to W&B as
``progress/<stage>/<name>`` when a run is tracked.  Lines go to stderr, so they show on a terminal
and in a Slurm log alike, and a stage's output on stdout stays clean.  At the end the runner prints
``funnel_table(summary)``: rows in and out, drops, time and LLM use per stage.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass


@dataclass
class Work:
    """A counted loop inside a stage (``done`` of ``total`` units)."""

    label: str
    total: int
    done: int = 0
    started: float = 0.0

    def advance(self, n: int = 1) -> None:
        self.done += n


def _hms(seconds: float) -> str:
    s = int(max(0, seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


class Heartbeat:
    def __init__(self, llms: dict, n_stages: int, interval_s: float = 3.0, stream=None, tracker=None):
        self._llms = llms  # the run's live backends (RunState._llms): read, never changed here
        self.n_stages, self.interval_s, self.tracker = n_stages, interval_s, tracker
        self.stream = stream if stream is not None else sys.stderr
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.stage: str | None = None
        self.index = 0
        self.rows_in = 0
        self.started = 0.0
        self.works: list[Work] = []
        self._llm_before: dict[str, tuple[int, int, int, int]] = {}

    # -- what the runner calls -------------------------------------------------------------
    def start_stage(self, name: str, index: int, rows_in: int) -> None:
        with self._lock:
            self.stage, self.index, self.rows_in = name, index, rows_in
            self.started = time.monotonic()
            self.works = []
            self._llm_before = {k: self._llm_counts(v) for k, v in self._llms.items()}
        self._say(f"started: {rows_in:,} rows in")
        if self.interval_s > 0 and self._thread is None:
            self._thread = threading.Thread(target=self._beat, name="synth-heartbeat", daemon=True)
            self._thread.start()

    def end_stage(self, rows_out: int, seconds: float) -> None:
        self._say(f"done in {_hms(seconds)}: {self.rows_in:,} rows in, {rows_out:,} out")
        with self._lock:
            self.stage = None

    def work(self, label: str, total: int) -> Work:
        w = Work(label, total, 0, time.monotonic())
        with self._lock:
            self.works.append(w)
        return w

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    # -- the status line -------------------------------------------------------------------
    @staticmethod
    def _llm_counts(llm) -> tuple[int, int, int, int]:
        s = llm.stats
        return s.requests, s.cached + s.generated, s.generated, getattr(s, "completion_tokens", 0)

    def snapshot(self) -> dict[str, float]:
        """The numbers of the status line (also what W&B gets)."""
        with self._lock:
            now = time.monotonic()
            elapsed = max(now - self.started, 1e-9)
            out: dict[str, float] = {"elapsed_s": elapsed, "rows_in": self.rows_in}
            asked = done = generated = tokens = 0
            for key, llm in list(self._llms.items()):
                before = self._llm_before.get(key, (0, 0, 0, 0))
                now_c = self._llm_counts(llm)
                asked, done, generated, tokens = (a + n - b for a, n, b in
                                                  zip((asked, done, generated, tokens), now_c, before))
            if asked:
                out.update(llm_requests=asked, llm_done=done, llm_req_per_s=generated / elapsed,
                           llm_tok_per_s=tokens / elapsed)
                if generated and done < asked:
                    out["eta_s"] = (asked - done) / (generated / elapsed)
            for w in self.works:
                rate = w.done / max(now - w.started, 1e-9)
                out[f"{w.label}_done"], out[f"{w.label}_total"], out[f"{w.label}_per_s"] = w.done, w.total, rate
                if w.done and w.done < w.total:
                    out["eta_s"] = max(out.get("eta_s", 0.0), (w.total - w.done) / rate)
            return out

    def line(self) -> str:
        snap = self.snapshot()
        parts = [_hms(snap["elapsed_s"]), f"rows in {int(snap['rows_in']):,}"]
        if "llm_requests" in snap:
            parts.append(f"llm {int(snap['llm_done']):,}/{int(snap['llm_requests']):,} req "
                         f"{snap['llm_req_per_s']:.1f} req/s {snap['llm_tok_per_s']:,.0f} tok/s")
        for w in list(self.works):
            parts.append(f"{w.label} {w.done:,}/{w.total:,} {snap[f'{w.label}_per_s']:.1f}/s")
        parts.append(f"ETA {_hms(snap['eta_s'])}" if "eta_s" in snap else "ETA -")
        return " | ".join(parts)

    def _say(self, text: str) -> None:
        print(f"[synth {self.index + 1}/{self.n_stages} {self.stage}] {text}", file=self.stream, flush=True)

    def _beat(self) -> None:
        while not self._stop.wait(self.interval_s):
            if self.stage is None:
                continue
            self._say(self.line())
            if self.tracker is not None:
                from kodcode.tracking import log_scalars

                log_scalars(self.tracker, {f"progress/{self.stage}/{k}": v for k, v in self.snapshot().items()})


def funnel_table(summary: dict) -> str:
    """Rows in and out, drops, seconds and LLM use per stage, as a fixed-width text table."""
    head = ("stage", "status", "rows in", "rows out", "change", "seconds", "llm req", "llm tokens")
    rows = []
    for name, info in summary.get("stages", {}).items():
        c = info.get("counts", {})
        rin, rout = c.get("input"), c.get("output")
        change = f"{rout - rin:+,}" if isinstance(rin, int) and isinstance(rout, int) else ""
        llm = info.get("llm") or {}
        req = sum(v.get("generated", 0) for v in llm.values())
        tok = sum(v.get("completion_tokens", 0) for v in llm.values())
        secs = info.get("seconds")
        rows.append((name, info.get("status", ""), "" if rin is None else f"{rin:,}",
                     "" if rout is None else f"{rout:,}", change, "" if secs is None else f"{secs:.1f}",
                     f"{req:,}" if llm else "", f"{tok:,}" if llm else ""))
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    fmt = lambda r: "  ".join(str(v).ljust(w) if i < 2 else str(v).rjust(w) for i, (v, w) in enumerate(zip(r, widths)))
    return "\n".join([fmt(head), fmt(tuple("-" * w for w in widths)), *map(fmt, rows)])
