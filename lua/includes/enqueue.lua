--[[
  Putting a job where workers find it.
  push_ready: priority > 0 -> prioritized; else wait (LPUSH = back of the line, RPUSH = front).
  push_delayed: delayed zset + the "1" marker with the earliest due time.
]]
--- @include "queue_keys"
--- @include "markers"
--- @include "scores"

local function push_ready(job_id, priority, to_front)
  if priority and priority > 0 then
    call("ZADD", Q.prioritized, priority_score(priority), job_id)
  elseif to_front then
    call("RPUSH", Q.wait, job_id)
  else
    call("LPUSH", Q.wait, job_id)
  end
  add_ready_marker(paused_or_maxed())
end

local function push_delayed(job_id, due)
  call("ZADD", Q.delayed, delayed_score(due), job_id)
  add_delay_marker()
end
