// Node BullMQ 6.7.0 adapter for the pybull benchmark suite.
//
// Same roles, flags, READY/GO handshake and JSON result line as benchmarks/adapters/common.py.
// CPU is process.cpuUsage() over the measured window; RSS is the process peak (resourceUsage().maxRSS).
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { performance } from "node:perf_hooks";
import { Queue, Worker } from "bullmq";
import IORedis from "ioredis";

const require = createRequire(import.meta.url);
const VERSION = require("bullmq/package.json").version;
const JOB_NAME = "bench";

function parseArgs(argv) {
  const args = {
    n: 0, chunk: 1000, concurrency: 1, removeOnComplete: false,
    untilEmpty: false, latency: false, intervalMs: 2, maxSeconds: 0,
  };
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i];
    const next = () => argv[++i];
    switch (key) {
      case "--url": args.url = next(); break;
      case "--queue": args.queue = next(); break;
      case "--role": args.role = next(); break;
      case "--n": args.n = Number(next()); break;
      case "--chunk": args.chunk = Number(next()); break;
      case "--concurrency": args.concurrency = Number(next()); break;
      case "--interval-ms": args.intervalMs = Number(next()); break;
      case "--max-seconds": args.maxSeconds = Number(next()); break;
      case "--remove-on-complete": args.removeOnComplete = true; break;
      case "--until-empty": args.untilEmpty = true; break;
      case "--latency": args.latency = true; break;
      default: throw new Error(`unknown argument ${key}`);
    }
  }
  return args;
}

const nowMs = () => performance.timeOrigin + performance.now();
const cpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
// Peak RSS from /proc's VmHWM (resourceUsage().maxRSS can carry the parent's size across fork+exec).
function peakRssMb() {
  try {
    const m = /VmHWM:\s+(\d+)/.exec(readFileSync("/proc/self/status", "ascii"));
    if (m) return Number(m[1]) / 1024;
  } catch { /* not Linux */ }
  return process.resourceUsage().maxRSS / 1024;
}
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function percentile(values, pct) {
  if (values.length === 0) return null;
  const ordered = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((pct / 100) * ordered.length));
  return Math.round(ordered[rank - 1] * 1000) / 1000;
}

const stdinLines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
async function handshake() {
  process.stdout.write("READY\n");
  await stdinLines.next();
}

class Clock {
  constructor() { this.latencies = []; this.count = 0; }
  start() { this.cpuStart = cpuSeconds(); this.tStart = nowMs() / 1000; }
  stop() { this.tEnd = nowMs() / 1000; this.cpuEnd = cpuSeconds(); }
}

function emit(clock, extra = {}) {
  const seconds = Math.max(clock.tEnd - clock.tStart, 1e-9);
  const line = {
    version: VERSION,
    count: clock.count,
    t_start: clock.tStart,
    t_end: clock.tEnd,
    seconds: Math.round(seconds * 10000) / 10000,
    jobs_per_s: Math.round((clock.count / seconds) * 10) / 10,
    p50_ms: percentile(clock.latencies, 50),
    p95_ms: percentile(clock.latencies, 95),
    p99_ms: percentile(clock.latencies, 99),
    worker_rss_mb: Math.round(peakRssMb() * 10) / 10,
    worker_cpu_s: Math.round((clock.cpuEnd - clock.cpuStart) * 1000) / 1000,
    ...extra,
  };
  process.stdout.write(JSON.stringify(line) + "\n");
}

// A close() that never returns is a finding, not a reason to hang the benchmark: note it and go on.
const notes = [];
async function bounded(promise, what) {
  let timer;
  const timeout = new Promise((resolve) => { timer = setTimeout(() => resolve("timeout"), 15000); });
  const outcome = await Promise.race([promise.then(() => "done"), timeout]);
  clearTimeout(timer);
  if (outcome === "timeout") notes.push(`${what} did not return within 15 s`);
}

function connectionFor(url) {
  // BullMQ requires maxRetriesPerRequest: null on connections used by workers.
  return new IORedis(url, { maxRetriesPerRequest: null });
}

