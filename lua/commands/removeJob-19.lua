--[[
  removeJob: job.remove / Queue.remove - delete a job (and by default its children) from whatever
  state it is in (wire-format 15.8, 15.10). A child that was pending is detached from its parent,
  which is released to the front of wait if it was the last pending child.

  KEYS: the 19 queue keys.
  ARGV[1] base key, ARGV[2] job id, ARGV[3] "1" to remove children too
  Returns: 1 removed (or nothing to remove); 0 when the job or a pending descendant is locked by a
  worker; -8 when the job is the pending iteration of a job scheduler.
  Events: removed {jobId, prev} for every job deleted; waiting {prev = waiting-children} for a
  released parent.
]]
--- @include "queue_keys"
--- @include "remove_tree"

local job_id = ARGV[2]
local with_children = ARGV[3] == "1"
if is_scheduler_iteration(BASE, job_id) then return -8 end
if any_locked(BASE, job_id, with_children) then return 0 end
remove_job_tree(BASE, job_id, nil, with_children)
return 1
