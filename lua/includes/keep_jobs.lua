--[[
  Retention of finished jobs (removeOnComplete / removeOnFail, wire-format 8.5). The worker resolves
  the rule client-side into count (-1 keep all, 0 keep none, n keep newest n), age (seconds, or nil)
  and limit (deletions per call by age, default 1000). Pruned jobs are deleted with their keys and
  detached from a parent (soft removal, 15.10); dedup keys are left alone, as Node does.
]]
--- @include "queue_keys"
--- @include "chunked"
--- @include "remove_job"
--- @include "flow_parent"

local function delete_pruned_job(job_id)
  local job_key = BASE .. job_id
  detach_from_parent(job_key, false, nil)
  remove_job_keys(job_key)
end

local function prune_finished(set_key, now, count, age, limit)
  if age then
    local cutoff = now - age * 1000
    local old = call("ZREVRANGEBYSCORE", set_key, cutoff, "-inf", "LIMIT", 0, limit or 1000)
    for _, job_id in ipairs(old) do delete_pruned_job(job_id) end
    if #old > 0 then call_chunked("ZREM", set_key, old) end
  end
  if count and count > 0 then
    local beyond = call("ZREVRANGE", set_key, count, -1)
    if #beyond > 0 then
      for _, job_id in ipairs(beyond) do delete_pruned_job(job_id) end
      call("ZREMRANGEBYRANK", set_key, 0, -(count + 1))
    end
  end
end
