--[[
  reprocessJob: job.retry(state) - put a completed or failed job back in line (wire-format 15.8).
  Priority > 0 goes to prioritized (6.7), else wait (LPUSH, RPUSH with lifo). A child rejoins its
  parent's pending dependencies (11.7).

  KEYS: the 19 queue keys.
  ARGV[1] base key, ARGV[2] job id, ARGV[3] state ("failed" or "completed"), ARGV[4] "1" = lifo,
  ARGV[5] "1" = reset attemptsMade, ARGV[6] "1" = reset attemptsStarted
  Returns: 0; -1 when the job does not exist; -3 when it is not in that state.
  Events: waiting {jobId, prev = state}.
]]
--- @include "queue_keys"
--- @include "events"
--- @include "markers"
--- @include "scores"
--- @include "enqueue"
--- @include "flow_parent"

local job_id, state = ARGV[2], ARGV[3]
local job_key = BASE .. job_id
if call("EXISTS", job_key) == 0 then return -1 end
if call("ZREM", BASE .. state, job_id) == 0 then return -3 end

local cleared = {"finishedOn", "processedOn", state == "completed" and "returnvalue" or "failedReason"}
if ARGV[5] == "1" then cleared[#cleared + 1] = "atm" end
if ARGV[6] == "1" then cleared[#cleared + 1] = "ats" end
call("HDEL", job_key, unpack(cleared))

push_ready(job_id, tonumber(call("HGET", job_key, "priority")) or 0, ARGV[4] == "1")
rejoin_parent(job_key, state)
emit("waiting", "jobId", job_id, "prev", state)
return 0
