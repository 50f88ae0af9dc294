--[[
  retryJobs: move up to `count` failed (or completed) jobs finished at or before `timestamp` back
  to wait (wire-format 15.7).

  KEYS: the 19 queue keys.
  ARGV[1] base key, ARGV[2] state ("failed" or "completed"), ARGV[3] count, ARGV[4] timestamp (ms)
  Returns: 1 when `count` jobs were moved (call again), else 0.
  Events: waiting {jobId, prev = state} per job.
]]
--- @include "queue_keys"
--- @include "requeue_many"

return requeue_many(ARGV[2], tonumber(ARGV[3]), ARGV[4])
