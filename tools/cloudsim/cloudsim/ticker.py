"""A background thread that calls a function at a fixed interval until stopped (timeout checks)."""

from __future__ import annotations

import logging
import threading
from typing import Callable, Optional


class Ticker:
    def __init__(self, tick: Callable[[], None], name: str, log: logging.Logger) -> None:
        self._tick = tick
        self._name = name
        self._log = log
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def start(self, interval: float) -> None:
        def run() -> None:
            while not self._stop.wait(interval):
                try:
                    self._tick()
                except Exception:  # one failed tick must not end the timeouts for good
                    self._log.exception("timeout tick failed")

        self._thread = threading.Thread(target=run, name=self._name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
