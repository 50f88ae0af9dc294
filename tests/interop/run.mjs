#!/usr/bin/env node
// Node BullMQ 6.7.0 runner for pybull's interop tests.
//
// Input: one JSON command (argv[2], or stdin when argv[2] is absent or "-"):
//   {"url": "redis://...", "prefix": "bull", "queue": "q", "op": "add", ...args}
// or a batch, run in order on shared connections (one Node start-up for many checks):
//   {"url": ..., "prefix": ..., "queue": ..., "ops": [{"op": ...}, {"op": ..., "queue": "other"}]}
// Output: one JSON document on stdout ({"ok": true, "result": ...} or {"ok": false, "error": ...}).
// With op "work" and "stream": true the runner is a long-lived worker instead: it prints one JSON
// line per event ({"type": "ready"|"start"|"completed"|"failed"|"summary", ...}) and closes
// gracefully on SIGTERM/SIGINT (SIGKILL simulates a crash).
import { FlowProducer, Queue, QueueEvents, Worker, Job, UnrecoverableError } from 'bullmq';
import { readFileSync } from 'node:fs';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function readCommand() {
  const arg = process.argv[2];
  const text = arg && arg !== '-' ? arg : readFileSync(0, 'utf8');
  return JSON.parse(text);
}

function plain(value) {
  // toJSON() keeps undefined fields; JSON round trip gives what Bull Board would serialise.
  return value === undefined ? null : JSON.parse(JSON.stringify(value));
}

function queueOpts(cmd) {
  const opts = { connection: { url: cmd.url, maxRetriesPerRequest: null }, prefix: cmd.prefix ?? 'bull' };
  if (cmd.skipMetasUpdate) opts.skipMetasUpdate = true;
  return opts;
}

const queues = new Map();
function getQueue(cmd) {
  const key = `${cmd.prefix ?? 'bull'}\u0000${cmd.queue}`;
  if (!queues.has(key)) queues.set(key, new Queue(cmd.queue, queueOpts(cmd)));
  return queues.get(key);
}

async function jobJSON(job, withState = true) {
  if (!job) return null;
  const out = plain(job.toJSON());
  if (withState) out.state = await job.getState();
  return out;
}

async function mustGetJob(queue, id) {
  const job = await Job.fromId(queue, id);
  if (!job) throw new Error(`job ${id} not found`);
  return job;
}

// ---------------------------------------------------------------- processor behaviours
// The job's data chooses what the processor does, so a test can mix behaviours in one queue:
//   {"behave": "ok", "result": any}            -> returns result (default {"ok": true, "id": id})
//   {"behave": "fail", "message": "boom"}       -> throws Error(message)
//   {"behave": "fail_until", "attempts": n}     -> throws until attemptsMade >= n, then ok
//   {"behave": "unrecoverable", "message": ..}  -> throws UnrecoverableError
//   {"behave": "sleep", "ms": n}                -> sleeps n ms then ok
//   "progress": [..] and "log": [..]            -> updateProgress / log each value first
function makeProcessor(cmd, record) {
  const defaultBehave = cmd.default_behave ?? 'ok';
  return async (job) => {
    const data = job.data && typeof job.data === 'object' && !Array.isArray(job.data) ? job.data : {};
    const behave = data.behave ?? defaultBehave;
    record({
      type: 'start',
      id: job.id,
      name: job.name,
      attemptsMade: job.attemptsMade,
      attemptsStarted: job.attemptsStarted,
      t: Date.now(),
    });
    for (const p of data.progress ?? []) await job.updateProgress(p);
    for (const line of data.log ?? []) await job.log(line);
    if (cmd.honor_hang && data.hang) await new Promise(() => {}); // a crash test kills us here
    const ms = data.ms ?? cmd.default_ms ?? 0;
    if (behave === 'sleep' || ms > 0) await sleep(ms);
    const message = data.message ?? 'boom';
    if (behave === 'fail') throw new Error(message);
    if (behave === 'unrecoverable') throw new UnrecoverableError(message);
    if (behave === 'fail_until' && job.attemptsMade < (data.attempts ?? 1)) throw new Error(message);
    return 'result' in data ? data.result : { ok: true, id: job.id };
  };
}

