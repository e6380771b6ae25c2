"""A dependency-free progress bar for the exec CLI and ``Executor.run(progress=True)``."""

from __future__ import annotations

import sys
import time
from collections import Counter


class Progress:
    def __init__(self, total: int, label: str = "", stream=None, every_s: float = 0.5):
        self.total, self.label, self.n = total, label, 0
        self.counts: Counter = Counter()
        self.stream = stream or sys.stderr
        self.t0 = self._last = time.monotonic()
        self.every_s = every_s
        self.tty = getattr(self.stream, "isatty", lambda: False)()

    def update(self, n: int = 1, status: str | None = None) -> None:
        self.n += n
        if status:
            self.counts[status] += n
        now = time.monotonic()
        if now - self._last >= self.every_s or self.n >= self.total:
            self._last = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        rate = self.n / max(now - self.t0, 1e-9)
        width = 30
        filled = int(width * self.n / max(self.total, 1))
        counts = " ".join(f"{k}={v}" for k, v in sorted(self.counts.items()))
        line = (f"{self.label} [{'#' * filled}{'.' * (width - filled)}] {self.n}/{self.total} "
                f"{rate:.1f} jobs/s {counts}")
        if self.tty:
            self.stream.write("\r" + line)
        elif self.n >= self.total or int(now - self.t0) % 10 == 0:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()

    @property
    def rate(self) -> float:
        return self.n / max(time.monotonic() - self.t0, 1e-9)
