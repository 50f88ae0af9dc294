--[[
  Queue flags and the marker zset that wakes blocked workers (wire-format 5.6, 6, 14.2).
  A missing marker never loses a job, it only delays pickup until a worker's block times out; so
  every path that makes a job ready calls add_ready_marker().
]]
--- @include "queue_keys"
local function paused_or_maxed()
  local flags = call("HMGET", Q.meta, "paused", "concurrency")
  if flags[1] then return true end
  if flags[2] then return call("LLEN", Q.active) >= tonumber(flags[2]) end
  return false
end

local function add_ready_marker(blocked)
  if not blocked then call("ZADD", Q.marker, 0, "0") end
end

local function next_delayed_due()
  local first = call("ZRANGE", Q.delayed, 0, 0, "WITHSCORES")
  if first[2] then return math.floor(tonumber(first[2]) / 0x1000) end
  return nil
end

local function add_delay_marker()
  local due = next_delayed_due()
  if due then call("ZADD", Q.marker, due, "1") end
end
