--[[
  rateLimit: Queue.rateLimit(ms) / Worker.rateLimit(ms) - hold every fetch for `ms` by filling the
  limiter (wire-format 14.1).

  KEYS: the 19 queue keys.  ARGV[1] base key, ARGV[2] ms (> 0)
  Returns: 0.  Events: none.
]]
--- @include "queue_keys"

call("SET", Q.limiter, "9007199254740991", "PX", ARGV[2])
return 0
