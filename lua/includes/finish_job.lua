--[[
  Moving one active job to completed or failed for good (wire-format 8.5, 11.3, 11.5, 13.3).

  finish_job(e, now, metric_points) with e = {id, token, failed (0/1), value, fields, keep_count,
  keep_age, keep_limit, attempts}: value is the returnvalue JSON or the failedReason text; fields a
  flat list HSET before anything else (failedReason, stacktrace); keep_* the resolved retention
  rule (keep_jobs.lua); attempts = opts.attempts for the retries-exhausted event.
  Returns 0, or -1 missing job, -2 lock missing, -3 not active, -4 pending children, -6 lock held
  by another token, -9 failed children. A failing code leaves the job untouched (as far as the
  checks before it go) and never affects the other jobs of a batch.
  The caller trims the events stream once before the first finish_job of a script.

  Cost: Redis runs a script's whole body on every call, so every helper it defines is a closure
  built per call. The helpers a plain finish never needs (flows, deduplication, retention pruning,
  metrics) are therefore defined on first use, by occasional(). Their includes are expanded inside
  that function, so a script must include finish_job after every include its own top level uses.
]]
--- @include "queue_keys"
--- @include "events"
--- @include "locks"

local occasional_helpers
local function occasional()
  if occasional_helpers then return occasional_helpers end
--- @include "remove_job"
--- @include "parent"
--- @include "keep_jobs"
--- @include "metrics"
--- @include "dedup"

  -- 13.3: a key without TTL that still names this job goes; a throttle window (TTL left) stays.
  local function release_dedup_on_finish(dedup_id, job_id, now)
    local dedup_key = BASE .. "de:" .. dedup_id
    local ttl = call("PTTL", dedup_key)
    if ttl == 0 or (ttl == -1 and call("GET", dedup_key) == job_id) then
      call("DEL", dedup_key)
    end
    requeue_deduplicated_next(dedup_id, now)
  end

  occasional_helpers = {
    release_dedup_on_finish = release_dedup_on_finish, parent_of = parent_of,
    child_completed = child_completed, child_failed = child_failed,
    remove_job_keys = remove_job_keys, detach_from_parent = detach_from_parent,
    prune_finished = prune_finished, record_metrics = record_metrics,
  }
  return occasional_helpers
end

local function finish_job(e, now, metric_points)
  local job_id, token, failed, value = e[1], e[2], e[3] == 1, e[4]
  local job_key = BASE .. job_id
  if call("EXISTS", job_key) == 0 then return -1 end
  -- (empty sets and zsets do not exist: one EXISTS answers both checks in the common case)
  if not failed and call("EXISTS", job_key .. ":dependencies", job_key .. ":unsuccessful") > 0 then
    if call("SCARD", job_key .. ":dependencies") > 0 then return -4 end
    return -9
  end
  local code = release_lock(job_id, token)
  if code < 0 then return code end
  if e[5] and #e[5] > 0 then call("HSET", job_key, unpack(e[5])) end
  if call("LREM", Q.active, -1, job_id) == 0 then return -3 end

  local info = call("HMGET", job_key, "parentKey", "parent", "deid", "atm")
  if info[3] then occasional().release_dedup_on_finish(info[3], job_id, now) end
  local parent_key, policy
  if info[1] or info[2] then
    local o = occasional()
    parent_key, policy = o.parent_of(info[1] or nil, info[2] or nil)
    if parent_key then
      if failed then
        o.child_failed(job_key, parent_key, policy, value, now)
      else
        o.child_completed(job_key, parent_key, value, now)
      end
    end
  end

  -- atm + 1 goes in with the result (one HSET instead of HINCRBY + HSET; a removed job needs neither)
  local attempts_made = (tonumber(info[4]) or 0) + 1
  local target = failed and Q.failed or Q.completed
  local field = failed and "failedReason" or "returnvalue"
  local keep_count = tonumber(e[6]) or -1
  if keep_count == 0 then
    local o = occasional()
    o.remove_job_keys(job_key)
    if parent_key then o.detach_from_parent(job_key, false, parent_key) end
  else
    call("ZADD", target, now, job_id)
    call("HSET", job_key, "atm", attempts_made, field, value, "finishedOn", now)
    if failed then call("HDEL", job_key, "defa") end
    local keep_age = tonumber(e[7])
    if keep_age or keep_count > 0 then
      occasional().prune_finished(target, now, keep_count, keep_age, tonumber(e[8]))
    end
  end

  emit_untrimmed(failed and "failed" or "completed", "jobId", job_id, field, value, "prev", "active")
  if failed and attempts_made >= (tonumber(e[9]) or 0) then
    emit_untrimmed("retries-exhausted", "jobId", job_id, "attemptsMade", attempts_made)
  end
  if metric_points then
    occasional().record_metrics(failed and Q.metrics_failed or Q.metrics_completed, metric_points, now)
  end
  return 0
end
