--[[
  Creating a job: write its hash, emit "added", put it where it belongs, emit the kind's event
  (wire-format 7.1). Used by addJob and by the keep-last deduplication re-queue (dedup.lua), which
  the worker's finish script reaches through requeue_deduplicated_next().

  store_job(job_id, name, data, opts, timestamp, parent_key, parent_json, repeat_job_key)
    job_id          string, the new job's id (hash BASE .. job_id must not exist yet)
    name, data      strings (data is JSON text, stored verbatim)
    opts            decoded options table; stored as cjson.encode(opts), so the bytes match Node's
    timestamp       string or number, job creation time in ms (client clock)
    parent_key      full key of the parent job or nil; parent_json the "parent" field (JSON) or nil
    repeat_job_key  scheduler id ("rjk") or nil
    -> delay, priority (numbers read from opts)

  enqueue_new_job(job_id, opts, timestamp, delay, priority, as_parent)
    as_parent true: waiting-children (score = timestamp), event waiting-children.
    delay > 0: delayed zset at timestamp + delay, delayed marker, event delayed {delay = due ms}.
    otherwise wait (LPUSH, RPUSH when opts.lifo) or prioritized, base marker unless paused/maxed,
    event waiting.

  store_and_enqueue(...) = store_job + enqueue_new_job (same arguments as store_job, then as_parent).
]]
--- @include "queue_keys"
--- @include "events"
--- @include "enqueue"

local function store_job(job_id, name, data, opts, timestamp, parent_key, parent_json, repeat_job_key)
  local delay = tonumber(opts["delay"]) or 0
  local priority = tonumber(opts["priority"]) or 0
  local fields = {"name", name, "data", data, "opts", cjson.encode(opts), "timestamp", timestamp,
    "delay", delay, "priority", priority}
  local n = #fields
  if parent_key then
    fields[n + 1], fields[n + 2], fields[n + 3], fields[n + 4] = "parentKey", parent_key, "parent", parent_json
    n = n + 4
  end
  if repeat_job_key then
    fields[n + 1], fields[n + 2] = "rjk", repeat_job_key
    n = n + 2
  end
  local dedup = opts["de"]
  if type(dedup) == "table" and dedup["id"] then
    fields[n + 1], fields[n + 2] = "deid", dedup["id"]
  end
  call("HSET", BASE .. job_id, unpack(fields))
  emit_untrimmed("added", "jobId", job_id, "name", name)
  return delay, priority
end

local function enqueue_new_job(job_id, opts, timestamp, delay, priority, as_parent)
  if as_parent then
    call("ZADD", Q.waiting_children, timestamp, job_id)
    emit("waiting-children", "jobId", job_id)
  elseif delay > 0 then
    local due = tonumber(timestamp) + delay
    push_delayed(job_id, due)
    emit("delayed", "jobId", job_id, "delay", due)
  else
    push_ready(job_id, priority, opts["lifo"])
    emit("waiting", "jobId", job_id)
  end
end

local function store_and_enqueue(job_id, name, data, opts, timestamp, parent_key, parent_json,
                                 repeat_job_key, as_parent)
  local delay, priority = store_job(job_id, name, data, opts, timestamp, parent_key, parent_json,
    repeat_job_key)
  enqueue_new_job(job_id, opts, timestamp, delay, priority, as_parent)
end
