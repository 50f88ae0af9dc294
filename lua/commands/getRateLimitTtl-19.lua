--[[
  getRateLimitTtl: remaining ms of the rate limit (wire-format 14.1). With a max (ARGV[2] > 0, or
  meta "max" when ARGV[2] is "0"): PTTL when the limiter is at or over the max, else 0 (an expired
  limiter is deleted). With no max anywhere: the raw PTTL (-2 when absent, -1 without expiry).

  KEYS: the 19 queue keys.  ARGV[1] base key, ARGV[2] max jobs or "0"
]]
--- @include "queue_keys"

local max_jobs = tonumber(ARGV[2])
if max_jobs == 0 then max_jobs = tonumber(call("HGET", Q.meta, "max")) end
if not max_jobs then return call("PTTL", Q.limiter) end
if max_jobs <= (tonumber(call("GET", Q.limiter)) or 0) then
  local ttl = call("PTTL", Q.limiter)
  if ttl == 0 then call("DEL", Q.limiter) end
  if ttl > 0 then return ttl end
end
return 0
