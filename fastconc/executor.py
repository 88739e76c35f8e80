"""fastconc.ThreadPoolExecutor: a drop-in concurrent.futures.ThreadPoolExecutor
that is much cheaper per task.

It is a subclass of the stdlib class (``isinstance`` holds, asyncio accepts
it as a default executor) and keeps its semantics: real
``concurrent.futures.Future`` objects, the same thread naming, initializer
failures that break the pool with ``BrokenThreadPool``, ``shutdown(wait,
cancel_futures)``, and queued work that still runs at interpreter exit (the
workers are registered with the stdlib's exit hook).  What differs is the
machinery:

- the task queue is ``_core.WorkQueue`` (C), which also knows how many
  workers are idle, so ``submit`` needs no semaphore;
- the worker loop is ``_core._worker_loop`` (C): no Python frame per task;
- ``map`` sends chunks of items as single work items (no Future per item),
  honours ``chunksize`` and ``buffersize`` on every Python version, and
  still yields each result as soon as it is computed, so ``timeout`` and
  exceptions surface at the right position.
"""
from __future__ import annotations

import collections
import itertools
import queue
import threading
import time
import weakref
from concurrent.futures import _base
from concurrent.futures import thread as _thread
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Iterable,
    Iterator,
    Optional,
    Sequence,
    TypeVar,
    Union,
)

from . import _core

if TYPE_CHECKING:
    from typing_extensions import ParamSpec

    _P = ParamSpec("_P")

__all__ = ["ThreadPoolExecutor", "BrokenThreadPool", "run_batches"]

BrokenThreadPool = _thread.BrokenThreadPool

# A worker that has just run a task spins briefly (detached, yielding its
# CPU between polls) for the next one before it sleeps, and result() first
# waits in WorkQueue.wait_done() (the GIL released: a short spin yielding
# the CPU, then a sleep until a worker has finished a task and let go of
# the GIL), so that neither side of a quick round trip sleeps on the GIL:
# see executor.c.  Spins that did not yield the CPU between polls made
# round trips 1.5-3x slower on the 2-core build box.

# Automatic map chunks never hold more items than this.
_MAX_AUTO_CHUNK = 1024

_allocate_lock = threading.Lock
_allocate_rlock = threading.RLock

_T = TypeVar("_T")
_I = TypeVar("_I")
_R = TypeVar("_R")
# A map() work item: the arguments of one call of fn.
_Args = tuple[Any, ...]


def _worker(executor_reference: "weakref.ref[ThreadPoolExecutor]",
            work_queue: _core.WorkQueue,
            initializer: Optional[Callable[..., object]],
            initargs: tuple[Any, ...]) -> None:
    if initializer is not None:
        try:
            initializer(*initargs)
        except BaseException:
            _base.LOGGER.critical("Exception in initializer:", exc_info=True)
            executor = executor_reference()
            if executor is not None:
                executor._initializer_failed()
            return

    def on_none() -> bool:
        # A None wakes workers up: exit if the interpreter or the executor is
        # shutting down, or if the executor was collected (as the stdlib).
        executor = executor_reference()
        if _thread._shutdown or executor is None or executor._shutdown:
            if executor is not None:
                executor._shutdown = True
            work_queue.put(None)     # pass the word on to the next worker
            return True
        return False

    try:
        _core._worker_loop(work_queue, on_none)
    except BaseException:
        _base.LOGGER.critical("Exception in worker", exc_info=True)


# How long map()'s consumer sleeps before it looks again for itself.
_WAKE_SLICE = 0.05


