--[[
  promoteJobs: move up to `count` delayed jobs to wait whatever their due time (wire-format 15.7).

  KEYS: the 19 queue keys.
  ARGV[1] base key, ARGV[2] count
  Returns: 1 when `count` jobs were moved (call again), else 0.
  Events: waiting {jobId, prev = delayed} per job.
]]
--- @include "queue_keys"
--- @include "requeue_many"

return requeue_many("delayed", tonumber(ARGV[2]), "+inf")
