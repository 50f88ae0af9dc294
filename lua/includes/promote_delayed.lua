--[[
  Move delayed jobs that are due (score <= (now + 1) * 4096 - 1) to wait or prioritized, at most
  1000 per call; lifo is ignored (wire-format 5.3). Called by every fetch, so due jobs never wait
  for a separate timer.
]]
--- @include "queue_keys"
--- @include "events"
--- @include "markers"
--- @include "scores"

local function promote_due_delayed(now)
  local due = call("ZRANGEBYSCORE", Q.delayed, 0, (now + 1) * 0x1000 - 1, "LIMIT", 0, 1000)
  if #due == 0 then return end
  call("ZREM", Q.delayed, unpack(due))
  for _, job_id in ipairs(due) do
    local job_key = BASE .. job_id
    local priority = tonumber(call("HGET", job_key, "priority")) or 0
    if priority > 0 then
      call("ZADD", Q.prioritized, priority_score(priority), job_id)
    else
      call("LPUSH", Q.wait, job_id)
    end
    emit_untrimmed("waiting", "jobId", job_id, "prev", "delayed")
    call("HSET", job_key, "delay", 0)
  end
  add_ready_marker(paused_or_maxed())
end
