--[[
  Events stream (wire-format 10). emit() appends with an approximate MAXLEN taken from
  meta "opts.maxLenEvents" (written as 10000 when missing, as Node does); emit_untrimmed() is for
  the events Node adds without a limit; trim_events() bounds the stream before a burst of those.
]]
--- @include "queue_keys"
local _max_events
local function max_events()
  if not _max_events then
    _max_events = call("HGET", Q.meta, "opts.maxLenEvents")
    if not _max_events then
      _max_events = 10000
      call("HSET", Q.meta, "opts.maxLenEvents", _max_events)
    end
  end
  return _max_events
end

local function emit(...)
  call("XADD", Q.events, "MAXLEN", "~", max_events(), "*", "event", ...)
end

local function emit_untrimmed(...)
  call("XADD", Q.events, "*", "event", ...)
end

local function trim_events()
  call("XTRIM", Q.events, "MAXLEN", "~", max_events())
end
