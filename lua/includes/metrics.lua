--[[
  Per-minute throughput counters (wire-format 14.3). key = "...:metrics:completed|failed" (hash with
  count, prevTS, prevCount); its data points (newest first) live in key .. ":data".
]]
--- @include "queue_keys"
local function record_metrics(key, max_points, now)
  local before = call("HINCRBY", key, "count", 1) - 1
  local prev_ts = call("HGET", key, "prevTS")
  if not prev_ts then
    call("HSET", key, "prevTS", now, "prevCount", 0)
    return
  end
  local minutes = math.floor(now / 60000) - math.floor(tonumber(prev_ts) / 60000)
  if minutes > max_points then minutes = max_points end
  if minutes <= 0 then return end
  local data_key = key .. ":data"
  local delta = before - (tonumber(call("HGET", key, "prevCount")) or 0)
  -- Pushed on the left one by one: the delta first, so the zeros end up newer than it.
  call("LPUSH", data_key, delta)
  local zeros = minutes - 1
  while zeros > 0 do
    local chunk = math.min(zeros, 5000)
    local batch = {}
    for i = 1, chunk do batch[i] = 0 end
    call("LPUSH", data_key, unpack(batch))
    zeros = zeros - chunk
  end
  call("LTRIM", data_key, 0, max_points - 1)
  call("HSET", key, "prevCount", before, "prevTS", now)
end
