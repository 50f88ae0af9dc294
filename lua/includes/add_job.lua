--[[
  Adding one job (wire-format 4, 7.1, 13), shared by addJob (one job) and addJobs (a batch).

  add_job(custom_id, name, timestamp, data, opts, extras) -> {job id, status} or an error code
    custom_id  "" for the next value of the id counter
    timestamp  ms (string or number), opts.timestamp when given
    data       JSON text, stored verbatim
    opts       decoded options table, already in stored form (de/kl/fpof..., attempts)
    extras     table or nil: {parentKey, parentDependenciesKey, parent = {id, queueKey, fpof?...},
               repeatJobKey, deferParentRelease, asParent}
    status     0 created, 1 the id already existed (nothing written), 2 deduplicated (the id is
               the owner of the deduplication id)
    codes      -5 the parent hash does not exist (nothing written, not even the counter);
               -7 a duplicate id belongs to another live parent
  Events: added, then waiting / delayed / waiting-children; duplicated; deduplicated; removed
  (dedup replace).
]]
--- @include "queue_keys"
--- @include "events"
--- @include "store_job"
--- @include "dedup"
--- @include "flow_parent"

-- 4.4: never overwrite; maybe (re)attach the existing job to the parent named by this add.
local function add_duplicate(job_id, job, defer_release)
  local job_key = BASE .. job_id
  local old_parent = call("HGET", job_key, "parentKey")
  if old_parent and old_parent ~= job.parent_key and call("EXISTS", old_parent) == 1 then
    if job.parent_key then
      if defer_release then call("HSET", job.parent_key, "flowAttachmentFailed", "1") end
      return -7
    end
  elseif job.parent_key then
    if call("ZSCORE", Q.completed, job_id) then
      record_processed_child(job.parent_key, job_key, call("HGET", job_key, "returnvalue"), job.timestamp,
        defer_release)
    elseif job.parent_deps_key then
      call("SADD", job.parent_deps_key, job_key)
    end
    call("HSET", job_key, "parentKey", job.parent_key, "parent", job.parent_json)
  end
  emit("duplicated", "jobId", job_id)
  return {job_id, 1}
end

local function add_job(custom_id, name, timestamp, data, opts, extras)
  extras = extras or {}
  local job = {name = name, timestamp = timestamp, data = data, opts = opts,
    parent_key = extras["parentKey"], parent_deps_key = extras["parentDependenciesKey"],
    repeat_job_key = extras["repeatJobKey"], as_parent = extras["asParent"] and true or false}
  if job.parent_key then
    if call("EXISTS", job.parent_key) == 0 then return -5 end
    job.parent_json = cjson.encode(extras["parent"])
  end

  local counter = call("INCR", Q.id)
  local job_id = custom_id
  if job_id == "" then
    job_id = tostring(counter)
  elseif call("EXISTS", BASE .. job_id) == 1 then
    return add_duplicate(job_id, job, extras["deferParentRelease"])
  end

  local de = opts["de"]
  if type(de) == "table" and de["id"] then
    local owner_id = deduplicate_on_add(de, job_id, job)
    if owner_id then return {owner_id, 2} end
  end

  store_and_enqueue(job_id, name, data, opts, timestamp, job.parent_key, job.parent_json,
    job.repeat_job_key, job.as_parent)
  if job.parent_deps_key then call("SADD", job.parent_deps_key, BASE .. job_id) end
  return {job_id, 0}
end
