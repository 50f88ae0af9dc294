"""Email and report workers: priorities, retries with exponential backoff, progress, logs, chaining.

Modelled on apps with an ``email`` queue (welcome, password reset, low-stock alerts at priority 1)
and a ``report`` queue whose jobs, when done, queue a "report ready" email. The SMTP relay here is
flaky: every third message fails its first attempt and is retried after a backoff, as a real relay
timing out would be. Job options follow the usual production shape: ``attempts=3``, exponential
backoff, ``remove_on_complete=100`` and ``remove_on_fail=50`` so Redis does not fill up.

Run: ``python examples/email_report_worker.py`` (uses REDIS_URL, or starts an embedded server).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from pybull.demo import redis_or_embedded
from pybull.queue import Queue
from pybull.worker import Worker

DEFAULTS: dict[str, Any] = {
    "attempts": 3,
    "backoff": {"type": "exponential", "delay": 200},  # 200 ms, 400 ms (2 s, 4 s in production)
    "remove_on_complete": 100,
    "remove_on_fail": 50,
}
HIGH, NORMAL = 1, 5

sent: Counter[str] = Counter()
smtp_calls: Counter[str] = Counter()


class SmtpTimeout(Exception):
    pass


async def send_email(job: Any) -> dict[str, str]:
    smtp_calls[job.id] += 1
    await job.log(f"attempt {smtp_calls[job.id]}: connecting to smtp.example.com")
    await asyncio.sleep(0.01)
    if int(job.id) % 3 == 0 and smtp_calls[job.id] == 1:
        raise SmtpTimeout("SMTP relay did not answer within 10s")
    sent[job.name] += 1
    return {"to": job.data["to"], "message_id": f"<{job.id}.{job.name}@example.com>"}


def report_worker(email_queue: Queue) -> Any:
    async def generate_report(job: Any) -> dict[str, Any]:
        for step, part in enumerate(("query", "aggregate", "render", "upload"), start=1):
            await asyncio.sleep(0.02)
            await job.log(f"{part} done")
            await job.update_progress(step * 25)
        url = f"https://files.example.com/reports/{job.data['business_id']}/{job.data['report_type']}.pdf"
        await email_queue.add("report-ready", {"to": job.data["user_email"], "url": url}, **DEFAULTS)
        return {"url": url}

    return generate_report


async def main(url: str) -> None:
    emails, reports = Queue("email", connection=url), Queue("report", connection=url)
    for q in (emails, reports):
        await q.obliterate(force=True)  # example queues: start clean

    email_worker = Worker("email", send_email, connection=url, concurrency=5, autorun=False)
    report_worker_ = Worker("report", report_worker(emails), connection=url, concurrency=2, autorun=False)
    runners = [asyncio.create_task(w.run()) for w in (email_worker, report_worker_)]

    await emails.add(
        "welcome-email", {"to": "john@example.com", "name": "John Doe"}, priority=NORMAL, **DEFAULTS
    )
    await emails.add("password-reset", {"to": "ada@example.com"}, priority=NORMAL, **DEFAULTS)
    for sku in ("SKU-1", "SKU-2"):
        await emails.add(
            "low-stock-alert", {"to": "manager@business.com", "sku": sku}, priority=HIGH, **DEFAULTS
        )
    report_jobs = [
        await reports.add(
            "generate-report",
            {"business_id": 123, "report_type": kind, "user_email": "manager@business.com"},
            priority=NORMAL,
            **DEFAULTS,
        )
        for kind in ("inventory-summary", "sales")
    ]
    expected_emails = 4 + len(report_jobs)

    for _ in range(300):  # at most ~15 s
        if sum(sent.values()) >= expected_emails:
            break
        await asyncio.sleep(0.05)
    for w in (email_worker, report_worker_):
        await w.close()
    await asyncio.gather(*runners)

    retried = sum(1 for n in smtp_calls.values() if n > 1)
    print(f"emails sent: {dict(sorted(sent.items()))}; retried after an SMTP timeout: {retried}")
    first = await reports.get_job(report_jobs[0].id)
    assert first is not None
    print(f"report {first.id}: progress {first.progress}, result {first.returnvalue}")
    logs = await reports.get_job_logs(first.id)
    lines = logs["logs"] if isinstance(logs, dict) else logs
    print("report logs: " + "; ".join(lines))
    for q in (emails, reports):
        await q.obliterate(force=True)
        await q.close()


if __name__ == "__main__":
    with redis_or_embedded() as server_url:
        asyncio.run(main(server_url))
