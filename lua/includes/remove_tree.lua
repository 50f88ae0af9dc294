--[[
  Removing jobs for good (wire-format 15.10).

  is_scheduler_iteration(base, job_id)        the job is the pending iteration of its scheduler
  remove_from_any_state(base, job_id) -> prev  takes the id out of whichever state holds it; prev is
                                              completed / waiting-children / delayed / failed /
                                              prioritized / wait / paused / active / unknown
  any_locked(base, job_id, with_children)     the job, or (with children) a pending descendant, is
                                              held by a worker
  remove_job_tree(base, job_id, parent_key, with_children)  job.remove / Queue.remove: detach from
                                              the parent (soft), remove children first, then the job;
                                              event removed {jobId, prev} per job actually deleted
  hard_remove(job_id)                         clean/drain/obliterate in this queue: detach (hard),
                                              owned dedup key, job keys; no events. The caller takes
                                              the id out of its state.
]]
--- @include "queue_keys"
--- @include "remove_job"
--- @include "flow_parent"

local function is_scheduler_iteration(base, job_id)
  local scheduler_id = call("HGET", base .. job_id, "rjk")
  if not scheduler_id then return false end
  local millis = call("ZSCORE", base .. "repeat", scheduler_id)
  return millis ~= false and millis ~= nil and job_id == "repeat:" .. scheduler_id .. ":" .. millis
end

local function remove_from_any_state(base, job_id)
  for _, state in ipairs({"completed", "waiting-children", "delayed", "failed", "prioritized"}) do
    if call("ZREM", base .. state, job_id) == 1 then return state end
  end
  for _, state in ipairs({"wait", "paused", "active"}) do
    if call("LREM", base .. state, 1, job_id) == 1 then return state end
  end
  return "unknown"
end

local function dedup_key_release_at(base, job_key, job_id)
  local dedup_id = call("HGET", job_key, "deid")
  if dedup_id then
    local key = base .. "de:" .. dedup_id
    if call("GET", key) == job_id then call("DEL", key, base .. "dn:" .. dedup_id) end
  end
end

local function job_key_count(job_key)
  return call("EXISTS", job_key, job_key .. ":logs", job_key .. ":dependencies", job_key .. ":processed",
    job_key .. ":failed", job_key .. ":unsuccessful")
end

local any_locked
any_locked = function(base, job_id, with_children)
  local job_key = base .. job_id
  if call("EXISTS", job_key .. ":lock") == 1 then return true end
  if with_children then
    for _, child_key in ipairs(call("SMEMBERS", job_key .. ":dependencies")) do
      local child_base, child_id = job_key_parts(child_key)
      if any_locked(child_base, child_id, true) then return true end
    end
  end
  return false
end

local remove_job_tree

local function remove_children(job_key)
  local children = {}
  local processed = call("HKEYS", job_key .. ":processed")
  local failed = call("HKEYS", job_key .. ":failed")
  local unsuccessful = call("ZRANGE", job_key .. ":unsuccessful", 0, -1)
  local pending = call("SMEMBERS", job_key .. ":dependencies")
  for _, list in ipairs({processed, failed, unsuccessful, pending}) do
    for _, child_key in ipairs(list) do children[#children + 1] = child_key end
  end
  for _, child_key in ipairs(children) do
    local child_base, child_id = job_key_parts(child_key)
    remove_job_tree(child_base, child_id, job_key, true)
  end
end

remove_job_tree = function(base, job_id, parent_key, with_children)
  local job_key = base .. job_id
  detach_from_parent(job_key, false, parent_key)
  if with_children then remove_children(job_key) end
  local prev = remove_from_any_state(base, job_id)
  dedup_key_release_at(base, job_key, job_id)
  local existed = job_key_count(job_key) > 0
  remove_job_keys(job_key)
  if existed then emit_at(base, true, "removed", "jobId", job_id, "prev", prev) end
end

local function hard_remove(job_id)
  local job_key = BASE .. job_id
  detach_from_parent(job_key, true, nil)
  remove_dedup_key_if_owned(job_key, job_id)
  remove_job_keys(job_key)
end
