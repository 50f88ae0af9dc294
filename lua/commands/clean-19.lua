--[[
  clean: hard-remove up to `limit` jobs of one state that are older than the cutoff (wire-format
  15.4). Lists (wait, paused, active) are scanned from the tail (oldest first); locked active jobs
  and the pending iteration of a job scheduler are never cleaned.

  KEYS: the 19 queue keys.
  ARGV[1] base key
  ARGV[2] state: wait, paused, active, delayed, prioritized, or a finished zset (completed,
          failed, waiting-children...)
  ARGV[3] cutoff (ms): now - grace
  ARGV[4] limit (0 = no limit)
  Returns: the ids removed.
  Events: cleaned {count} (untrimmed), once per call. No removed events.
]]
--- @include "queue_keys"
--- @include "chunked"
--- @include "events"
--- @include "remove_tree"

local state, cutoff, limit = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local state_key = BASE .. state
local removed = {}

local function room_left()
  return limit <= 0 or #removed < limit
end

-- age of a job: the first of the given fields it has; a job with none of them is old
local function old_enough(job_key, fields)
  for _, value in ipairs(call("HMGET", job_key, unpack(fields))) do
    if value then return tonumber(value) <= cutoff end
  end
  return true
end

if state == "wait" or state == "paused" or state == "active" then
  local from = limit > 0 and -limit or 0
  local ids = call("LRANGE", state_key, from, -1)
  local taken = {}
  -- oldest first: the tail of the list
  for i = #ids, 1, -1 do
    if not room_left() then break end
    local job_id = ids[i]
    local job_key = BASE .. job_id
    if (state ~= "active" or call("EXISTS", job_key .. ":lock") == 0)
        and not is_scheduler_iteration(BASE, job_id)
        and old_enough(job_key, {"finishedOn", "processedOn", "timestamp"}) then
      hard_remove(job_id)
      removed[#removed + 1] = job_id
      taken[job_id] = true
    end
  end
  if #removed > 0 then
    local marker = "__pybull_clean__"
    for i = #ids, 1, -1 do
      if taken[ids[i]] then call("LSET", state_key, i - 1 - #ids, marker) end
    end
    call("LREM", state_key, 0, marker)
  end
else
  local finished = state ~= "delayed" and state ~= "prioritized"
  local max_score = finished and cutoff or "+inf"
  local range = {"ZRANGEBYSCORE", state_key, 0, max_score}
  if limit > 0 then
    range[#range + 1], range[#range + 2], range[#range + 3] = "LIMIT", 0, limit
  end
  local age_fields = state == "delayed" and {"processedOn", "timestamp"} or {"timestamp"}
  for _, job_id in ipairs(call(unpack(range))) do
    if not room_left() then break end
    local job_key = BASE .. job_id
    if finished or (not is_scheduler_iteration(BASE, job_id) and old_enough(job_key, age_fields)) then
      hard_remove(job_id)
      removed[#removed + 1] = job_id
    end
  end
  call_chunked("ZREM", state_key, removed)
end

emit_untrimmed("cleaned", "count", #removed)
return removed