class _MapChunk:
    """Items of one map() work item, run in order by one worker; results
    are published one by one so the consumer never waits for the whole
    chunk."""

    __slots__ = ("fn", "items", "results", "exc", "stop", "waiter", "future",
                 "__weakref__")

    def __init__(self, fn: Callable[..., object], items: list[_Args]) -> None:
        self.fn: Optional[Callable[..., object]] = fn
        self.items = items
        self.results: list[object] = []
        self.exc: Optional[BaseException] = None
        self.stop = False
        self.waiter: Optional[threading.Lock] = None
        self.future: Optional[_base.Future[None]] = None

    def run(self) -> None:
        fn = self.fn
        if fn is None:      # already run (each chunk is submitted once)
            return
        append = self.results.append
        for args in self.items:
            if self.stop:
                break
            try:
                r = fn(*args)
            except BaseException as e:
                # The rest of the chunk is cancelled: the consumer raises
                # at this position and cancels what follows.  (The
                # traceback keeps this frame: it must not keep the
                # previous result in r.)
                r = None
                self.exc = e
                break
            append(r)
            if self.waiter is not None:
                self.wake()
        self.fn = None

    def wake(self, _future: object = None) -> None:
        w = self.waiter
        if w is not None:
            self.waiter = None
            try:
                w.release()
            except RuntimeError:    # woken twice (worker and done callback)
                pass

    def cancel(self) -> None:
        self.stop = True
        fut = self.future
        if fut is not None:
            self.future = None      # see _map_results: no cycle left behind
            fut.cancel()

    def wait(self, k: int, end_time: Optional[float]) -> object:
        """Return result k, raising its exception, a timeout, or the
        future's cancellation/breakage."""
        results = self.results
        while True:
            if len(results) > k:
                r = results[k]
                results[k] = None       # keep no reference to yielded results
                return r
            if self.exc is not None and len(results) == k:
                raise self.exc
            fut = self.future
            if fut is not None and fut.done():
                if fut.cancelled():
                    raise _base.CancelledError()
                e = fut.exception()
                if e is not None:
                    raise e
                if len(results) <= k and self.exc is None:
                    raise _base.CancelledError()
                continue
            w = _allocate_lock()
            w.acquire()
            self.waiter = w
            # Re-check after publishing the waiter: the worker may have
            # appended (or finished) in between.
            if (len(results) > k or self.exc is not None
                    or (fut is not None and fut.done())):
                self.waiter = None
                continue
            # Sleep a slice at a time and re-check: on a free-threaded build
            # nothing orders the worker's append before its read of
            # self.waiter against our store of it before our re-check, so
            # each side can miss the other (a lost wake-up: map() hung on
            # 3.13t); the re-check then finds the result.
            while True:
                slice_ = _WAKE_SLICE
                if end_time is not None:
                    remaining = end_time - time.monotonic()
                    if remaining <= 0:
                        self.waiter = None
                        if len(results) > k:
                            break
                        raise _base.TimeoutError()
                    slice_ = min(remaining, _WAKE_SLICE)
                if w.acquire(timeout=slice_):
                    break
                if (len(results) > k or self.exc is not None
                        or (fut is not None and fut.done())):
                    self.waiter = None
                    break


_PENDING = _base.PENDING
_RUNNING = _base.RUNNING
_CANCELLED = _base.CANCELLED
_CANCELLED_AND_NOTIFIED = _base.CANCELLED_AND_NOTIFIED
_FINISHED = _base.FINISHED
_DONE_STATES = frozenset((_CANCELLED, _CANCELLED_AND_NOTIFIED, _FINISHED))
# Guards the lazy creation of a future's condition (rare: only when some
# thread really has to wait).
_cond_create_lock = threading.Lock()


