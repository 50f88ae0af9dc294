--[[
  Put a rate-limited job back (wire-format 8.6, RateLimitError): front of wait, or prioritized with
  the push-back score priority * 2^32 (ahead of its peers); attempts are not counted.

  KEYS: the queue keys (queue_keys.lua)
  ARGV[1] queue base key "P:Q:"
  ARGV[2] job id
  ARGV[3] lock token ("0" = no lock check)

  Returns the limiter's PTTL (ms, 0 when not limited), or -1 missing job, -2 lock missing,
  -6 lock mismatch.
  Events: waiting {jobId, prev="active"}.
]]
--- @include "queue_keys"
--- @include "events"
--- @include "locks"
--- @include "markers"

local job_id = ARGV[2]
local job_key = BASE .. job_id
if call("EXISTS", job_key) == 0 then return -1 end
local code = release_lock(job_id, ARGV[3])
if code < 0 then return code end
if call("LREM", Q.active, 1, job_id) > 0 then
  local priority = tonumber(call("HGET", job_key, "priority")) or 0
  if priority > 0 then
    call("ZADD", Q.prioritized, priority * 0x100000000, job_id)
  else
    call("RPUSH", Q.wait, job_id)
    add_ready_marker(paused_or_maxed())
  end
  emit("waiting", "jobId", job_id, "prev", "active")
end
local ttl = call("PTTL", Q.limiter)
if ttl > 0 then return ttl end
return 0
