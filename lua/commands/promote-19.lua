--[[
  promote: run a delayed job now, at the back of the line (wire-format 15.8).

  KEYS: the 19 queue keys.
  ARGV[1] base key, ARGV[2] job id
  Returns: 0, or -3 when the job is not delayed.
  Events: waiting {jobId, prev = delayed} (untrimmed).
]]
--- @include "queue_keys"
--- @include "events"
--- @include "markers"
--- @include "scores"
--- @include "enqueue"

local job_id = ARGV[2]
if call("ZREM", Q.delayed, job_id) == 0 then return -3 end
local job_key = BASE .. job_id
-- a legacy v5 "0:<n>" marker at the head of wait is obsolete once a real job is there
local head = call("LINDEX", Q.wait, 0)
if head and string.sub(head, 1, 2) == "0:" then call("LPOP", Q.wait) end
push_ready(job_id, tonumber(call("HGET", job_key, "priority")) or 0, false)
emit_untrimmed("waiting", "jobId", job_id, "prev", "delayed")
call("HSET", job_key, "delay", 0)
return 0
