"""QueueEvents: the queue's events stream (wire-format 10) as listeners or an async iterator.

It reads ``P:Q:events`` with ``XREAD BLOCK`` on its own connection, named ``P:<base64(Q)>:qe`` as
Node's QueueEvents names it (8.2). Like Node it JSON-parses ``data`` of ``progress`` and
``returnvalue`` of ``completed``, turns ``delay`` of ``delayed`` into a number, and emits every event
also as ``<event>:<jobId>`` (how ``job.wait_until_finished`` waits for one job).

Listeners get ``(fields, event_id)`` (``drained`` gets only ``event_id``), as in Node. Iterating
yields ``{"event": name, **fields}`` dicts. The default start is ``$`` resolved to the newest entry
when reading starts, so nothing written afterwards is missed even across reconnections.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from pybull import _serde
from pybull._connection import ConnectionLike, RedisConnection
from pybull._emitter import EventEmitter
from pybull._locks import CONNECTION_ERRORS, Backoff, ErrorThrottle
from pybull.errors import PybullError
from pybull.keys import DEFAULT_PREFIX, QueueKeys

log = logging.getLogger("pybull")

_CLOSED: Any = object()


def parse_event(fields: dict[str, str]) -> dict[str, Any]:
    """Stream entry fields -> event dict, with the values Node parses (lenient: bad JSON stays text)."""
    event: dict[str, Any] = dict(fields)
    name = event.get("event")
    if name == "progress" and "data" in event:
        event["data"] = _serde.loads_lenient(event["data"])
    elif name == "completed" and "returnvalue" in event:
        event["returnvalue"] = _serde.loads_lenient(event["returnvalue"])
    elif name == "delayed" and "delay" in event:
        with contextlib.suppress(ValueError):
            event["delay"] = int(float(event["delay"]))
    return event


class QueueEvents(EventEmitter):
    """Listen to a queue's events: ``qe.on("completed", cb)`` or ``async for event in qe``."""

    def __init__(
        self,
        queue_name: str,
        *,
        connection: ConnectionLike = None,
        prefix: str = DEFAULT_PREFIX,
        last_event_id: str | None = None,
        blocking_timeout: int = 10000,
        autorun: bool = True,
    ) -> None:
        super().__init__()
        self.keys = QueueKeys(queue_name, prefix)
        self.name = queue_name
        self.connection = RedisConnection(connection)
        self.last_event_id = last_event_id or "$"
        self.blocking_timeout = max(int(blocking_timeout), 1)
        self._subscribers: set[asyncio.Queue[Any]] = set()
        self._ready = asyncio.Event()
        self._closed = asyncio.Event()
        self._closing = False
        self._run_task: asyncio.Task[None] | None = None
        self._read_task: asyncio.Task[Any] | None = None
        self._reading = False
        self._throttle = ErrorThrottle()
        if autorun:
            with contextlib.suppress(RuntimeError):
                asyncio.get_running_loop()
                self._start()

    def _start(self) -> None:
        if self._run_task is None and not self._closing:
            self._run_task = asyncio.get_running_loop().create_task(
                self._autorun(), name=f"pybull-qe-{self.name}"
            )

    async def _autorun(self) -> None:
        try:
            await self.run()
        except Exception as exc:
            log.exception("pybull QueueEvents for %s stopped", self.name)
            self.emit("error", exc)

    @property
    def running(self) -> bool:
        return self._run_task is not None and not self._run_task.done()

    async def wait_until_ready(self) -> None:
        """Return once reading has started (from a fixed id): later events will all be seen."""
        if self._run_task is None:
            self._start()
        ready = asyncio.ensure_future(self._ready.wait())
        done = asyncio.ensure_future(self._closed.wait())
        try:
            await asyncio.wait({ready, done}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ready.cancel()
            done.cancel()
        if not self._ready.is_set():
            raise PybullError("QueueEvents was closed before it started reading")

    async def run(self) -> None:
        """Read events until :meth:`close` (called by ``autorun`` on construction inside a loop).

        Idempotent: a second call while a reader runs waits for close instead of reading twice
        (two readers would deliver every event twice).
        """
        if self._reading:
            await self._closed.wait()
            return
        self._reading = True
        client = self.connection.blocking_client(
            socket_timeout=self.blocking_timeout / 1000 + 10,
            client_name=self.keys.connection_name(kind="events"),
        )
        backoff = Backoff()
        try:
            last_id = self.last_event_id
            while not self._closing:
                try:
                    if last_id == "$":
                        newest = await client.xrevrange(self.keys.events, count=1)
                        last_id = str(newest[0][0]) if newest else "0-0"
                    self._ready.set()
                    self._read_task = asyncio.ensure_future(
                        client.xread({self.keys.events: last_id}, block=self.blocking_timeout)
                    )
                    try:
                        reply = await self._read_task
                    finally:
                        self._read_task = None
                    backoff.reset()
                except asyncio.CancelledError:
                    if self._closing:
                        break
                    raise
                except CONNECTION_ERRORS as exc:
                    self._throttle.log(
                        "pybull QueueEvents %s: connection failed (%s); reconnecting", self.name, exc
                    )
                    await backoff.sleep()
                    continue
                for _stream, entries in reply or []:
                    for event_id, fields in entries:
                        last_id = event_id
                        self._dispatch(event_id, fields)
        finally:
            with contextlib.suppress(Exception):
                await client.aclose()
            self._finish()

    def _dispatch(self, event_id: str, fields: dict[str, str]) -> None:
        event = parse_event(fields)
        for queue in self._subscribers:
            queue.put_nowait(event)
        args = dict(event)
        name = args.pop("event", "")
        if name == "drained":
            self.emit(name, event_id)
            return
        self.emit(name, args, event_id)
        job_id = args.get("jobId")
        if job_id:
            self.emit(f"{name}:{job_id}", args, event_id)

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[dict[str, Any]]:
        queue: asyncio.Queue[Any] = asyncio.Queue()
        self._subscribers.add(queue)
        try:
            if self._closing:
                return
            self._start()
            while True:
                item = await queue.get()
                if item is _CLOSED:
                    return
                yield item
        finally:
            self._subscribers.discard(queue)

    def _finish(self) -> None:
        if not self._closed.is_set():
            self._closed.set()
            for queue in self._subscribers:
                queue.put_nowait(_CLOSED)
            self.emit("closed")

    async def close(self) -> None:
        """Stop reading and close the connections; iterators end. Idempotent."""
        self._closing = True
        if self._read_task is not None:
            self._read_task.cancel()
        if self._run_task is not None and not self._run_task.done():
            with contextlib.suppress(asyncio.CancelledError):
                await self._run_task
        self._finish()
        with contextlib.suppress(Exception):
            await self.connection.close()

    async def __aenter__(self) -> QueueEvents:
        self._start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
