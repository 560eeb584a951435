"""Bounded waits for MPI collectives: a rank whose peer died or hangs leaves with one line instead of hanging.

``Watchdog(timeout, fail)`` starts a daemon thread that calls ``fail(reason)`` (which must end the process) when a
``with watchdog.waiting(what):`` block has lasted longer than ``timeout`` seconds, or when SIGTERM arrives (what
Open MPI's and MPICH's launchers send the surviving ranks when one dies). The main thread is then usually blocked
inside MPI with the GIL released, where no Python signal handler runs: the signal reaches the thread through
``signal.set_wakeup_fd`` (set up only when the watchdog is made on the main thread and SIGTERM has no handler yet).
"""

from __future__ import annotations

import os
import select
import signal
import threading
import time
from contextlib import contextmanager


class Watchdog:
    def __init__(self, timeout: float, fail):
        self.timeout, self.fail = float(timeout), fail
        self._deadline: float | None = None
        self._what = ""
        rfd = None
        if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
            rfd, wfd = os.pipe()
            os.set_blocking(wfd, False)
            signal.set_wakeup_fd(wfd, warn_on_full_buffer=False)
            signal.signal(signal.SIGTERM, lambda signum, frame: None)  # the thread below acts on it
        threading.Thread(target=self._watch, args=(rfd,), name="gatedrnn-mpi-watchdog", daemon=True).start()

    @contextmanager
    def waiting(self, what: str):
        """The block is one wait on the other ranks (``what`` names it in the message)."""
        self._deadline, self._what = time.monotonic() + self.timeout, what
        try:
            yield
        finally:
            self._deadline = None

    def _watch(self, rfd) -> None:
        tick = min(1.0, self.timeout / 4)
        while True:
            if rfd is None:
                time.sleep(tick)
            elif select.select([rfd], [], [], tick)[0] and signal.SIGTERM in os.read(rfd, 64):
                self.fail("terminated by the MPI launcher (another rank died, or the job was cancelled)")
            deadline = self._deadline
            if deadline is not None and time.monotonic() > deadline:
                self.fail(f"no answer from the other ranks within {self.timeout:g} s while {self._what} (a rank "
                          f"died or hangs; GATEDRNN_MPI_TIMEOUT sets the limit)")
