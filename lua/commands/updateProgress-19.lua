--[[
  updateProgress: store a job's progress and announce it (wire-format 8.8).

  KEYS: the 19 queue keys.
  ARGV[1] base key, ARGV[2] job id, ARGV[3] progress (JSON text)
  Returns: 0, or -1 when the job does not exist.
  Events: progress {jobId, data}.
]]
--- @include "queue_keys"
--- @include "events"

local job_key = BASE .. ARGV[2]
if call("EXISTS", job_key) == 0 then return -1 end
call("HSET", job_key, "progress", ARGV[3])
emit("progress", "jobId", ARGV[2], "data", ARGV[3])
return 0
