"""Blocking facade over the async classes, for web apps, scripts and notebooks.

::

    from pybull.sync import Queue

    with Queue("emails") as queue:
        job = queue.add("welcome", {"to": "ada@example.com"})

The async classes are the only implementation. This module runs them on ONE private event loop in a
daemon thread (started on first use, shared by every sync object of the process) and hands each call
over with :func:`asyncio.run_coroutine_threadsafe`. So:

* the caller needs no event loop, and a caller that already runs one (Jupyter, an async web server
  calling sync library code) still works: its loop is simply not the one pybull uses;
* every async object is *constructed* on the private loop, so the locks, events and connection pools
  it creates belong to that loop;
* a proxy (:class:`SyncProxy`) turns coroutine methods into blocking calls, wraps the pybull objects
  they return (``Job``, lists of ``Job``) in their sync proxies, unwraps sync proxies passed as
  arguments, and passes every other attribute through.

A sync call made *on* the private loop's thread (from a coroutine running there) would wait for
itself forever; it raises :class:`RuntimeError` instead. Callbacks registered through the sync
``Worker.on`` and plain ``def`` processors run in worker threads, where the sync API is usable.

After ``os.fork()`` the child gets a new private loop on first use; objects created before the fork
belong to the parent's loop and must be recreated in the child (as with any Redis connection).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import importlib
import inspect
import os
import signal
import threading
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

__all__ = ["Job", "Queue", "QueueEvents", "SyncProxy", "Worker", "private_loop", "run"]

T = TypeVar("T")


class _LoopThread:
    """The private event loop and the daemon thread that runs it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        # Callbacks written against the sync API run in this pool (see ``_in_thread``).
        self.loop.set_default_executor(ThreadPoolExecutor(max_workers=32, thread_name_prefix="pybull-sync"))
        self.pid = os.getpid()
        self._ready = threading.Event()
        self.thread = threading.Thread(target=self._main, name="pybull-sync-loop", daemon=True)
        self.thread.start()
        self._ready.wait()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(self._ready.set)
        try:
            self.loop.run_forever()
        finally:
            with contextlib.suppress(Exception):
                self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.close()

    def stop(self, timeout: float = 2.0) -> None:
        if self.loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout)


_lock = threading.Lock()
_loop_thread: _LoopThread | None = None


def _get_loop_thread() -> _LoopThread:
    global _loop_thread  # noqa: PLW0603 - one loop per process is the point
    current = _loop_thread
    if current is not None and current.pid == os.getpid() and current.thread.is_alive():
        return current
    with _lock:
        current = _loop_thread
        if current is None or current.pid != os.getpid() or not current.thread.is_alive():
            current = _loop_thread = _LoopThread()
        return current


@atexit.register
def _stop_at_exit() -> None:
    if _loop_thread is not None and _loop_thread.pid == os.getpid():
        _loop_thread.stop()


def private_loop() -> asyncio.AbstractEventLoop:
    """The loop every sync object runs on (started if needed); for advanced interop only."""
    return _get_loop_thread().loop


def run(awaitable: Awaitable[T], timeout: float | None = None) -> T:
    """Run ``awaitable`` on the private loop and block until it finishes; its exception is raised here."""
    lt = _get_loop_thread()
    if threading.get_ident() == lt.thread.ident:
        if inspect.iscoroutine(awaitable):
            awaitable.close()
        raise RuntimeError(
            "a pybull.sync call was made on pybull's own event-loop thread (from async code or an "
            "async callback); it would wait for itself. Use the async API (pybull.Queue, ...) there."
        )

    async def _await() -> T:
        return await awaitable

    future = asyncio.run_coroutine_threadsafe(_await(), lt.loop)
    try:
        return future.result(timeout)
    except BaseException:
        # KeyboardInterrupt or a timeout while waiting: do not leave the call running unseen.
        future.cancel()
        raise


# ---------------------------------------------------------------------------------------------- proxies


def _is_async_callable(fn: object) -> bool:
    if inspect.iscoroutinefunction(fn):
        return True
    return callable(fn) and inspect.iscoroutinefunction(type(fn).__call__)