class _Future(_base.Future[Any]):
    """A concurrent.futures.Future that costs less per task.

    The stdlib future builds a threading.Condition at creation and takes it
    in every transition; most futures of a busy executor are never waited
    for.  Here the state is guarded by a bare (C) RLock, and the Condition
    (built on that same lock, so the stdlib's own wait(), as_completed()
    and the inherited methods stay consistent with ours) is made only when
    someone asks for ``_condition``.  A transition notifies the condition
    only if it exists: a waiter creates it before it checks the state under
    the lock, so no wake-up is lost.  result() waits on a bare lock that the
    next transition releases.
    """

    if TYPE_CHECKING:
        # Defined by the stdlib Future (every version we support), but not
        # declared in its stubs.
        def _invoke_callbacks(self) -> None: ...

    def __init__(self, queue: Optional[_core.WorkQueue] = None) -> None:
        # No super().__init__(): it would build the Condition.  An RLock,
        # as the stdlib's: wait() calls f.exception() with the condition of
        # every future held.
        self._fc_lock = _allocate_rlock()
        # The executor's queue, whose wait_done() result() spins on first.
        self._fc_queue = queue
        self._fc_cond: Optional[threading.Condition] = None
        # locks of result() waiters
        self._fc_wakers: Optional[list[threading.Lock]] = None
        self._state = _PENDING
        self._result: Any = None
        self._exception: Optional[BaseException] = None
        self._waiters: list[_base._Waiter] = []
        self._done_callbacks: list[Callable[[_base.Future[Any]], object]] = []

    @property
    def _condition(self) -> threading.Condition:  # type: ignore[override]
        c = self._fc_cond
        if c is None:
            with _cond_create_lock:
                c = self._fc_cond
                if c is None:
                    c = self._fc_cond = threading.Condition(self._fc_lock)
        return c

    def _notify(self) -> None:
        # _fc_lock held.
        c = self._fc_cond
        if c is not None:
            c.notify_all()
        wakers = self._fc_wakers
        if wakers is not None:
            self._fc_wakers = None
            for w in wakers:
                w.release()
        q = self._fc_queue
        if q is not None:
            # result() callers asleep in wait_done() (a worker finishing a
            # task wakes them itself, once it has let go of the GIL).
            q._wake_waiters()

    def cancel(self) -> bool:
        with self._fc_lock:
            if self._state in (_RUNNING, _FINISHED):
                return False
            if self._state in (_CANCELLED, _CANCELLED_AND_NOTIFIED):
                return True
            self._state = _CANCELLED
            self._notify()
        self._invoke_callbacks()
        return True

    def cancelled(self) -> bool:
        return self._state in (_CANCELLED, _CANCELLED_AND_NOTIFIED)

    def running(self) -> bool:
        return self._state == _RUNNING

    def done(self) -> bool:
        return self._state in _DONE_STATES

    def add_done_callback(self,
                          fn: Callable[[_base.Future[Any]], object]) -> None:
        with self._fc_lock:
            if self._state not in _DONE_STATES:
                self._done_callbacks.append(fn)
                return
        try:
            fn(self)
        except Exception:
            _base.LOGGER.exception("exception calling callback for %r", self)

    def _get_result(self) -> Any:
        if self._exception is not None:
            try:
                raise self._exception
            finally:
                # Break a reference cycle with the exception in
                # self._exception
                self = None  # type: ignore[assignment]
        return self._result

    def result(self, timeout: Optional[float] = None) -> Any:
        if self._state == _FINISHED:
            return self._get_result()
        q = self._fc_queue
        if q is not None and (timeout is None or timeout > 0):
            # Wait first in the queue, without the GIL (a short spin, then
            # a sleep of at most about 50 ms): a worker that has taken our
            # task takes the GIL at once instead of sleeping on it, and
            # tells us once it has let go of it again, so that we take it
            # back without sleeping on it either.
            if timeout is None:
                q.wait_done(self)
            else:
                t0 = time.monotonic()
                q.wait_done(self, timeout)
                timeout = max(0.0, timeout - (time.monotonic() - t0))
            if self._state == _FINISHED:
                return self._get_result()
        # Wait on a bare lock that the next transition releases: no
        # Condition to build while the worker waits for our GIL.
        waker = None
        with self._fc_lock:
            if self._state not in _DONE_STATES:
                waker = _allocate_lock()
                waker.acquire()
                if self._fc_wakers is None:
                    self._fc_wakers = [waker]
                else:
                    self._fc_wakers.append(waker)
        if waker is not None:
            if timeout is None:
                waker.acquire()
            elif timeout > 0:
                waker.acquire(timeout=timeout)
        state = self._state
        if state in (_CANCELLED, _CANCELLED_AND_NOTIFIED):
            raise _base.CancelledError()
        if state == _FINISHED:
            try:
                return self._get_result()
            finally:
                self = None  # type: ignore[assignment]
        raise _base.TimeoutError()

    def set_running_or_notify_cancel(self) -> bool:
        with self._fc_lock:
            state = self._state
            if state == _CANCELLED:
                self._state = _CANCELLED_AND_NOTIFIED
                for waiter in self._waiters:
                    waiter.add_cancelled(self)
                # The stdlib notifies nobody here: cancel() already did.
                return False
            if state == _PENDING:
                self._state = _RUNNING
                return True
        _base.LOGGER.critical("Future %s in unexpected state: %s",
                              id(self), state)
        raise RuntimeError("Future in unexpected state")

    def set_result(self, result: Any) -> None:
        with self._fc_lock:
            if self._state in _DONE_STATES:
                raise _InvalidStateError(f"{self._state}: {self!r}")
            self._result = result
            self._state = _FINISHED
            for waiter in self._waiters:
                waiter.add_result(self)
            self._notify()
        self._invoke_callbacks()

    def set_exception(self, exception: Optional[BaseException]) -> None:
        with self._fc_lock:
            if self._state in _DONE_STATES:
                raise _InvalidStateError(f"{self._state}: {self!r}")
            self._exception = exception
            self._state = _FINISHED
            for waiter in self._waiters:
                waiter.add_exception(self)
            self._notify()
        self._invoke_callbacks()


