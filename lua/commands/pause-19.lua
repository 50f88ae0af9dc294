--[[
  pause: flag the queue paused (wire-format 6.2). Jobs stay where they are; fetches return nothing
  and enqueue scripts skip the wake-up marker, so the marker key is deleted.

  KEYS: the 19 queue keys.  ARGV[1] base key.
  Returns: 0.  Events: paused (untrimmed, no fields).
]]
--- @include "queue_keys"
--- @include "events"

call("HSET", Q.meta, "paused", 1)
call("DEL", Q.marker)
emit_untrimmed("paused")
return 0
