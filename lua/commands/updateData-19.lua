--[[
  updateData: replace a job's data (wire-format 8.8). No event.

  KEYS: the 19 queue keys.
  ARGV[1] base key, ARGV[2] job id, ARGV[3] data (JSON text)
  Returns: 0, or -1 when the job does not exist.
]]
--- @include "queue_keys"

local job_key = BASE .. ARGV[2]
if call("EXISTS", job_key) == 0 then return -1 end
call("HSET", job_key, "data", ARGV[3])
return 0
