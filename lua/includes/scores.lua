--[[
  Sorted-set scores. Prioritized: priority * 2^32 + (counter mod 2^32), FIFO within a priority.
  Delayed: due_ms * 4096 + k, where k keeps insertion order for jobs due in the same millisecond
  (capped at 4095; wire-format 5.2 and 5.3).
]]
--- @include "queue_keys"
local function priority_score(priority)
  local counter = call("INCR", Q.pc)
  return priority * 0x100000000 + counter % 0x100000000
end

local function delayed_score(due)
  local low = due * 0x1000
  local high = low + 0x0FFF
  local last = call("ZREVRANGEBYSCORE", Q.delayed, high, low, "WITHSCORES", "LIMIT", 0, 1)
  if last[2] then
    local taken = tonumber(last[2])
    if taken >= high then return high end
    return taken + 1
  end
  return low
end