function collectEvents(queueEvents, events) {
  // Wrap emit to see every stream event in order (QueueEvents emits `<event>` then `<event>:<jobId>`).
  const emit = queueEvents.emit.bind(queueEvents);
  queueEvents.emit = (name, ...args) => {
    if (typeof name === 'string' && !name.includes(':') && !['error', 'ioredis:close', 'running'].includes(name)) {
      const payload = name === 'drained' ? {} : plain(args[0]) ?? {};
      events.push({ event: name, ...payload });
    }
    return emit(name, ...args);
  };
}

async function startQueueEvents(cmd) {
  const qe = new QueueEvents(cmd.queue, {
    ...queueOpts(cmd),
    autorun: false,
    blockingTimeout: 200,
    lastEventId: cmd.lastEventId ?? '$',
  });
  const events = [];
  collectEvents(qe, events);
  qe.on('error', () => {});
  qe.run().catch(() => {});
  await qe.waitUntilReady();
  // XREAD with '$' only sees entries added after the first blocking read starts.
  await sleep(cmd.events_warmup_ms ?? 150);
  return { qe, events };
}

function workerOpts(cmd) {
  return {
    ...queueOpts(cmd),
    concurrency: cmd.concurrency ?? 1,
    autorun: false,
    drainDelay: 1,
    ...(cmd.worker_opts ?? {}),
  };
}

async function work(cmd) {
  const records = [];
  const record = (r) => records.push(r);
  let qeHandle = null;
  if (cmd.collect_events) qeHandle = await startQueueEvents(cmd);
  const worker = new Worker(cmd.queue, makeProcessor(cmd, record), workerOpts(cmd));
  const errors = [];
  let finished = 0;
  const finishes = [];
  worker.on('completed', (job, returnvalue) => {
    finished += 1;
    finishes.push({ type: 'completed', id: job.id, returnvalue: plain(returnvalue) });
  });
  worker.on('failed', (job, err) => {
    const final = Boolean(job && job.finishedOn);
    if (final) finished += 1;
    finishes.push({ type: 'failed', id: job?.id, final, failedReason: err?.message });
  });
  worker.on('error', (err) => errors.push(String(err?.stack ?? err)));
  worker.run().catch((err) => errors.push(String(err?.stack ?? err)));
  await worker.waitUntilReady();
  const deadline = Date.now() + (cmd.timeout_ms ?? 10000);
  const want = cmd.count ?? null;
  let lastActivity = Date.now();
  let seen = 0;
  while (Date.now() < deadline) {
    if (want !== null && finished >= want) break;
    if (records.length + finishes.length !== seen) {
      seen = records.length + finishes.length;
      lastActivity = Date.now();
    }
    if (cmd.idle_ms && Date.now() - lastActivity >= cmd.idle_ms) break;
    await sleep(10);
  }
  const timedOut = want !== null && finished < want;
  await worker.close(cmd.force_close ?? false);
  let events = null;
  if (qeHandle) {
    await sleep(cmd.events_settle_ms ?? 300);
    await qeHandle.qe.close();
    events = qeHandle.events;
  }
  return {
    starts: records,
    finishes,
    order: records.map((r) => r.id),
    finished,
    timed_out: timedOut,
    errors,
    events,
  };
}

async function streamWorker(cmd) {
  const out = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);
  const worker = new Worker(cmd.queue, makeProcessor(cmd, out), workerOpts(cmd));
  let completed = 0;
  let failed = 0;
  worker.on('completed', (job, returnvalue) => {
    completed += 1;
    if (!cmd.quiet_finishes) out({ type: 'completed', id: job.id, returnvalue: plain(returnvalue) });
  });
  worker.on('failed', (job, err) => {
    failed += 1;
    if (!cmd.quiet_finishes) out({ type: 'failed', id: job?.id, failedReason: err?.message });
  });
  worker.on('error', (err) => out({ type: 'error', error: String(err?.stack ?? err) }));
  let closing = false;
  const stop = async () => {
    if (closing) return;
    closing = true;
    await worker.close();
    out({ type: 'summary', completed, failed });
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  worker.run().catch((err) => out({ type: 'error', error: String(err?.stack ?? err) }));
  await worker.waitUntilReady();
  out({ type: 'ready', pid: process.pid });
  await new Promise(() => {}); // until a signal
}

