--[[
  drain: hard-remove every job that has not started: wait, legacy paused, prioritized and, when
  asked, delayed; the pending iteration of each job scheduler stays (wire-format 15.5). Active,
  finished and waiting-children jobs are untouched. No events.

  KEYS: the 19 queue keys.
  ARGV[1] base key, ARGV[2] "1" to drain delayed jobs too
  Returns: number of jobs removed.
]]
--- @include "queue_keys"
--- @include "chunked"
--- @include "remove_tree"

local keep = {}
local schedulers = call("ZRANGE", Q["repeat"], 0, -1, "WITHSCORES")
for i = 1, #schedulers, 2 do
  keep["repeat:" .. schedulers[i] .. ":" .. schedulers[i + 1]] = true
end

local count = 0

local function drain_list(key)
  local kept = {}
  for _, job_id in ipairs(call("LRANGE", key, 0, -1)) do
    if keep[job_id] then
      kept[#kept + 1] = job_id
    else
      hard_remove(job_id)
      count = count + 1
    end
  end
  call("DEL", key)
  call_chunked("RPUSH", key, kept)
end

local function drain_zset(key)
  local gone = {}
  for _, job_id in ipairs(call("ZRANGE", key, 0, -1)) do
    if not keep[job_id] then
      hard_remove(job_id)
      gone[#gone + 1] = job_id
    end
  end
  call_chunked("ZREM", key, gone)
  count = count + #gone
end

drain_list(Q.wait)
drain_list(Q.paused)
if ARGV[2] == "1" then drain_zset(Q.delayed) end
drain_zset(Q.prioritized)
return count
