--[[
  obliterate: delete a paused queue, at most `count` jobs per call (wire-format 15.6). Order:
  active (locks too), delayed, job schedulers, completed, wait, legacy paused, prioritized,
  failed; when everything fitted, the queue's own keys. waiting-children jobs, the limiter and
  deduplication keys are left, as Node leaves them.

  KEYS: the 19 queue keys.
  ARGV[1] base key, ARGV[2] count, ARGV[3] "1" = force (remove active jobs too)
  Returns: 0 done; 1 call again; -1 the queue is not paused; -2 active jobs and no force.
  Events: none (the events stream is deleted at the end).
]]
--- @include "queue_keys"
--- @include "chunked"
--- @include "remove_tree"

if call("HEXISTS", Q.meta, "paused") ~= 1 then return -1 end
local budget = tonumber(ARGV[2])

local active = call("LRANGE", Q.active, 0, budget - 1)
if #active > 0 and ARGV[3] ~= "1" then return -2 end
for _, job_id in ipairs(active) do
  call("DEL", BASE .. job_id .. ":lock")
  hard_remove(job_id)
end
call("LTRIM", Q.active, #active, -1)
budget = budget - #active
if budget <= 0 then return 1 end

local function purge_zset(key)
  local ids = call("ZRANGE", key, 0, budget - 1)
  for _, job_id in ipairs(ids) do hard_remove(job_id) end
  call_chunked("ZREM", key, ids)
  budget = budget - #ids
  return budget <= 0
end

local function purge_list(key)
  local ids = call("LRANGE", key, 0, budget - 1)
  for _, job_id in ipairs(ids) do hard_remove(job_id) end
  call("LTRIM", key, #ids, -1)
  budget = budget - #ids
  return budget <= 0
end

local function purge_schedulers()
  local ids = call("ZRANGE", Q["repeat"], 0, budget - 1)
  for _, scheduler_id in ipairs(ids) do call("DEL", Q["repeat"] .. ":" .. scheduler_id) end
  call_chunked("ZREM", Q["repeat"], ids)
  budget = budget - #ids
  return budget <= 0
end

if purge_zset(Q.delayed) then return 1 end
if purge_schedulers() then return 1 end
if purge_zset(Q.completed) then return 1 end
if purge_list(Q.wait) then return 1 end
if purge_list(Q.paused) then return 1 end
if purge_zset(Q.prioritized) then return 1 end
if purge_zset(Q.failed) then return 1 end

call("DEL", Q.events, BASE .. "delay", Q.stalled_check, Q.stalled, Q.id, Q.pc, Q.marker, Q.meta,
  Q.metrics_completed, Q.metrics_completed .. ":data", Q.metrics_failed, Q.metrics_failed .. ":data")
return 0
