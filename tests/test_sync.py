"""pybull.sync: the blocking facade web apps and scripts use, over the real async classes."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from pybull import sync

# --------------------------------------------------------------------------- proxy machinery (no server)


class _Item:
    def __init__(self, value: int) -> None:
        self.value = value
        self.loop = asyncio.get_running_loop()

    async def double(self) -> int:
        return self.value * 2


class _Store:
    """A tiny async class shaped like Queue: coroutine methods, plain attributes, returned objects."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.loop = asyncio.get_running_loop()  # constructed on a loop, as Queue does
        self.lock = asyncio.Lock()
        self.closed = False

    async def make(self, value: int) -> _Item:
        async with self.lock:
            return _Item(value)

    async def make_many(self, n: int) -> list[_Item]:
        return [_Item(i) for i in range(n)]

    async def total(self, items: list[_Item]) -> int:
        return sum(i.value for i in items)

    async def fail(self) -> None:
        raise KeyError("boom")

    async def stream(self, n: int) -> AsyncIterator[int]:
        for i in range(n):
            await asyncio.sleep(0)
            yield i

    async def close(self) -> None:
        self.closed = True


class _SyncItem(sync.SyncProxy, async_class=_Item):
    pass


class _SyncStore(sync.SyncProxy, async_class=_Store):
    pass


def test_proxy_blocks_wraps_results_and_passes_attributes() -> None:
    store = _SyncStore("s")
    assert store.name == "s"
    assert store.loop is sync.private_loop()
    item = store.make(21)
    assert isinstance(item, _SyncItem)
    assert item.value == 21
    assert item.double() == 42
    many = store.make_many(3)
    assert [type(i) for i in many] == [_SyncItem] * 3
    assert store.total(many) == 3  # sync proxies are unwrapped when passed back in
    assert list(store.stream(3)) == [0, 1, 2]
    with pytest.raises(KeyError):
        store.fail()
    store.name = "renamed"
    assert store.async_object.name == "renamed"


def test_context_manager_closes() -> None:
    with _SyncStore("s") as store:
        assert not store.closed
    assert store.closed


