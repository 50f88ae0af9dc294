--[[
  Retry a failed attempt at once (wire-format 8.6, "retry, no delay"): the job goes back to wait
  (back of the line, or the front with lifo) or to prioritized, with atm + 1.

  KEYS: the queue keys (queue_keys.lua)
  ARGV[1] queue base key "P:Q:"
  ARGV[2] now (client ms)
  ARGV[3] job id
  ARGV[4] lock token ("0" = no lock check)
  ARGV[5] "1" when the job is lifo
  ARGV[6] msgpack flat list of job fields to set first (failedReason, stacktrace)

  Returns 0, or -1 missing job, -2 lock missing, -3 not active, -6 lock mismatch.
  Events: waiting {jobId, prev="active"} (and waiting {prev="delayed"} for promoted jobs).
]]
--- @include "queue_keys"
--- @include "events"
--- @include "locks"
--- @include "enqueue"
--- @include "promote_delayed"

local now = tonumber(ARGV[2])
local job_id = ARGV[3]
local job_key = BASE .. job_id
promote_due_delayed(now)
local code = leave_active(job_id, ARGV[4], ARGV[6])
if code < 0 then return code end
push_ready(job_id, tonumber(call("HGET", job_key, "priority")) or 0, ARGV[5] == "1")
call("HINCRBY", job_key, "atm", 1)
emit("waiting", "jobId", job_id, "prev", "active")
return 0
