--[[
  Releasing a worker's lock before a job leaves active (wire-format 8.4). Token "0" is a manual
  operation and skips the check. Returns 0, or -2 (lock missing) / -6 (another token holds it).
]]
--- @include "queue_keys"
local function release_lock(job_id, token)
  if token == "0" then return 0 end
  local lock_key = BASE .. job_id .. ":lock"
  local holder = call("GET", lock_key)
  if not holder then return -2 end
  if holder ~= token then return -6 end
  call("DEL", lock_key)
  call("SREM", Q.stalled, job_id)
  return 0
end