_InvalidStateError = getattr(_base, "InvalidStateError", RuntimeError)


def _check_buffersize(buffersize: Optional[int]) -> None:
    if buffersize is not None:
        if not isinstance(buffersize, int) or isinstance(buffersize, bool):
            raise TypeError("buffersize must be an integer or None")
        if buffersize < 1:
            raise ValueError("buffersize must be None or > 0")


class ThreadPoolExecutor(_thread.ThreadPoolExecutor):
    """concurrent.futures.ThreadPoolExecutor with a C task queue and worker
    loop, and a batching map().  Same constructor and semantics."""

    # The stdlib's stubs give these private attributes narrower types than
    # the stdlib (and this class) really store: its _broken holds the
    # reason string, _threads is a set, and our queue is the C WorkQueue
    # (items are (future, fn, args, kwargs) tuples, not _WorkItem).
    _work_queue: _core.WorkQueue  # type: ignore[assignment]
    _broken: Union[bool, str]  # type: ignore[assignment]
    _threads: set[threading.Thread]

    def __init__(self, max_workers: Optional[int] = None,
                 thread_name_prefix: str = "",
                 initializer: Optional[Callable[..., object]] = None,
                 initargs: tuple[Any, ...] = ()) -> None:
        super().__init__(max_workers, thread_name_prefix, initializer,
                         initargs)
        self._work_queue = _core.WorkQueue()

    def submit(self, fn: Callable[_P, _T], /, *args: _P.args,
               **kwargs: _P.kwargs) -> _base.Future[_T]:
        with self._shutdown_lock, _thread._global_shutdown_lock:
            if self._broken:
                raise BrokenThreadPool(self._broken)
            if self._shutdown:
                raise RuntimeError("cannot schedule new futures after shutdown")
            if _thread._shutdown:
                raise RuntimeError("cannot schedule new futures after "
                                   "interpreter shutdown")
            f = _Future(self._work_queue)
            self._work_queue.put((f, fn, args, kwargs or None))
            if self._work_queue.needs_worker():
                self._adjust_thread_count()
            return f
    submit.__doc__ = _base.Executor.submit.__doc__

    def _adjust_thread_count(self) -> None:
        # Called with more queued items than idle workers.  When the
        # executor gets lost, the weakref callback wakes the workers up.
        def weakref_cb(_: object, q: _core.WorkQueue = self._work_queue) -> None:
            q.put(None)

        num_threads = len(self._threads)
        if num_threads < self._max_workers:
            thread_name = "%s_%d" % (self._thread_name_prefix or self,
                                     num_threads)
            t = threading.Thread(name=thread_name, target=_worker,
                                 args=(weakref.ref(self, weakref_cb),
                                       self._work_queue,
                                       self._initializer,
                                       self._initargs))
            t.start()
            self._threads.add(t)
            # (a WeakKeyDictionary; its stub says read-only Mapping)
            _thread._threads_queues[t] = self._work_queue  # type: ignore[index]

    def __repr__(self) -> str:
        state = ("broken" if self._broken else
                 "shutdown" if self._shutdown else "running")
        return (f"<fastconc.ThreadPoolExecutor max_workers="
                f"{self._max_workers} threads={len(self._threads)} "
                f"{state}>")

    def _initializer_failed(self) -> None:
        with self._shutdown_lock:
            self._broken = ("A thread initializer failed, the thread pool "
                            "is not usable anymore")
            # Drain the work queue and mark pending futures failed.
            while True:
                try:
                    item = self._work_queue.get_nowait()
                except queue.Empty:
                    break
                if item is not None:
                    item[0].set_exception(BrokenThreadPool(self._broken))

    def shutdown(self, wait: bool = True, *,
                 cancel_futures: bool = False) -> None:
        with self._shutdown_lock:
            self._shutdown = True
            if cancel_futures:
                # Drain all work items from the queue and cancel their
                # futures.
                while True:
                    try:
                        item = self._work_queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is not None:
                        item[0].cancel()
            # Wake up the workers blocked in get().
            self._work_queue.put(None)
        if wait:
            for t in self._threads:
                t.join()
    shutdown.__doc__ = _base.Executor.shutdown.__doc__

    def map(self, fn: Callable[..., _T], *iterables: Iterable[Any],
            timeout: Optional[float] = None, chunksize: int = 1,
            buffersize: Optional[int] = None) -> Iterator[_T]:
        """Return an iterator equivalent to map(fn, *iterables), computed on
        the pool.

        Items are sent to the workers in chunks (one work item each, no
        Future per item): chunksize items per chunk when chunksize > 1, else
        a size picked from the number of items and workers.  With buffersize
        at most that many items are taken from the input ahead of the
        consumer, so infinite iterables work.  timeout bounds the whole
        iteration (TimeoutError), and an exception raised by fn for item k
        is raised when item k is reached; remaining work is then cancelled.
        """
        if not isinstance(chunksize, int) or isinstance(chunksize, bool):
            raise TypeError("chunksize must be an integer")
        if chunksize < 1:
            raise ValueError("chunksize must be >= 1.")
        _check_buffersize(buffersize)
        end_time = None if timeout is None else timeout + time.monotonic()
        args_iter = zip(*iterables)
        workers = self._max_workers
        chunks: "collections.deque[_MapChunk]" = collections.deque()

        if buffersize is None:
            items = list(args_iter)
            size = chunksize if chunksize > 1 else max(
                1, min(_MAX_AUTO_CHUNK, len(items) // (workers * 4)))
            for i in range(0, len(items), size):
                chunks.append(self._submit_chunk(fn, items[i:i + size]))
            del items
            return self._map_results(chunks, end_time, None, None, 0, 0)

        size = chunksize if chunksize > 1 else max(
            1, min(_MAX_AUTO_CHUNK, buffersize // (workers * 2)))
        size = min(size, buffersize)
        taken = 0
        while taken + size <= buffersize:
            part = list(itertools.islice(args_iter, size))
            if not part:
                break
            chunks.append(self._submit_chunk(fn, part))
            taken += len(part)
        # The iterator keeps only a weak reference to the executor, so that
        # an abandoned map() does not keep the executor alive.
        return self._map_results(chunks, end_time, (fn, args_iter, size),
                                 weakref.ref(self), buffersize, taken)

    def _submit_chunk(self, fn: Callable[..., object],
                      items: list[_Args]) -> _MapChunk:
        ch = _MapChunk(fn, items)
        fut = self.submit(ch.run)
        ch.future = fut
        fut.add_done_callback(ch.wake)
        return ch

    @staticmethod
    def _map_results(chunks: "collections.deque[_MapChunk]",
                     end_time: Optional[float],
                     refill: Optional[tuple[Callable[..., object],
                                            Iterator[_Args], int]],
                     executor_ref: Optional["weakref.ref[ThreadPoolExecutor]"],
                     buffersize: Optional[int], ahead: int) -> Iterator[Any]:
        try:
            while chunks:
                ch = chunks[0]
                fut = ch.future
                if (refill is None and fut is not None
                        and fut._state == _FINISHED
                        and fut._exception is None
                        and (len(ch.results) == len(ch.items)
                             or ch.exc is not None)):
                    # The chunk is finished: hand its results out from the
                    # list in one go, without a wait() per item (that was
                    # the consumer's, one thread's, cost per item, and on a
                    # free-threaded build the consumer was what a map of a
                    # cheap function waited for at any worker count).
                    # Popped from the end, so no reference stays behind.
                    results = ch.results
                    ch.results = []
                    results.reverse()
                    while results:
                        yield results.pop()
                    if ch.exc is not None:
                        raise ch.exc
                    ch.future = None
                    chunks.popleft()
                    continue
                del fut
                for k in range(len(ch.items)):
                    # Yield straight from wait(): no local keeps the result.
                    yield ch.wait(k, end_time)
                    if refill is None:
                        continue
                    # Item k is consumed: take more input if the window
                    # allows a whole chunk.
                    ahead -= 1
                    fn, args_iter, size = refill
                    assert buffersize is not None
                    if ahead + size <= buffersize:
                        ex = executor_ref() if executor_ref else None
                        if ex is not None:
                            part = list(itertools.islice(args_iter, size))
                            if part:
                                chunks.append(ex._submit_chunk(fn, part))
                                ahead += len(part)
                        del ex
                # The chunk and its future refer to each other (the future's
                # done callback is ch.wake): break that cycle now, so both go
                # as soon as the worker lets go of the future, not at the
                # next cyclic GC.  That GC can be far off (on a free-threaded
                # build its threshold grows with the heap), and until then
                # every consumed chunk stayed in memory, beyond buffersize.
                ch.future = None
                chunks.popleft()
        finally:
            for ch in chunks:
                ch.cancel()


def run_batches(executor: _base.Executor,
                batch_fn: Callable[[list[_I]], Sequence[_R]],
                items: Iterable[_I], *, batch_size: Optional[int] = None,
                weight: Optional[Callable[[_I], int]] = None,
                batch_weight: Optional[int] = None) -> list[_R]:
    """Run batch_fn over items in batches on any concurrent.futures.Executor
    and return the concatenated results in input order.

    This is how the helpers that take ``executor=`` (hash_files,
    compress_many, ...) spread work: each batch is one submit() whose task
    makes one fastconc C call (batch_fn must return one result per item of
    its batch), so the executor's per-task cost is paid per batch, and the
    executor may be the stdlib's, fastconc's, or dask.distributed's
    ``Client.get_executor()``.

      batch_size: items per batch (None: enough batches for every worker
        to get about four).
      weight, batch_weight: alternatively close a batch once the sum of
        weight(item) (e.g. a file's size) reaches batch_weight.
    """
    if not isinstance(executor, _base.Executor):
        raise TypeError("executor must be a concurrent.futures.Executor, "
                        f"not {type(executor).__name__!r}")
    items = list(items)
    if not items:
        return []
    batches: list[list[_I]] = []
    if weight is not None and batch_weight is not None:
        cur: list[_I] = []
        acc = 0
        for it in items:
            cur.append(it)
            acc += weight(it)
            if acc >= batch_weight:
                batches.append(cur)
                cur, acc = [], 0
        if cur:
            batches.append(cur)
    else:
        if batch_size is None:
            workers = getattr(executor, "_max_workers", None) or 4
            batch_size = max(1, -(-len(items) // (workers * 4)))
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        batches = [items[i:i + batch_size]
                   for i in range(0, len(items), batch_size)]
    futures = [executor.submit(batch_fn, b) for b in batches]
    out: list[_R] = []
    try:
        for b, f in zip(batches, futures):
            res = f.result()
            if len(res) != len(b):
                raise RuntimeError(f"batch function returned {len(res)} "
                                   f"results for {len(b)} items")
            out.extend(res)
    finally:
        for f in futures:
            f.cancel()
    return out
