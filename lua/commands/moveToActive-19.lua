--[[
  Activate up to `count` jobs for a worker: promote due delayed jobs, honour pause, global
  concurrency and the rate limiter, then move jobs from wait (right end) or prioritized to active,
  each with its own lock (wire-format 8.3).

  KEYS: the queue keys (queue_keys.lua)
  ARGV[1] queue base key "P:Q:"
  ARGV[2] now (client ms)
  ARGV[3] msgpack fetch options {count, token, seq, lockDuration, limiter, name} (fetch_next.lua)

  Returns {jobs, limiter_ttl, next_delayed_due} where jobs = {id, token, {field, value, ...}, ...}
  (fetch_next.lua: a field may repeat, the last value wins).
  Events: active {jobId, prev="waiting"} per job; waiting {prev="delayed"} per promoted job.
]]
--- @include "queue_keys"
--- @include "fetch_next"

local jobs, ttl, next_due = fetch_jobs(tonumber(ARGV[2]), cmsgpack.unpack(ARGV[3]))
return {jobs, ttl, next_due}