def test_many_threads_share_one_loop() -> None:
    store = _SyncStore("s")
    results: list[int] = []

    def use() -> None:
        for i in range(50):
            results.append(store.make(i).double())

    threads = [threading.Thread(target=use) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 400


async def test_usable_from_inside_a_running_loop() -> None:
    """Jupyter and async frameworks call sync code from their own loop thread: that must still work."""
    store = _SyncStore("s")
    assert store.make(2).double() == 4
    assert store.loop is not asyncio.get_running_loop()


def test_call_on_private_loop_thread_raises_instead_of_deadlocking() -> None:
    store = _SyncStore("s")

    async def inner() -> None:
        store.make(1)

    with pytest.raises(RuntimeError, match="own event-loop thread"):
        sync.run(inner())


def test_typed_surface_matches_the_async_classes() -> None:
    """The ``if TYPE_CHECKING`` signatures in pybull/sync.py must not drift from the async methods."""
    import ast
    import inspect

    tree = ast.parse(Path(sync.__file__).read_text())
    checked = 0
    for node in tree.body:
        if not isinstance(node, ast.ClassDef) or not hasattr(sync, node.name):
            continue
        proxy = getattr(sync, node.name)
        if not (isinstance(proxy, type) and issubclass(proxy, sync.SyncProxy)) or proxy._async_spec is None:
            continue
        target = proxy.async_class()
        for block in node.body:
            if not (isinstance(block, ast.If) and ast.unparse(block.test) == "TYPE_CHECKING"):
                continue
            for stub in block.body:
                if not isinstance(stub, ast.FunctionDef):
                    continue
                real = inspect.signature(getattr(target, stub.name))
                args = stub.args
                names = [a.arg for a in args.args + args.kwonlyargs]
                names += [f"*{args.vararg.arg}"] if args.vararg else []
                names += [f"**{args.kwarg.arg}"] if args.kwarg else []
                expected = [
                    {inspect.Parameter.VAR_POSITIONAL: "*", inspect.Parameter.VAR_KEYWORD: "**"}.get(
                        p.kind, ""
                    )
                    + p.name
                    for p in real.parameters.values()
                ]
                assert sorted(names) == sorted(expected), f"{node.name}.{stub.name}"
                checked += 1
    assert checked > 30


# ----------------------------------------------------------------------------- the real classes (server)


def test_queue_add_get_counts_pause_resume(redis_url: str, queue_name: str) -> None:
    with sync.Queue(queue_name, connection=redis_url) as queue:
        job = queue.add("email", {"to": "ada@example.com"}, priority=3)
        assert isinstance(job, sync.Job)
        assert job.name == "email" and job.data == {"to": "ada@example.com"}
        queue.add("email", {"to": "bob@example.com"}, delay=60_000)
        fetched = queue.get_job(job.id)
        assert isinstance(fetched, sync.Job)
        assert fetched.data == job.data
        assert queue.get_job_state(job.id) == "prioritized"
        counts = queue.get_job_counts("prioritized", "delayed", "waiting")
        assert counts == {"prioritized": 1, "delayed": 1, "waiting": 0}
        jobs = queue.get_jobs(["prioritized", "delayed"])
        assert sorted(j.data["to"] for j in jobs) == ["ada@example.com", "bob@example.com"]
        assert all(isinstance(j, sync.Job) for j in jobs)
        queue.pause()
        assert queue.is_paused()
        queue.resume()
        assert not queue.is_paused()


def _wait_for(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.02)


def test_worker_runs_in_thread_and_closes_from_another(redis_url: str, queue_name: str) -> None:
    seen: list[tuple[str, Any]] = []
    completed: list[str] = []

    def process(job: sync.Job) -> dict[str, Any]:
        assert isinstance(job, sync.Job)
        job.update_progress(50)  # the sync API works inside a plain processor
        seen.append((job.id, job.data["n"]))
        return {"double": job.data["n"] * 2}

    with sync.Queue(queue_name, connection=redis_url) as queue:
        worker = sync.Worker(queue_name, process, connection=redis_url, concurrency=4, autorun=False)
        # A plain callback runs in a thread: it may use the sync API (here job.get_state()).
        worker.on("completed", lambda job, *_: completed.append(job.get_state()))
        thread = threading.Thread(target=worker.run)
        thread.start()
        try:
            jobs = queue.add_bulk([{"name": "calc", "data": {"n": i}} for i in range(20)])
            _wait_for(lambda: queue.get_job_counts("completed")["completed"] == 20)
        finally:
            worker.close()
            thread.join(10)
        assert not thread.is_alive(), "run() returned after close()"
        assert sorted(n for _, n in seen) == list(range(20))
        assert queue.get_job(jobs[3].id).returnvalue == {"double": 6}
        _wait_for(lambda: len(completed) == 20)
        assert set(completed) == {"completed"}


def test_async_processor_in_sync_worker(redis_url: str, queue_name: str) -> None:
    async def process(job: Any) -> str:
        await asyncio.sleep(0)
        return f"hello {job.data['who']}"

    with sync.Queue(queue_name, connection=redis_url) as queue:
        worker = sync.Worker(queue_name, process, connection=redis_url, autorun=False)
        thread = threading.Thread(target=worker.run)
        thread.start()
        try:
            job = queue.add("greet", {"who": "ada"})
            _wait_for(lambda: queue.get_job_state(job.id) == "completed")
            assert queue.get_job(job.id).returnvalue == "hello ada"
        finally:
            worker.close()
            thread.join(10)


async def test_sync_queue_inside_running_loop(redis_url: str, queue_name: str) -> None:
    queue = sync.Queue(queue_name, connection=redis_url)
    try:
        job = queue.add("x", {"a": 1})
        assert queue.get_job(job.id).data == {"a": 1}
        assert queue.get_job_counts("waiting") == {"waiting": 1}
    finally:
        queue.close()


def test_worker_run_on_main_thread_stops_on_sigterm(redis_url: str, queue_name: str, tmp_path: Path) -> None:
    """A script's ``Worker(...).run()`` must finish its jobs and return on SIGTERM, then restore handlers."""
    script = tmp_path / "worker_script.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import signal, sys, time
            from pybull.sync import Worker

            def process(job):
                time.sleep(0.2)
                return "done"

            before = signal.getsignal(signal.SIGTERM)
            worker = Worker({queue_name!r}, process, connection={redis_url!r}, concurrency=2)
            print("ready", flush=True)
            worker.run()
            assert signal.getsignal(signal.SIGTERM) is before
            print("closed cleanly", flush=True)
            """
        )
    )
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root)}
    with sync.Queue(queue_name, connection=redis_url) as queue:
        proc = subprocess.Popen(
            [sys.executable, str(script)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
            job = queue.add("slow", {})
            _wait_for(lambda: queue.get_job_state(job.id) == "active")
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 0, err
        assert "closed cleanly" in out
        assert queue.get_job_state(job.id) == "completed"  # graceful: the active job finished first


def test_queue_events_iterate_listen_and_wait(redis_url: str, queue_name: str) -> None:
    heard: list[str] = []
    with (
        sync.Queue(queue_name, connection=redis_url) as queue,
        sync.QueueEvents(queue_name, connection=redis_url) as events,
    ):
        events.wait_until_ready()
        events.on("completed", lambda args, *_: heard.append(args["jobId"]))
        worker = sync.Worker(queue_name, lambda job: job.data["n"] + 1, connection=redis_url)
        thread = threading.Thread(target=worker.run)
        thread.start()
        try:
            job = queue.add("inc", {"n": 41})
            assert job.wait_until_finished(events, timeout=10) == 42
            seen: list[dict[str, Any]] = []

            def consume() -> None:
                for event in events:  # blocks for the next event; leaving the loop closes it
                    seen.append(event)
                    if event["event"] == "completed":
                        break

            consumer = threading.Thread(target=consume)
            consumer.start()
            added = [job.id]
            while consumer.is_alive():  # the iterator sees events from its first next() on
                added.append(queue.add("inc", {"n": 1}).id)
                consumer.join(0.2)
            assert seen[-1]["event"] == "completed" and seen[-1]["returnvalue"] == 2
        finally:
            worker.close()
            thread.join(10)
        _wait_for(lambda: sorted(heard) == sorted(added))
