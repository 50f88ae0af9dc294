--[[
  Parents and children across queues (wire-format 11 and 15.10). A parent may live in another
  queue, even under another prefix, so nothing here uses Q: a queue is named by its base key
  "P':Q':" (a job key minus its id).

  job_key_parts(job_key) -> base, id          id = the text after the last colon (4.3)
  queue_blocked(base) -> bool                 paused, or active >= global concurrency
  emit_at(base, trimmed, name, ...)           event on that queue's stream (MAXLEN ~ its maxLenEvents)
  release_parent(parent_key, now)             11.4: leave waiting-children by the parent's delay /
                                              priority (caller removed it from waiting-children)
  release_parent_if_no_pending(parent_key, now)  same, if it exists, has no pending dependencies and
                                              is still in waiting-children
  record_processed_child(parent_key, child_key, returnvalue, now, defer)  a child that is already
                                              completed joins a parent: :processed, maybe release
  detach_from_parent(job_key, hard, parent_key) removal rules of 15.10; parent_key nil = read it from
                                              the job hash. Returns true if the job was pending.
  rejoin_parent(job_key, prev_state)          11.7: a retried finished child becomes a pending
                                              dependency again (the parent is not moved back)
]]
--- @include "queue_keys"
--- @include "events"
--- @include "remove_job"

local function job_key_parts(job_key)
  local id = string.match(job_key, ".*:(.*)")
  return string.sub(job_key, 1, #job_key - #id), id
end

local function queue_blocked(base)
  local flags = call("HMGET", base .. "meta", "paused", "concurrency")
  if flags[1] then return true end
  if flags[2] then return call("LLEN", base .. "active") >= tonumber(flags[2]) end
  return false
end

local function events_limit_at(base)
  if base == BASE then return max_events() end
  local limit = call("HGET", base .. "meta", "opts.maxLenEvents")
  if not limit then
    limit = 10000
    call("HSET", base .. "meta", "opts.maxLenEvents", limit)
  end
  return limit
end

local function emit_at(base, trimmed, name, ...)
  if trimmed then
    call("XADD", base .. "events", "MAXLEN", "~", events_limit_at(base), "*", "event", name, ...)
  else
    call("XADD", base .. "events", "*", "event", name, ...)
  end
end

local function mark_ready_at(base)
  if not queue_blocked(base) then call("ZADD", base .. "marker", 0, "0") end
end

local function release_parent(parent_key, now)
  local base, parent_id = job_key_parts(parent_key)
  local attrs = call("HMGET", parent_key, "priority", "delay")
  local priority = tonumber(attrs[1]) or 0
  local delay = tonumber(attrs[2]) or 0
  if delay > 0 then
    local due = tonumber(now) + delay
    call("ZADD", base .. "delayed", due * 0x1000, parent_id)
    emit_at(base, false, "delayed", "jobId", parent_id, "delay", due)
    local first = call("ZRANGE", base .. "delayed", 0, 0, "WITHSCORES")
    if first[2] then call("ZADD", base .. "marker", math.floor(tonumber(first[2]) / 0x1000), "1") end
    return
  end
  if priority > 0 then
    local counter = call("INCR", base .. "pc")
    call("ZADD", base .. "prioritized", priority * 0x100000000 + counter % 0x100000000, parent_id)
  else
    call("RPUSH", base .. "wait", parent_id)
  end
  mark_ready_at(base)
  emit_at(base, false, "waiting", "jobId", parent_id, "prev", "waiting-children")
end

local function release_parent_if_no_pending(parent_key, now)
  if call("SCARD", parent_key .. ":dependencies") > 0 then return end
  if call("EXISTS", parent_key) == 0 then return end
  local base, parent_id = job_key_parts(parent_key)
  if call("ZREM", base .. "waiting-children", parent_id) == 1 then
    release_parent(parent_key, now)
  end
end

local function record_processed_child(parent_key, child_key, returnvalue, now, defer)
  call("HSET", parent_key .. ":processed", child_key, returnvalue or "null")
  if not defer then release_parent_if_no_pending(parent_key, now) end
end

-- Removal path: the parent goes to the front of wait whatever its delay/priority (15.10).
local function release_parent_to_front(base, parent_id, with_event)
  call("RPUSH", base .. "wait", parent_id)
  mark_ready_at(base)
  if with_event then
    emit_at(base, false, "waiting", "jobId", parent_id, "prev", "waiting-children")
  end
end

local detach_from_parent
detach_from_parent = function(job_key, hard, parent_key)
  if not parent_key then
    parent_key = call("HGET", job_key, "parentKey")
    if not parent_key or parent_key == "" or call("EXISTS", parent_key) == 0 then return false end
  end
  local deps_key = parent_key .. ":dependencies"
  if call("SREM", deps_key, job_key) == 0 then return false end
  if call("SCARD", deps_key) > 0 then return true end
  local base, parent_id = job_key_parts(parent_key)
  if call("ZREM", base .. "waiting-children", parent_id) == 0 then return true end
  if not hard then
    release_parent_to_front(base, parent_id, true)
  elseif base == BASE then
    -- hard removal in the same queue takes the orphaned parent with it
    detach_from_parent(parent_key, true, nil)
    remove_dedup_key_if_owned(parent_key, parent_id)
    remove_job_keys(parent_key)
  else
    release_parent_to_front(base, parent_id, false)
  end
  return true
end

local function rejoin_parent(job_key, prev_state)
  local parent_key = call("HGET", job_key, "parentKey")
  if not parent_key or call("EXISTS", parent_key) == 0 then return end
  local recorded
  if prev_state == "failed" then
    recorded = call("ZREM", parent_key .. ":unsuccessful", job_key) == 1
      or call("HDEL", parent_key .. ":failed", job_key) == 1
  else
    recorded = call("HDEL", parent_key .. ":processed", job_key) == 1
  end
  if recorded then call("SADD", parent_key .. ":dependencies", job_key) end
end
