--[[
  updateJobScheduler: a worker starts iteration `producer` of a scheduler; create the next one
  (wire-format 12.5). Only the current iteration (repeat:<id>:<zset score>) may do so, so a
  re-delivered or stale iteration never forks the schedule, and a removed scheduler stops here.

  KEYS: the 19 queue keys.
  ARGV[1] base key
  ARGV[2] scheduler id
  ARGV[3] due ms of the next iteration for a cron scheduler ("" for `every`: computed here, 12.6)
  ARGV[4] msgpack iteration options (the producer's options with repeat.count, timestamp,
          prevMillis... updated); jobId and delay are filled in here
  ARGV[5] now (ms, client clock)
  ARGV[6] producer job id

  Returns the new iteration's job id, or nil when nothing was created.
  Events: added + delayed/waiting; duplicated {jobId} when the next iteration already exists.
]]
--- @include "queue_keys"
--- @include "events"
--- @include "scheduler"

local scheduler_id = ARGV[2]
local opts = cmsgpack.unpack(ARGV[4])
local now = tonumber(ARGV[5])

local prev = call("ZSCORE", Q["repeat"], scheduler_id)
if not prev then return nil end
prev = tonumber(prev)

local scheduler_key = Q["repeat"] .. ":" .. scheduler_id
local stored = call("HMGET", scheduler_key, "name", "data", "every", "startDate", "offset")
local repeat_opts = opts["repeat"] or {}
local every = tonumber(stored[3]) or tonumber(repeat_opts["every"])
local due = tonumber(ARGV[3])
if every then
  due = interval_slot(prev, every, now, stored[5] or repeat_opts["offset"] or 0, stored[4])
end

if ARGV[6] ~= iteration_id(scheduler_id, prev) then return nil end

local next_id = iteration_id(scheduler_id, due)
if call("EXISTS", BASE .. next_id) == 1 then
  emit("duplicated", "jobId", next_id)
  return nil
end

call("ZADD", Q["repeat"], due, scheduler_id)
call("HINCRBY", scheduler_key, "ic", 1)
local job_id = create_iteration(scheduler_id, due, stored[1] or scheduler_id, stored[2] or "{}", opts, now)
return job_id
