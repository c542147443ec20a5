"""A wall-clock deadline for pure CPU work in the calling thread, such as expanding a calendar.

Why an exception raised into the thread: the work can sit inside one call of a library for
seconds (dateutil walks a rule whose BYxxx parts never match, day after day, up to the year
9999, before it returns), where no check of ours runs. A timer thread raises DeadlinePassed in
the working thread (CPython's PyThreadState_SetAsyncExc): it arrives at the next bytecode, so
pure Python work stops within microseconds, and a call into C code when it returns. Only for
work that holds no lock and changes nothing shared: it may stop anywhere inside it.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class DeadlinePassed(Exception):
    """The work under `cpu_deadline` ran past its deadline."""


def _raise_in(thread_id: int, exception: type[BaseException] | None) -> None:
    # None clears an exception set but not raised yet.
    target = ctypes.py_object(exception) if exception is not None else None
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), target)


@contextmanager
def cpu_deadline(seconds: float) -> Iterator[None]:
    """Raise DeadlinePassed in the block if it runs longer than `seconds`."""
    thread_id = threading.get_ident()
    lock = threading.Lock()
    state = {"inside": True, "fired": False}

    def fire() -> None:
        with lock:  # never into the thread once it has left the block
            if state["inside"]:
                state["fired"] = True
                _raise_in(thread_id, DeadlinePassed)

    timer = threading.Timer(seconds, fire)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        with lock:
            state["inside"] = False
            if state["fired"]:
                _raise_in(thread_id, None)  # fired as the block ended: not raised after it
        if state["fired"]:
            raise DeadlinePassed