async function enqueue(args, bulk) {
  const connection = connectionFor(args.url);
  const queue = new Queue(args.queue, { connection });
  await queue.waitUntilReady();
  const opts = args.removeOnComplete ? { removeOnComplete: true } : {};
  const clock = new Clock();
  if (args.role !== "preload") await handshake();
  clock.start();
  if (bulk) {
    for (let base = 0; base < args.n; base += args.chunk) {
      const jobs = [];
      for (let i = base; i < Math.min(base + args.chunk, args.n); i++) {
        jobs.push({ name: JOB_NAME, data: { i }, opts });
      }
      const t0 = nowMs();
      await queue.addBulk(jobs);
      clock.latencies.push(nowMs() - t0);
      clock.count += jobs.length;
    }
  } else {
    for (let i = 0; i < args.n; i++) {
      const t0 = nowMs();
      await queue.add(JOB_NAME, { i }, opts);
      clock.latencies.push(nowMs() - t0);
      clock.count += 1;
    }
  }
  clock.stop();
  await queue.close();
  await connection.quit();
  emit(clock);
}

async function produceTimed(args) {
  const connection = connectionFor(args.url);
  const queue = new Queue(args.queue, { connection });
  await queue.waitUntilReady();
  const opts = args.removeOnComplete ? { removeOnComplete: true } : {};
  const clock = new Clock();
  await handshake();
  clock.start();
  const begin = nowMs();
  for (let i = 0; i < args.n; i++) {
    const due = begin + i * args.intervalMs;
    const wait = due - nowMs();
    if (wait > 0) await sleep(wait);
    await queue.add(JOB_NAME, { i, t: nowMs() }, opts);
    clock.count += 1;
  }
  clock.stop();
  await queue.close();
  await connection.quit();
  emit(clock);
}

async function work(args) {
  const connection = connectionFor(args.url);
  const clock = new Clock();
  let resolveDone;
  const done = new Promise((resolve) => { resolveDone = resolve; });
  const worker = new Worker(args.queue, async () => null, {
    connection,
    concurrency: args.concurrency,
    autorun: false,
  });
  let lastDone = 0;
  worker.on("completed", (job) => {
    lastDone = nowMs();
    if (args.latency) clock.latencies.push(lastDone - job.data.t);
    clock.count += 1;
    if (args.untilEmpty) return;
    const boxed = args.maxSeconds > 0 && lastDone / 1000 - clock.tStart >= args.maxSeconds;
    if (clock.count >= args.n || boxed) resolveDone();
  });
  worker.on("error", (err) => process.stderr.write(`worker error: ${err}\n`));
  await worker.waitUntilReady();
  const probe = connectionFor(args.url);
  const waitKey = `bull:${args.queue}:wait`;
  await handshake();
  clock.start();
  const running = worker.run();
  if (args.untilEmpty) {
    // Fleet: stop once nothing is left to hand out; close() then waits for this worker's active jobs.
    while ((await probe.llen(waitKey)) > 0) await sleep(10);
    await bounded(worker.close(), "Worker.close()");
    clock.stop();
    clock.tEnd = lastDone ? lastDone / 1000 : clock.tStart; // the fleet is done when its last job is
  } else {
    await done;
    clock.stop();
    await bounded(worker.close(), "Worker.close()");
  }
  await bounded(running, "Worker.run()");
  if (notes.length) {
    emit(clock, { note: notes.join("; ") });
    process.exit(0);
  }
  await probe.quit();
  await connection.quit();
  emit(clock);
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  switch (args.role) {
    case "version": process.stdout.write(JSON.stringify({ version: VERSION }) + "\n"); break;
    case "enqueue-single": await enqueue(args, false); break;
    case "enqueue-bulk":
    case "preload": await enqueue(args, true); break;
    case "produce-timed": await produceTimed(args); break;
    case "work": await work(args); break;
    default: throw new Error(`unknown role ${args.role}`);
  }
  process.exit(0);
}

main().catch((err) => {
  process.stderr.write(`${err.stack || err}\n`);
  process.exit(1);
});