class SyncProxy:
    """Blocking view of one async pybull object.

    Subclasses name the async class they wrap (``async_class="pybull.queue:Queue"`` or the class
    itself); the import is lazy so ``pybull.sync`` loads even where an optional module is missing.
    """

    _async_spec: ClassVar[str | type | None] = None
    _registry: ClassVar[list[type[SyncProxy]]] = []
    _async: Any

    def __init_subclass__(cls, async_class: str | type | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if async_class is not None:
            cls._async_spec = async_class
            SyncProxy._registry.insert(0, cls)  # most recent first: a test class may shadow a real one

    @classmethod
    def async_class(cls) -> type:
        spec = cls._async_spec
        if spec is None:
            raise TypeError(f"{cls.__name__} does not name the async class it wraps")
        if isinstance(spec, str):
            module, _, attr = spec.partition(":")
            spec = getattr(importlib.import_module(module), attr)
            cls._async_spec = spec
        assert isinstance(spec, type)
        return spec

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Construct the async object on the private loop, so its asyncio objects bind to that loop."""
        target = self.async_class()

        async def construct() -> Any:
            return target(*_unwrap(args), **_unwrap_kwargs(kwargs))

        object.__setattr__(self, "_async", run(construct()))

    @classmethod
    def from_async(cls: type[_P], obj: Any) -> _P:
        """Wrap an async object that already exists (it must belong to the private loop to be usable)."""
        proxy = cls.__new__(cls)
        object.__setattr__(proxy, "_async", obj)
        return proxy

    @property
    def async_object(self) -> Any:
        """The wrapped async object, for code that runs on the private loop."""
        return self._async

    def __getattr__(self, name: str) -> Any:
        # Only called for names the proxy itself does not define.
        if name.startswith("__") or name == "_async":
            raise AttributeError(name)
        return _blocking(getattr(self._async, name))

    def __setattr__(self, name: str, value: Any) -> None:
        if name in type(self).__dict__ or name.startswith("_sync_"):
            object.__setattr__(self, name, value)
        else:
            setattr(self._async, name, _unwrap_one(value))

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(dir(self._async)))

    def __repr__(self) -> str:
        return f"<sync {self._async!r}>"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SyncProxy):
            return bool(self._async == other._async)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._async)

    # Iterating a sync proxy iterates the async object (QueueEvents: ``for event in events``).
    def __iter__(self) -> Iterator[Any]:
        if not hasattr(self._async, "__aiter__"):
            raise TypeError(f"{type(self).__name__} is not iterable")
        return _iterate(self._async.__aiter__())

    # ``with Queue(...) as q``: async context managers are entered on the loop; otherwise close().
    def __enter__(self: _P) -> _P:
        if hasattr(self._async, "__aenter__"):
            run(self._async.__aenter__())
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if hasattr(self._async, "__aexit__"):
            run(self._async.__aexit__(exc_type, exc, tb))
        elif hasattr(self._async, "close"):
            run(self._async.close())


_P = TypeVar("_P", bound=SyncProxy)


def _iterate(aiterator: Any) -> Iterator[Any]:
    try:
        while True:
            try:
                item = run(aiterator.__anext__())
            except StopAsyncIteration:
                return
            yield _wrap(item)
    finally:
        # Leaving a ``for`` loop early closes the async iterator now, not whenever GC gets to it.
        if hasattr(aiterator, "aclose"):
            with contextlib.suppress(RuntimeError, StopAsyncIteration):
                run(aiterator.aclose())


def _blocking(attr: Any) -> Any:
    """Coroutine functions become blocking functions; async generators become iterators."""
    if inspect.isasyncgenfunction(attr):

        @functools.wraps(attr)
        def iterate(*args: Any, **kwargs: Any) -> Iterator[Any]:
            return _iterate(attr(*_unwrap(args), **_unwrap_kwargs(kwargs)))

        return iterate
    if _is_async_callable(attr):

        @functools.wraps(attr)
        def call(*args: Any, **kwargs: Any) -> Any:
            return _wrap(run(attr(*_unwrap(args), **_unwrap_kwargs(kwargs))))

        return call
    if callable(attr) and not isinstance(attr, type):
        # Plain methods run on the private loop too: they may touch asyncio objects (worker.resume()
        # sets events), which are not thread-safe. They may also return an awaitable.
        @functools.wraps(attr)
        def call_plain(*args: Any, **kwargs: Any) -> Any:
            return _wrap(run(_on_loop(attr, _unwrap(args), _unwrap_kwargs(kwargs))))

        return call_plain
    return _wrap(attr)


async def _on_loop(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    result = fn(*args, **kwargs)
    if inspect.isawaitable(result):
        result = await result
    return result


def _proxy_class_for(value: object) -> type[SyncProxy] | None:
    for proxy_cls in SyncProxy._registry:
        try:
            if isinstance(value, proxy_cls.async_class()):
                return proxy_cls
        except ImportError:
            continue
    return None


def _wrap(value: Any) -> Any:
    """pybull async objects (alone, in lists, tuples or dict values) become their sync proxies."""
    if value is None or isinstance(value, str | bytes | int | float | bool | SyncProxy):
        return value
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_wrap(v) for v in value)
    if isinstance(value, dict):
        return {k: _wrap(v) for k, v in value.items()}
    proxy_cls = _proxy_class_for(value)
    return proxy_cls.from_async(value) if proxy_cls is not None else value


def _unwrap_one(value: Any) -> Any:
    if isinstance(value, SyncProxy):
        return value._async
    if isinstance(value, list):
        return [_unwrap_one(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_unwrap_one(v) for v in value)
    return value


def _unwrap(args: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(_unwrap_one(a) for a in args)


def _unwrap_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {k: _unwrap_one(v) for k, v in kwargs.items()}


# ------------------------------------------------------------------------------------------ the classes


class Job(SyncProxy, async_class="pybull.job:Job"):
    """Blocking view of :class:`pybull.job.Job`: fields read directly, methods block."""

    if TYPE_CHECKING:  # the typed surface; at run time ``__getattr__`` serves every name
        id: str
        name: str
        data: Any
        opts: dict[str, Any]
        timestamp: int
        delay: int
        priority: int
        progress: Any
        attempts_made: int
        attempts_started: int
        processed_on: int | None
        finished_on: int | None
        returnvalue: Any
        failed_reason: str | None
        stacktrace: list[str]

        def to_json(self) -> dict[str, Any]: ...
        def get_state(self) -> str: ...
        def update_data(self, data: Any) -> None: ...
        def update_progress(self, progress: Any) -> None: ...
        def log(self, row: str) -> int: ...
        def change_delay(self, delay: int) -> None: ...
        def change_priority(self, priority: int = 0, lifo: bool = False) -> None: ...
        def promote(self) -> None: ...
        def retry(
            self,
            state: str = "failed",
            *,
            reset_attempts_made: bool = False,
            reset_attempts_started: bool = False,
        ) -> None: ...
        def remove(self, *, remove_children: bool = True) -> None: ...
        def wait_until_finished(self, queue_events: QueueEvents, timeout: float | None = None) -> Any: ...


class Queue(SyncProxy, async_class="pybull.queue:Queue"):
    """Blocking :class:`pybull.queue.Queue`: ``Queue(name, connection=..., prefix=...)``."""

    if TYPE_CHECKING:  # the typed surface; at run time ``__getattr__`` serves every name
        name: str
        prefix: str

        def add(
            self, name: str, data: Any = ..., opts: Mapping[str, Any] | None = None, **options: Any
        ) -> Job: ...
        def add_bulk(self, jobs: Iterable[Mapping[str, Any]]) -> list[Job]: ...
        def get_job(self, job_id: str) -> Job | None: ...
        def get_jobs(
            self, types: str | Sequence[str] | None = None, start: int = 0, end: int = -1, asc: bool = False
        ) -> list[Job]: ...
        def get_job_state(self, job_id: str) -> str: ...
        def get_job_counts(self, *types: str) -> dict[str, int]: ...
        def count(self) -> int: ...
        def get_job_logs(
            self, job_id: str, start: int = 0, end: int = -1, asc: bool = True
        ) -> dict[str, Any]: ...
        def get_meta(self) -> dict[str, Any]: ...
        def get_workers(self) -> list[dict[str, str]]: ...
        def is_paused(self) -> bool: ...
        def pause(self) -> None: ...
        def resume(self) -> None: ...
        def remove(self, job_id: str, *, remove_children: bool = True) -> int: ...
        def clean(self, grace: int, limit: int = 0, type: str = "completed") -> list[str]: ...
        def drain(self, delayed: bool = False) -> None: ...
        def obliterate(self, *, force: bool = False, count: int = 1000) -> None: ...
        def retry_jobs(
            self, state: str = "failed", count: int = 1000, timestamp: int | None = None
        ) -> None: ...
        def promote_jobs(self, count: int = 1000) -> None: ...
        def close(self) -> None: ...


def _in_thread(fn: Callable[..., T]) -> Callable[..., Coroutine[Any, Any, T]]:
    """An async callable that runs the plain ``fn`` in the loop's thread pool with sync-proxied args.

    Callbacks written against the sync API must not run on the private loop's thread: any sync call
    they make there would wait for itself.
    """

    @functools.wraps(fn)
    async def call(*args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        bound = functools.partial(fn, *_wrap(args), **_wrap(kwargs))
        return await loop.run_in_executor(None, bound)

    return call


def _sync_processor(fn: Callable[..., T]) -> Callable[..., T]:
    """A plain processor stays plain (the async Worker runs it in its thread pool) but gets a sync Job."""

    @functools.wraps(fn)
    def call(job: Any, *args: Any) -> T:
        return fn(_wrap(job), *args)

    return call


class _EmitterProxy(SyncProxy):
    """``on``/``once``/``off`` for proxies of event emitters (Worker, QueueEvents).

    A plain callback is run in the private loop's thread pool with sync proxies as arguments, so it
    may call the sync API; events may then reach it slightly out of order. ``async def`` callbacks
    run on the private loop, in order, with the async objects.
    """

    def _listener(self, event: str, callback: Callable[..., Any], *, create: bool) -> Any:
        table: dict[tuple[str, Callable[..., Any]], Any] = self.__dict__.setdefault("_sync_listeners", {})
        if _is_async_callable(callback):
            return callback
        if create:
            table[(event, callback)] = _in_thread(callback)
            return table[(event, callback)]
        return table.pop((event, callback), callback)

    def on(self, event: str, callback: Callable[..., T]) -> Callable[..., T]:
        """Call ``callback`` on every ``event``; returns it, so ``on`` also works as a decorator."""
        run(_on_loop(self._async.on, (event, self._listener(event, callback, create=True)), {}))
        return callback

    def once(self, event: str, callback: Callable[..., T]) -> Callable[..., T]:
        run(_on_loop(self._async.once, (event, self._listener(event, callback, create=True)), {}))
        return callback

    def off(self, event: str, callback: Callable[..., Any]) -> None:
        run(_on_loop(self._async.off, (event, self._listener(event, callback, create=False)), {}))


class Worker(_EmitterProxy, async_class="pybull.worker:Worker"):
    """Blocking :class:`pybull.worker.Worker`.

    As in BullMQ, the worker starts processing when it is created (``autorun=True``; pass
    ``autorun=False`` to start it with :meth:`run` only). ``run()`` blocks until the worker is closed
    (from another thread, by SIGTERM/SIGINT when run on the main thread, or by the processor's own
    code). A plain ``def`` processor runs in the worker's thread pool (one thread per concurrency
    slot) and gets a sync :class:`Job`; an ``async def`` processor runs on the private loop and gets
    the async job.
    """

    def __init__(self, name: str, processor: Any = None, *args: Any, **kwargs: Any) -> None:
        if callable(processor) and not _is_async_callable(processor):
            processor = _sync_processor(processor)
        super().__init__(name, processor, *args, **kwargs)

    def run(self) -> None:
        """Process jobs until the worker is closed; SIGTERM/SIGINT close it gracefully (main thread).

        A second signal closes it with ``force=True`` (active jobs are abandoned to the stalled check).
        """
        lt = _get_loop_thread()
        future = asyncio.run_coroutine_threadsafe(self._run_async(), lt.loop)
        previous: dict[signal.Signals, Any] = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                previous[sig] = signal.signal(sig, self._on_signal)
        try:
            future.result()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    async def _run_async(self) -> None:
        worker = self._async
        if worker.started:
            await worker.wait_until_closed()  # autorun started it on construction
        else:
            await worker.run()

    if TYPE_CHECKING:  # the typed surface; at run time ``__getattr__`` serves every name
        name: str
        concurrency: int

        def close(self, force: bool = False) -> None: ...
        def pause(self, do_not_wait_active: bool = False) -> None: ...
        def resume(self) -> None: ...
        def run_until_drained(self, *, include_delayed: bool = True) -> int: ...

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        # Signal handlers run on the main thread between bytecodes: schedule, never block here.
        count = self.__dict__.get("_sync_signals", 0) + 1
        object.__setattr__(self, "_sync_signals", count)
        asyncio.run_coroutine_threadsafe(self._async.close(force=count > 1), _get_loop_thread().loop)


class QueueEvents(_EmitterProxy, async_class="pybull.events:QueueEvents"):
    """Blocking :class:`pybull.events.QueueEvents`; ``for event in events`` blocks for the next one."""

    if TYPE_CHECKING:  # the typed surface; at run time ``__getattr__`` serves every name
        name: str

        def wait_until_ready(self) -> None: ...
        def close(self) -> None: ...
