--[[
  Activating jobs for a worker (wire-format 8.3, 14.1, 14.2). One call may activate several jobs
  so that a worker with N free slots fills them in one round trip; every job still gets its own
  lock token, processedOn, ats + 1, limiter increment and "active" event, exactly as if it had
  been fetched alone.

  fetch_jobs(now, fo) with fo (a msgpack map from the worker):
    count         how many jobs at most (0 = only report the queue's state)
    token, seq    lock token of the i-th job (0-based) = token .. ":" .. (seq + i); token "0" = no lock
    lockDuration  lock PX in ms
    limiter       {max, duration} of the worker, or nil
    name          worker name for the "pb" field, or nil
  Returns jobs {id, token, fields, ...} (fields: HGETALL before activation, then the fields it
  wrote, which win when read into a dict), limiter ttl (ms, 0 = not limited), next delayed due (ms,
  0 = none), and true when nothing stands between the queue and a worker but an empty queue.
]]
--- @include "queue_keys"
--- @include "events"
--- @include "markers"
--- @include "promote_delayed"

-- 14.1: limited while the counter reached max and the key still has a positive TTL.
local function limiter_wait_ms(max_jobs)
  if not max_jobs then return 0 end
  local used = tonumber(call("GET", Q.limiter) or "0") or 0
  if used < max_jobs then return 0 end
  local ttl = call("PTTL", Q.limiter)
  if ttl > 0 then return ttl end
  if ttl == 0 then call("DEL", Q.limiter) end
  return 0
end

-- Right end of wait first (legacy "0:..." marker entries are dropped), then the best prioritized.
local function take_ready_job()
  local job_id = call("LMOVE", Q.wait, Q.active, "RIGHT", "LEFT")
  while job_id and string.sub(job_id, 1, 2) == "0:" do
    call("LREM", Q.active, 1, job_id)
    job_id = call("LMOVE", Q.wait, Q.active, "RIGHT", "LEFT")
  end
  if job_id then return job_id end
  local best = call("ZPOPMIN", Q.prioritized)
  if best[1] then
    call("LPUSH", Q.active, best[1])
    return best[1]
  end
  call("DEL", Q.pc)
  return nil
end

local function start_job(job_id, token, now, fo, max_jobs, duration)
  local job_key = BASE .. job_id
  if max_jobs and call("HEXISTS", job_key, "defa") == 0 then
    if call("INCR", Q.limiter) == 1 and duration then
      call("PEXPIRE", Q.limiter, math.floor(math.abs(duration)))
    end
  end
  if token ~= "0" then
    call("SET", job_key .. ":lock", token, "PX", fo.lockDuration)
  end
  emit_untrimmed("active", "jobId", job_id, "prev", "waiting")
  -- Read first, then one HSET with ats + 1 (instead of HSET, HINCRBY, HGETALL); the fields written
  -- are appended to the reply, where the worker's dict() lets them win over the old values.
  local hash = call("HGETALL", job_key)
  local started = 1
  for i = 1, #hash, 2 do
    if hash[i] == "ats" then
      started = (tonumber(hash[i + 1]) or 0) + 1
      break
    end
  end
  local processed_on = string.format("%d", now)
  local n = #hash
  hash[n + 1], hash[n + 2] = "processedOn", processed_on
  if fo.name then
    call("HSET", job_key, "processedOn", processed_on, "pb", fo.name, "ats", started)
    hash[n + 3], hash[n + 4], n = "pb", fo.name, n + 2
  else
    call("HSET", job_key, "processedOn", processed_on, "ats", started)
  end
  hash[n + 3], hash[n + 4] = "ats", tostring(started)
  return hash
end

local function fetch_jobs(now, fo)
  local meta = call("HMGET", Q.meta, "paused", "concurrency", "max", "duration")
  local global_concurrency = tonumber(meta[2])
  promote_due_delayed(now)
  local limiter = fo.limiter
  local max_jobs = tonumber(meta[3] or (limiter and limiter.max))
  local duration = tonumber((limiter and limiter.duration) or meta[4])
  local jobs = {}
  local taken = 0
  local ttl = limiter_wait_ms(max_jobs)
  local blocked = ttl > 0 or meta[1] ~= false
  if not blocked and global_concurrency then
    blocked = call("LLEN", Q.active) >= global_concurrency
  end
  while not blocked and taken < fo.count do
    local job_id = take_ready_job()
    if not job_id then break end
    local token = fo.token
    if token ~= "0" then token = token .. ":" .. (fo.seq + taken) end
    jobs[#jobs + 1] = job_id
    jobs[#jobs + 1] = token
    jobs[#jobs + 1] = start_job(job_id, token, now, fo, max_jobs, duration)
    taken = taken + 1
    ttl = limiter_wait_ms(max_jobs)
    blocked = ttl > 0
    if not blocked and global_concurrency then
      blocked = call("LLEN", Q.active) >= global_concurrency
    end
  end
  if taken > 0 then
    -- Always after an activation: other workers wake up and try for the rest.
    call("ZADD", Q.marker, 0, "0")
  end
  local next_due = 0
  if taken < fo.count or fo.count == 0 then next_due = next_delayed_due() or 0 end
  local idle = taken == 0 and not blocked and next_due == 0
  return jobs, ttl, next_due, idle
end
