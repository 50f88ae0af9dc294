--[[
  Finish a batch of active jobs (each to completed or finally failed) and fetch the next ones, in
  one atomic call (wire-format 8.5). Each job is handled exactly as BullMQ's moveToFinished
  handles one job (lock check and release, fields, atm + 1, retention, dedup release, parent
  bookkeeping, events, metrics); a job that fails its checks gets its own error code and does not
  stop the others.

  KEYS: the queue keys (queue_keys.lua)
  ARGV[1] queue base key "P:Q:"
  ARGV[2] now (client ms), used as finishedOn of every job of the batch
  ARGV[3] msgpack list of entries {id, token, failed, value, fields, keep_count, keep_age,
          keep_limit, attempts} (finish_job.lua)
  ARGV[4] msgpack fetch options (fetch_next.lua) plus `metrics` = max data points or nil;
          count 0 fetches nothing

  Returns {codes, jobs, limiter_ttl, next_delayed_due}: codes[i] is 0 or the error code of entry i
  (-1 missing, -2 lock missing, -3 not active, -4 pending children, -6 lock mismatch,
  -9 failed children); jobs as moveToActive.
  Events: per job completed|failed [, retries-exhausted]; active per fetched job; drained when
  nothing is left to do (no job fetched, not limited, paused or maxed, no delayed job, and wait,
  active and prioritized empty).
]]
--- @include "queue_keys"
--- @include "events"
--- @include "fetch_next"
--- @include "finish_job"

local now = tonumber(ARGV[2])
local entries = cmsgpack.unpack(ARGV[3])
local fo = cmsgpack.unpack(ARGV[4])

-- Trim before emitting, so this batch's own events are never the ones trimmed away.
trim_events()
local codes = {}
for i, entry in ipairs(entries) do
  codes[i] = finish_job(entry, now, fo.metrics)
end

local jobs, ttl, next_due, idle = fetch_jobs(now, fo)
if idle and call("LLEN", Q.wait) == 0 and call("LLEN", Q.active) == 0
    and call("ZCARD", Q.prioritized) == 0 then
  emit_untrimmed("drained")
end
return {codes, jobs, ttl, next_due}
