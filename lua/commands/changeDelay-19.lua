--[[
  changeDelay: reschedule a delayed job to now + delay (wire-format 15.8).

  KEYS: the 19 queue keys.
  ARGV[1] base key, ARGV[2] job id, ARGV[3] delay (ms), ARGV[4] now (ms, client clock)
  Returns: 0; -1 when the job does not exist; -3 when it is not delayed.
  Events: delayed {jobId, delay = due ms}.
]]
--- @include "queue_keys"
--- @include "events"
--- @include "markers"
--- @include "scores"

local job_id = ARGV[2]
local job_key = BASE .. job_id
if call("EXISTS", job_key) == 0 then return -1 end
local delay = tonumber(ARGV[3])
local due = tonumber(ARGV[4]) + math.max(delay, 0)
local score = delayed_score(due)
if call("ZREM", Q.delayed, job_id) == 0 then return -3 end
call("HSET", job_key, "delay", delay)
call("ZADD", Q.delayed, score, job_id)
emit("delayed", "jobId", job_id, "delay", due)
add_delay_marker()
return 0
