"""A plain (WSGI) web app that queues work with the blocking API, and a worker thread that does it.

Modelled on web apps that "add a job and return at once" from a request handler, plus the
"wait for completion" pattern for a short job whose result the response needs. The web code uses
``pybull.sync``: no event loop, no ``await``, safe to call from any request thread. The worker is a
``pybull.sync.Worker`` with a plain ``def`` processor running in a background thread; in production
it would be its own process (``pybull worker examples.sync_web_producer:export_data --queue exports``).

Run: ``python examples/sync_web_producer.py`` (uses REDIS_URL, or starts an embedded server).
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from pybull.demo import redis_or_embedded
from pybull.sync import Job, Queue, QueueEvents, Worker

QUEUE = "exports"


def export_data(job: Job) -> dict[str, Any]:
    """The worker: a plain function; ``job`` is a sync Job, so its methods block (no await)."""
    rows = 250 if job.data["data_type"] == "contacts" else 1200
    for done in (25, 50, 75, 100):
        time.sleep(0.01)
        job.update_progress(done)
    return {"file": f"/exports/{job.data['user_id']}.{job.data['export_type']}", "rows": rows}


def make_app(queue: Queue, events: QueueEvents) -> Callable[..., Iterable[bytes]]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method, path = environ["REQUEST_METHOD"], environ["PATH_INFO"]
        status, body = "404 Not Found", {"error": "not found"}
        if method == "POST" and path == "/exports":
            size = int(environ.get("CONTENT_LENGTH") or 0)
            request = json.loads(environ["wsgi.input"].read(size) or b"{}")
            job = queue.add("data-export", request, attempts=3, backoff={"type": "exponential", "delay": 500})
            if "wait=1" in environ.get("QUERY_STRING", ""):
                # Pattern 2: wait for the result (only for jobs that finish within a request's time).
                result = job.wait_until_finished(events, timeout=5)
                status, body = "200 OK", {"jobId": job.id, "result": result}
            else:
                # Pattern 1: fire and forget; the client polls GET /jobs/<id>.
                status, body = "202 Accepted", {"jobId": job.id}
        elif method == "GET" and path.startswith("/jobs/"):
            job_id = path.removeprefix("/jobs/")
            found = queue.get_job(job_id)
            if found is not None:
                state = queue.get_job_state(job_id)
                status, body = "200 OK", {"jobId": job_id, "state": state, "result": found.returnvalue}
        payload = json.dumps(body).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
        return [payload]

    return app


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def call(base: str, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        result: dict[str, Any] = json.loads(response.read())
        print(f"{method} {path} -> {response.status} {result}")
        return result


def main(url: str) -> None:
    queue = Queue(QUEUE, connection=url)
    queue.obliterate(force=True)  # example queue: start clean
    events = QueueEvents(QUEUE, connection=url)
    worker = Worker(QUEUE, export_data, connection=url, concurrency=4, autorun=False)
    worker_thread = threading.Thread(target=worker.run, name="export-worker")
    worker_thread.start()

    server = make_server("127.0.0.1", 0, make_app(queue, events), handler_class=QuietHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        accepted = call(
            base, "POST", "/exports", {"user_id": "user_123", "export_type": "csv", "data_type": "contacts"}
        )
        call(
            base,
            "POST",
            "/exports?wait=1",
            {"user_id": "user_7", "export_type": "json", "data_type": "qr_scans"},
        )
        for _ in range(100):
            status = call(base, "GET", f"/jobs/{accepted['jobId']}")
            if status["state"] == "completed":
                break
            time.sleep(0.05)
        print(f"counts: {queue.get_job_counts('waiting', 'active', 'completed', 'failed')}")
    finally:
        server.shutdown()
        worker.close()
        worker_thread.join()
        events.close()
        queue.obliterate(force=True)
        queue.close()


if __name__ == "__main__":
    with redis_or_embedded() as server_url:
        main(server_url)
