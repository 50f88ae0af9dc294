--[[
  Deduplication (wire-format 13). The key BASE.."de:"..id holds the id of the job that owns the
  deduplication id; BASE.."dn:"..id (keep-last mode) the newest payload rejected while the owner
  was active.

  deduplicate_on_add(de, job_id, job) -> existing id (the add is rejected) or nil (add proceeds)
    de       the decoded opts.de table {id, ttl?, extend?, replace?, reschedule?, keepLastIfActive?}
    job_id   the id the new job would get
    job      {name, data, opts, timestamp, parent_key, parent_json, parent_deps_key, repeat_job_key,
              as_parent}; as_parent restricts to the no-replace modes (as Node does for parents)
    Events: deduplicated; with replace also removed {prev = delayed}; with reschedule delayed.

  requeue_deduplicated_next(dedup_id, now)
    Called by the finish script when the owner leaves active: if "dn:<id>" exists, INCR id, create
    the stored job (id = its "jid") through store_and_enqueue, point "de:<id>" at it, add it to its
    parent's dependencies, then delete "dn:<id>". Events: added + waiting/delayed.
]]
--- @include "queue_keys"
--- @include "events"
--- @include "markers"
--- @include "scores"
--- @include "remove_job"
--- @include "store_job"

-- "Set the key" of 13.2: keep-last mode never expires; otherwise PX ttl when ttl > 0.
local function claim_dedup_key(key, job_id, de, only_if_absent)
  local args = {"SET", key, job_id}
  local ttl = tonumber(de["ttl"])
  if not de["keepLastIfActive"] and ttl and ttl > 0 then
    args[#args + 1] = "PX"
    args[#args + 1] = ttl
  end
  if only_if_absent then args[#args + 1] = "NX" end
  return call(unpack(args))
end

-- 6.7: a key without TTL whose owner hash is gone is stale; the new job takes it over.
local function took_over_stale_key(key, owner_id, job_id, de)
  if owner_id and call("PTTL", key) == -1 and call("EXISTS", BASE .. owner_id) == 0 then
    call("DEL", key, BASE .. "dn:" .. de["id"])
    claim_dedup_key(key, job_id, de, false)
    return true
  end
  return false
end

local function emit_deduplicated(kept_id, de, rejected_id)
  emit("deduplicated", "jobId", kept_id, "deduplicationId", de["id"], "deduplicatedJobId", rejected_id)
end

-- Keep-last: remember the rejected payload while the owner is active (13.4).
local function kept_for_later(de, owner_id, job_id, job)
  if not (de["keepLastIfActive"] and owner_id) then return false end
  if not call("LPOS", Q.active, owner_id) then return false end
  local next_key = BASE .. "dn:" .. de["id"]
  local fields = {"name", job.name, "data", job.data, "opts", cjson.encode(job.opts), "jid", job_id}
  if job.parent_key then
    fields[#fields + 1], fields[#fields + 2] = "pk", job.parent_key
  end
  if job.parent_json then
    fields[#fields + 1], fields[#fields + 2] = "pd", job.parent_json
  end
  if job.parent_deps_key then
    fields[#fields + 1], fields[#fields + 2] = "pdk", job.parent_deps_key
  end
  if job.repeat_job_key then
    fields[#fields + 1], fields[#fields + 2] = "rjk", job.repeat_job_key
  end
  call("DEL", next_key)
  call("HSET", next_key, unpack(fields))
  call("PERSIST", BASE .. "de:" .. de["id"])
  emit_deduplicated(owner_id, de, job_id)
  return true
end

-- Owner already there, add rejected: keep-last payload, else a deduplicated event.
local function reject_add(key, owner_id, job_id, de, job)
  if took_over_stale_key(key, owner_id, job_id, de) then return nil end
  if not kept_for_later(de, owner_id, job_id, job) then emit_deduplicated(owner_id, de, job_id) end
  return owner_id
end

local function dedup_without_replace(key, de, job_id, job)
  local ttl = tonumber(de["ttl"])
  if ttl and ttl > 0 and de["extend"] then
    local owner_id = call("GET", key)
    if not owner_id then
      claim_dedup_key(key, job_id, de, false)
      return nil
    end
    if took_over_stale_key(key, owner_id, job_id, de) then return nil end
    if kept_for_later(de, owner_id, job_id, job) then return owner_id end
    claim_dedup_key(key, owner_id, de, false) -- restart the window for the owner
    emit_deduplicated(owner_id, de, job_id)
    return owner_id
  end
  if claim_dedup_key(key, job_id, de, true) then return nil end
  return reject_add(key, call("GET", key), job_id, de, job)
end

local function dedup_with_replace(key, de, job_id, job)
  local owner_id = call("GET", key)
  if not owner_id then
    claim_dedup_key(key, job_id, de, false)
    return nil
  end
  if call("ZREM", Q.delayed, owner_id) == 1 then
    -- the owner has not started yet: the new job replaces it
    remove_job_keys(BASE .. owner_id)
    emit_untrimmed("removed", "jobId", owner_id, "prev", "delayed")
    emit("deduplicated", "jobId", job_id, "deduplicationId", de["id"], "deduplicatedJobId", owner_id)
    call("DEL", BASE .. "dn:" .. de["id"])
    local ttl = tonumber(de["ttl"])
    if not de["keepLastIfActive"] and not de["extend"] and ttl and ttl > 0 then
      call("SET", key, job_id, "KEEPTTL")
    else
      claim_dedup_key(key, job_id, de, false)
    end
    return nil
  end
  if took_over_stale_key(key, owner_id, job_id, de) then return nil end
  -- BullMQ 6.7 emits no deduplicated event on this path unless keep-last stored the payload
  kept_for_later(de, owner_id, job_id, job)
  return owner_id
end

local function deduplicate_on_add(de, job_id, job)
  local key = BASE .. "de:" .. de["id"]
  if de["replace"] and not job.as_parent then
    return dedup_with_replace(key, de, job_id, job)
  end
  local owner_id = dedup_without_replace(key, de, job_id, job)
  if owner_id and de["reschedule"] and not job.as_parent and call("ZSCORE", Q.delayed, owner_id) then
    -- 6.7 reschedule: the waiting owner moves to the rejected add's due time
    local delay = tonumber(job.opts["delay"]) or 0
    local due = tonumber(job.timestamp) + math.max(delay, 0)
    call("HSET", BASE .. owner_id, "delay", delay)
    call("ZADD", Q.delayed, delayed_score(due), owner_id)
    emit("delayed", "jobId", owner_id, "delay", due)
    add_delay_marker()
  end
  return owner_id
end

local function requeue_deduplicated_next(dedup_id, now)
  local next_key = BASE .. "dn:" .. dedup_id
  if call("EXISTS", next_key) == 0 then return end
  local saved = call("HMGET", next_key, "name", "data", "opts", "pk", "pd", "pdk", "rjk", "jid")
  local counter = call("INCR", Q.id)
  local job_id = saved[8] or tostring(counter)
  local opts = cjson.decode(saved[3])
  local de = opts["de"] or {}
  claim_dedup_key(BASE .. "de:" .. dedup_id, job_id, de, false)
  store_and_enqueue(job_id, saved[1], saved[2], opts, now, saved[4] or nil, saved[5] or nil,
    saved[7] or nil, false)
  if saved[6] then call("SADD", saved[6], BASE .. job_id) end
  call("DEL", next_key)
end
