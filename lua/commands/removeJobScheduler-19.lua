--[[
  removeJobScheduler: delete a job scheduler and its pending iteration if that has not become
  ready yet (wire-format 12.7). An iteration already waiting, prioritized or active is left to run
  (it will not create a successor: the scheduler is gone).

  KEYS: the 19 queue keys.
  ARGV[1] base key
  ARGV[2] scheduler id
  Returns 1 when the scheduler existed, 0 otherwise.
  Events: removed {jobId, prev = "delayed"} for a deleted delayed iteration.
]]
--- @include "queue_keys"
--- @include "events"
--- @include "remove_job"

local scheduler_id = ARGV[2]
local due = call("ZSCORE", Q["repeat"], scheduler_id)
if due then
  local pending = "repeat:" .. scheduler_id .. ":" .. due
  if call("ZREM", Q.delayed, pending) == 1 then
    remove_job_keys(BASE .. pending)
    emit_untrimmed("removed", "jobId", pending, "prev", "delayed")
  end
end
if call("ZREM", Q["repeat"], scheduler_id) == 0 then return 0 end
call("DEL", Q["repeat"] .. ":" .. scheduler_id)
return 1