// ---------------------------------------------------------------- single operations
const OPS = {
  async add(q, c) {
    const job = await q.add(c.name ?? 'job', c.data ?? {}, c.opts ?? {});
    return jobJSON(await Job.fromId(q, job.id)) ?? { id: job.id, missing: true };
  },
  async addBulk(q, c) {
    const jobs = await q.addBulk(c.jobs.map((j) => ({ name: j.name ?? 'job', data: j.data ?? {}, opts: j.opts ?? {} })));
    return jobs.map((j) => j.id);
  },
  async addMany(q, c) {
    // n jobs in chunks of addBulk: fast seeding for the mixed-fleet tests.
    const ids = [];
    const chunk = c.chunk ?? 500;
    for (let i = 0; i < c.n; i += chunk) {
      const batch = [];
      for (let k = i; k < Math.min(c.n, i + chunk); k++) batch.push({ name: c.name ?? 'job', data: { ...(c.data ?? {}), i: k }, opts: c.opts ?? {} });
      const jobs = await q.addBulk(batch);
      for (const j of jobs) ids.push(j.id);
    }
    return ids;
  },
  async addFlow(_q, c) {
    // FlowProducer.add; nodes without queueName go to the command's queue.
    const fill = (node) => ({ ...node, queueName: node.queueName ?? c.queue, children: (node.children ?? []).map(fill) });
    const flow = new FlowProducer(queueOpts(c));
    try {
      const ids = (tree) => ({ id: tree.job.id, children: (tree.children ?? []).map(ids) });
      return ids(await flow.add(fill(c.flow)));
    } finally {
      await flow.close();
    }
  },
  async jobDependencies(q, c) {
    const job = await mustGetJob(q, c.id);
    return {
      counts: await job.getDependenciesCount(),
      values: await job.getChildrenValues(),
      ignored: await job.getIgnoredChildrenFailures(),
      dependencies: await job.getDependencies(),
    };
  },
  async getJob(q, c) {
    return jobJSON(await Job.fromId(q, c.id));
  },
  async getJobsById(q, c) {
    return Promise.all(c.ids.map(async (id) => jobJSON(await Job.fromId(q, id))));
  },
  async getJobs(q, c) {
    const jobs = await q.getJobs(c.types, c.start ?? 0, c.end ?? -1, c.asc ?? false);
    return Promise.all(jobs.map((j) => jobJSON(j, c.with_state ?? false)));
  },
  async getJobCounts(q, c) {
    return q.getJobCounts(...(c.types ?? []));
  },
  async getJobState(q, c) {
    return q.getJobState(c.id);
  },
  async getJobLogs(q, c) {
    return q.getJobLogs(c.id, c.start ?? 0, c.end ?? -1, c.asc ?? true);
  },
  async isPaused(q) {
    return q.isPaused();
  },
  async pause(q) {
    await q.pause();
    return true;
  },
  async resume(q) {
    await q.resume();
    return true;
  },
  async clean(q, c) {
    return q.clean(c.grace ?? 0, c.limit ?? Number.MAX_SAFE_INTEGER, c.type ?? 'completed');
  },
  async drain(q, c) {
    await q.drain(c.delayed ?? false);
    return true;
  },
  async obliterate(q, c) {
    await q.obliterate({ force: c.force ?? false });
    return true;
  },
  async retryJobs(q, c) {
    await q.retryJobs({ state: c.state ?? 'failed', count: c.count ?? 1000, timestamp: c.timestamp });
    return true;
  },
  async promoteJobs(q, c) {
    await q.promoteJobs({ count: c.count ?? 1000 });
    return true;
  },
  async remove(q, c) {
    return q.remove(c.id, { removeChildren: c.removeChildren ?? true });
  },
  async jobRetry(q, c) {
    const job = await mustGetJob(q, c.id);
    await job.retry(c.state ?? 'failed', c.opts ?? {});
    return jobJSON(await Job.fromId(q, c.id));
  },
  async jobPromote(q, c) {
    await (await mustGetJob(q, c.id)).promote();
    return jobJSON(await Job.fromId(q, c.id));
  },
  async jobChangeDelay(q, c) {
    await (await mustGetJob(q, c.id)).changeDelay(c.delay);
    return jobJSON(await Job.fromId(q, c.id));
  },
  async jobChangePriority(q, c) {
    await (await mustGetJob(q, c.id)).changePriority({ priority: c.priority ?? 0, lifo: c.lifo ?? false });
    return jobJSON(await Job.fromId(q, c.id));
  },
  async jobUpdateProgress(q, c) {
    await (await mustGetJob(q, c.id)).updateProgress(c.progress);
    return jobJSON(await Job.fromId(q, c.id));
  },
  async jobUpdateData(q, c) {
    await (await mustGetJob(q, c.id)).updateData(c.data);
    return jobJSON(await Job.fromId(q, c.id));
  },
  async jobLog(q, c) {
    return (await mustGetJob(q, c.id)).log(c.line);
  },
  async jobRemove(q, c) {
    await (await mustGetJob(q, c.id)).remove();
    return true;
  },
  async getWorkers(q) {
    return (await q.getWorkers()).map((w) => ({ name: w.name, rawname: w.rawname ?? null }));
  },
  async getMetrics(q, c) {
    return q.getMetrics(c.type ?? 'completed', c.start ?? 0, c.end ?? -1);
  },
  async count(q) {
    return q.count();
  },
  async getMeta(q) {
    return q.getMeta();
  },
  async sleep(_q, c) {
    await sleep(c.ms ?? 0);
    return true;
  },
  async events(_q, c) {
    const { qe, events } = await startQueueEvents(c);
    await sleep(c.duration_ms ?? 1000);
    await qe.close();
    return events;
  },
  // ---- job schedulers (wire-format 12)
  async upsertJobScheduler(q, c) {
    const job = await q.upsertJobScheduler(c.id, c.repeat, c.template);
    return job ? { id: job.id, delay: job.delay ?? null } : null;
  },
  async getJobSchedulers(q, c) {
    return q.getJobSchedulers(c.start ?? 0, c.end ?? -1, c.asc ?? false);
  },
  async getJobScheduler(q, c) {
    return (await q.getJobScheduler(c.id)) ?? null;
  },
  async removeJobScheduler(q, c) {
    return q.removeJobScheduler(c.id);
  },
  async cronNext(_q, c) {
    // BullMQ's own strategy (cron-parser 5.x): {"cases": [{"millis", "opts": {pattern, tz?, startDate?, endDate?}}]}
    const { defaultRepeatStrategy } = await import('bullmq');
    return c.cases.map((k) => {
      try {
        return defaultRepeatStrategy(k.millis, k.opts) ?? null;
      } catch (err) {
        return `error: ${err?.message ?? err}`;
      }
    });
  },
  work: (_q, c) => work(c),
  // {"op": "parallel", "ops": [...]}: run several ops at once (e.g. two workers on two queues).
  parallel: (_q, c) => Promise.all(c.ops.map((step) => runOne({ ...c, op: undefined, ops: undefined }, step))),
};

