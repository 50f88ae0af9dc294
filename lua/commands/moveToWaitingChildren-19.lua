--[[
  Park an active parent until its children finish (wire-format 11.6). Moves only when there is
  something to wait for: the given child key is still pending, or (no child given) any child is.

  KEYS: the queue keys (queue_keys.lua)
  ARGV[1] queue base key "P:Q:"
  ARGV[2] now (client ms), the waiting-children score
  ARGV[3] job id
  ARGV[4] lock token ("0" = no lock check)
  ARGV[5] child job key, or "" for any child

  Returns 0 moved, 1 nothing pending (job stays active), or -1 missing job, -2 lock missing,
  -3 not active, -6 lock mismatch, -9 failed children.
  Events: waiting-children {jobId, prev="active"}.
]]
--- @include "queue_keys"
--- @include "events"
--- @include "locks"

local job_id = ARGV[3]
local job_key = BASE .. job_id
if call("EXISTS", job_key) == 0 then return -1 end
if call("ZCARD", job_key .. ":unsuccessful") > 0 then return -9 end
local pending_key = job_key .. ":dependencies"
local waiting
if ARGV[5] ~= "" then
  waiting = call("SISMEMBER", pending_key, ARGV[5]) == 1
else
  waiting = call("SCARD", pending_key) > 0
end
if not waiting then return 1 end
local code = release_lock(job_id, ARGV[4])
if code < 0 then return code end
if call("LREM", Q.active, -1, job_id) == 0 then return -3 end
call("ZADD", Q.waiting_children, tonumber(ARGV[2]), job_id)
emit_untrimmed("waiting-children", "jobId", job_id, "prev", "active")
return 0
