--[[
  resume: clear the paused flag, migrate the legacy (v5) "paused" list into wait, and wake the
  workers (wire-format 6.3).

  KEYS: the 19 queue keys.
  ARGV[1] base key
  ARGV[2] "1" to emit the resumed event (first call only; the client repeats while jobs remain)

  Returns: number of jobs still in the legacy paused list (call again until 0).
  Events: resumed (untrimmed, no fields).
]]
--- @include "queue_keys"
--- @include "events"
--- @include "markers"

call("HDEL", Q.meta, "paused")

local left = 0
if call("EXISTS", Q.paused) == 1 then
  if call("EXISTS", Q.wait) == 0 then
    call("RENAME", Q.paused, Q.wait)
  else
    -- bounded batches keep one call short; the legacy list's head joins the front of wait
    local batch = call("LRANGE", Q.paused, 0, 6999)
    call("RPUSH", Q.wait, unpack(batch))
    call("LTRIM", Q.paused, #batch, -1)
    left = call("LLEN", Q.paused)
  end
end

if call("LLEN", Q.wait) + call("ZCARD", Q.prioritized) > 0 then
  call("ZADD", Q.marker, 0, "0")
else
  add_delay_marker()
end

if ARGV[2] == "1" then emit_untrimmed("resumed") end
return left
