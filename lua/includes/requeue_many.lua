--[[
  requeue_many(state, count, max_score) -> 1 when `count` jobs were moved (call again), else 0.
  Bulk retry / promote (wire-format 15.7): up to `count` jobs of the `state` zset with score <=
  max_score go to the back of wait (LPUSH, even prioritized ones). Finished jobs lose finishedOn,
  processedOn and failedReason/returnvalue and rejoin their parent; promoted delayed jobs keep
  their delay field. Events: waiting {jobId, prev = state} per job; base marker unless
  paused/maxed.
]]
--- @include "queue_keys"
--- @include "chunked"
--- @include "events"
--- @include "markers"
--- @include "flow_parent"

local function requeue_many(state, count, max_score)
  local ids = call("ZRANGEBYSCORE", BASE .. state, 0, max_score, "LIMIT", 0, count)
  if #ids == 0 then return 0 end
  if state == "failed" or state == "completed" then
    local result_field = state == "failed" and "failedReason" or "returnvalue"
    for _, job_id in ipairs(ids) do
      local job_key = BASE .. job_id
      call("HDEL", job_key, "finishedOn", "processedOn", result_field)
      rejoin_parent(job_key, state)
    end
  end
  for _, job_id in ipairs(ids) do
    emit("waiting", "jobId", job_id, "prev", state)
  end
  call_chunked("ZREM", BASE .. state, ids)
  call_chunked("LPUSH", Q.wait, ids)
  add_ready_marker(paused_or_maxed())
  if #ids >= count then return 1 end
  return 0
end
