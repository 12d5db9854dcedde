"""Work spread over processes, in order, that always ends: the one process pool of vnsearch.

``multiprocessing.Pool`` replaces a worker that dies (the out-of-memory killer's SIGKILL) and
waits for ever for the task it held; ``concurrent.futures.ProcessPoolExecutor`` raises
``BrokenProcessPool`` instead, which :func:`ordered_map` turns into :class:`WorkerDiedError`.
Workers ignore SIGINT (Ctrl-C reaches the whole process group; the parent alone stops the
work) and die with their parent on Linux. Whatever ends the map (an error, Ctrl-C, a closed
generator), the workers are terminated before it returns, so nothing is left running.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Generic, TypeVar

from ._errors import VnSearchError

T = TypeVar("T")
R = TypeVar("R")


class WorkerDiedError(VnSearchError):
    """A worker process ended abruptly (killed, e.g. by the out-of-memory killer)."""


def _init_worker(initializer: Callable[..., None] | None, initargs: tuple[Any, ...]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):  # die with the parent instead of idling for ever
            ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    if initializer is not None:
        initializer(*initargs)


def _context() -> Any:
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def start_method() -> str:
    """``fork`` where the platform has it (workers share the parent's loaded model), else ``spawn``."""
    return str(_context().get_start_method())


@contextlib.contextmanager
def _sigint_deferred() -> Iterator[None]:
    """Hold a Ctrl-C back while workers may be forked (a new worker inherits the handler and must
    not die of it before its initializer ignores SIGINT), then act on it as usual."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[Any] = []
    old = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(frame))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)
        if caught and callable(old):
            old(signal.SIGINT, caught[0])  # Python's default handler raises KeyboardInterrupt


def _stop(executor: ProcessPoolExecutor) -> None:
    """End the workers now (they may be busy with a long task), then the pool's threads."""
    for proc in list((getattr(executor, "_processes", None) or {}).values()):
        with contextlib.suppress(Exception):
            proc.terminate()
    executor.shutdown(wait=True, cancel_futures=True)


def ordered_map(fn: Callable[[T], R], items: Iterable[T], workers: int, *,
                initializer: Callable[..., None] | None = None, initargs: tuple[Any, ...] = (),
                ahead: int = 2, what: str = "a worker process",
                terminate: bool = True) -> Generator[R, None, None]:
    """``fn(item)`` for each item, computed by ``workers`` processes and yielded in item order.

    At most ``ahead * workers`` items are in the workers' hands at a time, so memory does not
    grow with the input. ``fn`` and the items must be picklable. Raises
    :class:`WorkerDiedError` if a worker dies; any exception ``fn`` raises comes through as is.

    Stopped early (an error, Ctrl-C, a generator closed or dropped half-way), the workers are
    terminated at once when ``terminate`` (long tasks with small results); otherwise the tasks
    not started are cancelled and the running ones finish first. Give ``terminate=False`` where
    results are large: a worker killed while it writes a result leaves half a message in the
    pipe, and the pool's thread then waits for the rest for ever.
    """
    executor = ProcessPoolExecutor(max_workers=workers, mp_context=_context(),
                                   initializer=_init_worker, initargs=(initializer, initargs))
    # The pool's feeder thread may block for ever writing to a pipe whose read end another
    # pool's forked workers inherited (the analysis pool forks while the JSONL pool runs): the
    # pool's shutdown must not wait for it. It is a daemon thread; what it holds is either
    # delivered (the process lives on) or no longer wanted (the pool is being stopped).
    queue = getattr(executor, "_call_queue", None)
    if queue is not None:
        queue.cancel_join_thread()
    pending: deque[Future[R]] = deque()
    finished = False
    try:
        source = iter(items)
        exhausted = False
        while True:
            while not exhausted and len(pending) < ahead * workers:
                try:
                    item = next(source)
                except StopIteration:
                    exhausted = True
                    break
                with _sigint_deferred():
                    pending.append(_broken_is_death(executor.submit, what, fn, item))
            if not pending:
                break
            result = _broken_is_death(pending[0].result, what)
            pending.popleft()
            yield result
        finished = True
    finally:
        if finished:
            executor.shutdown(wait=True)
        elif terminate:
            _stop(executor)
        else:
            executor.shutdown(wait=True, cancel_futures=True)


def _broken_is_death(call: Callable[..., R], what: str, *args: Any) -> R:
    """``call(*args)``, a broken pool (raised by ``submit`` or ``result``) told as what it is."""
    try:
        return call(*args)
    except BrokenProcessPool as exc:
        raise WorkerDiedError(
            f"{what} ended abruptly (killed, perhaps by the out-of-memory killer); everything "
            "committed so far is kept: run the same command again to continue") from exc


class BackgroundJob(Generic[R]):
    """``fn(*args)`` in a process of its own (a merge while an import goes on), with the same
    guarantees as :func:`ordered_map`: its death is a :class:`WorkerDiedError`, not a wait for
    ever; it ignores Ctrl-C and dies with its parent; :meth:`abort` ends it at once."""

    def __init__(self, fn: Callable[..., R], *args: Any, initializer: Callable[..., None] | None = None,
                 initargs: tuple[Any, ...] = (), what: str = "a worker process") -> None:
        self._what = what
        self._executor = ProcessPoolExecutor(max_workers=1, mp_context=_context(),
                                             initializer=_init_worker, initargs=(initializer, initargs))
        queue = getattr(self._executor, "_call_queue", None)
        if queue is not None:
            queue.cancel_join_thread()  # as in ordered_map
        with _sigint_deferred():
            self._future = self._executor.submit(fn, *args)

    def ready(self) -> bool:
        """True once the call has ended (done, failed or died)."""
        return self._future.done()

    def result(self) -> R:
        """The call's result (waits for it); the process is then ended either way."""
        try:
            value = _broken_is_death(self._future.result, self._what)
        except BaseException:
            self.abort()
            raise
        self._executor.shutdown(wait=True)
        return value

    def abort(self) -> None:
        _stop(self._executor)