async function runOne(base, step) {
  const cmd = { ...base, ...step };
  if (step.op !== 'parallel') delete cmd.ops;
  const fn = OPS[cmd.op];
  if (!fn) throw new Error(`unknown op ${JSON.stringify(cmd.op)}`);
  const needsQueue = !['work', 'events', 'sleep', 'parallel', 'addFlow', 'cronNext'].includes(cmd.op);
  const q = needsQueue ? getQueue(cmd) : null;
  if (q) await q.waitUntilReady();
  return fn(q, cmd);
}

async function main() {
  const cmd = readCommand();
  if (cmd.op === 'work' && cmd.stream) {
    await streamWorker(cmd);
    return;
  }
  let result;
  let ok = false;
  try {
    if (Array.isArray(cmd.ops)) {
      result = [];
      for (const step of cmd.ops) result.push(await runOne(cmd, step));
    } else {
      result = await runOne(cmd, {});
    }
    ok = true;
  } catch (err) {
    process.stdout.write(`${JSON.stringify({ ok: false, error: String(err?.message ?? err), stack: String(err?.stack ?? '') })}\n`);
    process.exitCode = 1;
  }
  await Promise.all([...queues.values()].map((q) => q.close().catch(() => {})));
  if (ok) process.stdout.write(`${JSON.stringify({ ok: true, result: plain(result) })}\n`);
  process.exit(process.exitCode ?? 0);
}

main().catch((err) => {
  process.stdout.write(`${JSON.stringify({ ok: false, error: String(err?.message ?? err), stack: String(err?.stack ?? '') })}\n`);
  process.exit(1);
});
