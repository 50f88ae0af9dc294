"""A tiny event emitter for Worker and QueueEvents (Node's ``EventEmitter`` shape, Python manners).

Listeners may be plain functions or ``async def``; a coroutine result is scheduled as a task on the
running loop (kept referenced until done). A listener that raises is logged and never reaches the
code that emitted: a buggy ``on("completed")`` callback must not fail jobs or stop a worker.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger("pybull")

Listener = Callable[..., Any]


class EventEmitter:
    def __init__(self) -> None:
        self._listeners: dict[str, list[Listener]] = {}
        self._once: set[tuple[str, int]] = set()
        self._listener_tasks: set[asyncio.Task[Any]] = set()

    def on(self, event: str, callback: Listener) -> Listener:
        """Call ``callback`` on every ``event``; returns it, so ``on`` also works as a decorator."""
        self._listeners.setdefault(event, []).append(callback)
        return callback

    def once(self, event: str, callback: Listener) -> Listener:
        self.on(event, callback)
        self._once.add((event, id(callback)))
        return callback

    def off(self, event: str, callback: Listener) -> None:
        callbacks = self._listeners.get(event)
        if callbacks and callback in callbacks:
            callbacks.remove(callback)
            if not callbacks:
                del self._listeners[event]
        self._once.discard((event, id(callback)))

    def listens(self, event: str) -> bool:
        return event in self._listeners

    def emit(self, event: str, *args: Any) -> bool:
        callbacks = self._listeners.get(event)
        if not callbacks:
            return False
        for callback in list(callbacks):
            if self._once and (event, id(callback)) in self._once:
                self.off(event, callback)
            try:
                result = callback(*args)
            except Exception:
                log.exception("pybull: %r listener %r raised", event, callback)
                continue
            if inspect.isawaitable(result):
                task = asyncio.ensure_future(result)
                self._listener_tasks.add(task)
                task.add_done_callback(self._listener_done)
        return True

    def _listener_done(self, task: asyncio.Task[Any]) -> None:
        self._listener_tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("pybull: async listener raised", exc_info=task.exception())
