--[[
  upsertJobScheduler: create or replace a job scheduler and its pending iteration (wire-format 12.3).

  KEYS: the 19 queue keys.
  ARGV[1] base key
  ARGV[2] scheduler id
  ARGV[3] due ms of the iteration for a cron scheduler ("" for `every`: computed here, 12.6)
  ARGV[4] msgpack scheduler options {name, pattern?, every?, tz?, limit?, startDate?, endDate?,
          offset? (an explicit `every` offset)}
  ARGV[5] template data (JSON text)
  ARGV[6] msgpack template options, stored form
  ARGV[7] msgpack iteration options (template options + repeat, timestamp, prevMillis,
          repeatJobKey); jobId and delay are filled in here
  ARGV[8] now (ms, client clock)

  Returns {iteration job id, delay}; -10 when a cron iteration id is taken by another job, -11 when
  32 consecutive `every` slots are taken.
  Events: added + delayed/waiting for the new iteration. A replaced pending iteration is deleted
  without an event, as Node does.
]]
--- @include "queue_keys"
--- @include "scheduler"
--- @include "remove_tree"

local scheduler_id = ARGV[2]
local sopts = cmsgpack.unpack(ARGV[4])
local data = ARGV[5]
local template_opts = cmsgpack.unpack(ARGV[6])
local opts = cmsgpack.unpack(ARGV[7])
local now = tonumber(ARGV[8])
local scheduler_key = Q["repeat"] .. ":" .. scheduler_id

local prev = call("ZSCORE", Q["repeat"], scheduler_id)
prev = prev and tonumber(prev)

local every = tonumber(sopts["every"])
local due = tonumber(ARGV[3])
local every_changed = false
if every then
  local base = prev
  if prev and tonumber(call("HGET", scheduler_key, "every")) ~= every then
    base, every_changed = nil, true
  end
  local repeat_opts = opts["repeat"] or {}
  local explicit = sopts["offset"] or repeat_opts["offset"] or 0
  local offset
  due, offset = interval_slot(base, every, now, explicit, sopts["startDate"])
  sopts["phase"] = offset
end

-- The pending iteration, if it has not started yet, is replaced by the new one.
local replaced = false
if prev then
  local pending = iteration_id(scheduler_id, prev)
  if call("EXISTS", BASE .. pending) == 1 then
    local in_zset = call("ZREM", Q.delayed, pending) == 1 or call("ZREM", Q.prioritized, pending) == 1
    if in_zset or call("LREM", Q.wait, 1, pending) == 1 or call("LREM", Q.paused, 1, pending) == 1 then
      hard_remove(pending)
      replaced = true
    end
  end
end

if replaced then
  if every and not every_changed then due = prev end
elseif every then
  sopts["offset"] = sopts["phase"]
else
  sopts["offset"] = sopts["offset"] or 0
end
sopts["phase"] = nil

if call("EXISTS", BASE .. iteration_id(scheduler_id, due)) == 1 then
  if every then
    local tries = 0
    repeat
      due = due + every
      tries = tries + 1
    until call("EXISTS", BASE .. iteration_id(scheduler_id, due)) == 0 or tries >= 32
    if tries >= 32 and call("EXISTS", BASE .. iteration_id(scheduler_id, due)) == 1 then return -11 end
  elseif not replaced then
    return -10
  end
end

save_scheduler(scheduler_id, due, sopts, data, template_opts)
local name = sopts["name"]
local job_id, delay = create_iteration(scheduler_id, due, name, data, opts, now)
return {job_id, delay}
