--[[
  Releasing a worker's lock before a job leaves active (wire-format 8.4). Token "0" is a manual
  operation and skips the check. Returns 0, or -2 (lock missing) / -6 (another token holds it).

  leave_active(job_id, token, packed_fields): the common first steps of moving a job out of active
  on a worker's behalf: the job exists (-1), the lock is ours (-2/-6) and is released, the fields
  (msgpack flat list: failedReason, stacktrace) are written, the id leaves active (-3). Returns 0
  or the code.
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

local function leave_active(job_id, token, packed_fields)
  local job_key = BASE .. job_id
  if call("EXISTS", job_key) == 0 then return -1 end
  local code = release_lock(job_id, token)
  if code < 0 then return code end
  local fields = cmsgpack.unpack(packed_fields)
  if #fields > 0 then call("HSET", job_key, unpack(fields)) end
  if call("LREM", Q.active, -1, job_id) == 0 then return -3 end
  return 0
end
