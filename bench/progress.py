"""A progress bar on stderr, so stdout carries only the JSON lines."""

from __future__ import annotations

import sys
import time


def say(message: str) -> None:
    sys.stderr.write(f"[bench] {message}\n")
    sys.stderr.flush()


class Progress:
    """`Progress(total, label)`; `advance(n)`; `done()`. Redraws at most ten times a second
    on a terminal; elsewhere (a log, CI) prints a line every tenth of the way."""

    def __init__(self, total: int, label: str, *, width: int = 30, stream=None) -> None:
        self.total = max(total, 1)
        self.label = label
        self.width = width
        self.stream = stream or sys.stderr
        self.count = 0
        self.stage = ""
        self.started = time.monotonic()
        self._drawn_at = 0.0
        self._tenth = -1
        self._tty = getattr(self.stream, "isatty", lambda: False)()

    def advance(self, n: int = 1, *, stage: str | None = None) -> None:
        self.count = min(self.count + n, self.total)
        if stage is not None:
            self.stage = stage
        self._draw()

    def set_stage(self, stage: str) -> None:
        self.stage = stage
        self._draw(force=True)

    def _draw(self, *, force: bool = False) -> None:
        fraction = self.count / self.total
        if self._tty:
            now = time.monotonic()
            if not force and now - self._drawn_at < 0.1 and self.count < self.total:
                return
            self._drawn_at = now
            filled = int(self.width * fraction)
            bar = "#" * filled + "-" * (self.width - filled)
            self.stream.write(
                f"\r[bench] {self.label} [{bar}] {fraction:6.1%} {self.stage:<28.28}"
                f" {now - self.started:5.0f} s"
            )
        else:
            tenth = int(fraction * 10)
            if tenth == self._tenth and not force:
                return
            self._tenth = tenth
            self.stream.write(
                f"[bench] {self.label} {fraction:6.1%} {self.stage}"
                f" ({time.monotonic() - self.started:.0f} s)\n"
            )
        self.stream.flush()

    def done(self) -> None:
        self.count = self.total
        self._draw(force=True)
        if self._tty:
            self.stream.write("\n")
            self.stream.flush()
