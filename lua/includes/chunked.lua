--[[
  call_chunked(command, key, ids): one command per 5000 ids (ZREM, SADD, LPUSH, RPUSH...), because
  Lua's unpack() cannot spread an unbounded list into one call's arguments.
]]
--- @include "queue_keys"

local function call_chunked(command, key, ids)
  for first = 1, #ids, 5000 do
    call(command, key, unpack(ids, first, math.min(first + 4999, #ids)))
  end
end
