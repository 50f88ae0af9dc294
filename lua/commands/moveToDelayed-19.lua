--[[
  Move an active job to delayed (wire-format 8.6 "retry, delay > 0", and job.move_to_delayed):
  due = now + delay, delay field = delay, atm + 1 unless the attempt is skipped (the processor
  moved the job itself), delayed marker for blocked workers.

  KEYS: the queue keys (queue_keys.lua)
  ARGV[1] queue base key "P:Q:"
  ARGV[2] now (client ms)
  ARGV[3] job id
  ARGV[4] lock token ("0" = no lock check)
  ARGV[5] delay (ms, >= 0)
  ARGV[6] "1" = skip attempt (no atm increment)
  ARGV[7] msgpack flat list of job fields to set first (failedReason, stacktrace)

  Returns 0, or -1 missing job, -2 lock missing, -3 not active, -6 lock mismatch.
  Events: delayed {jobId, delay=<due ms>}.
]]
--- @include "queue_keys"
--- @include "events"
--- @include "locks"
--- @include "markers"
--- @include "scores"

local now = tonumber(ARGV[2])
local job_id = ARGV[3]
local job_key = BASE .. job_id
local delay = tonumber(ARGV[5]) or 0
local code = leave_active(job_id, ARGV[4], ARGV[7])
if code < 0 then return code end
local due = now
if delay > 0 then due = now + delay end
if ARGV[6] ~= "1" then call("HINCRBY", job_key, "atm", 1) end
call("HSET", job_key, "delay", delay)
call("ZADD", Q.delayed, delayed_score(due), job_id)
emit("delayed", "jobId", job_id, "delay", due)
add_delay_marker()
return 0
