--[[
  changePriority: set a job's priority; a job that is waiting (wait or prioritized) is re-inserted
  under the new priority, a job in any other state keeps its place (wire-format 15.8). No event.

  KEYS: the 19 queue keys.
  ARGV[1] base key, ARGV[2] job id, ARGV[3] priority, ARGV[4] "1" for lifo
  Returns: 0, or -1 when the job does not exist.
]]
--- @include "queue_keys"
--- @include "markers"
--- @include "scores"
--- @include "enqueue"

local job_id = ARGV[2]
local job_key = BASE .. job_id
if call("EXISTS", job_key) == 0 then return -1 end
local priority = tonumber(ARGV[3])
local lifo = ARGV[4] == "1"

local was_waiting = call("ZREM", Q.prioritized, job_id) > 0 or call("LREM", Q.wait, -1, job_id) > 0
if was_waiting then
  if priority > 0 and lifo then
    -- push-back score: ahead of every peer of the same priority (5.2)
    call("ZADD", Q.prioritized, priority * 0x100000000, job_id)
    add_ready_marker(paused_or_maxed())
  else
    push_ready(job_id, priority, lifo)
  end
end
call("HSET", job_key, "priority", priority)
return 0
