--[[
  Renew the locks of all of a worker's active jobs in one call (wire-format 8.4): a lock still
  holding the job's token gets a fresh PX and the job leaves the stalled suspects.

  KEYS: the queue keys (queue_keys.lua)
  ARGV[1] queue base key "P:Q:"
  ARGV[2] lock duration (ms)
  ARGV[3] msgpack list of job ids
  ARGV[4] msgpack list of tokens (same order)

  Returns the ids whose lock was missing or held by another token (the worker lost them).
]]
--- @include "queue_keys"

local duration = ARGV[2]
local ids = cmsgpack.unpack(ARGV[3])
local tokens = cmsgpack.unpack(ARGV[4])
local lost = {}
for i, job_id in ipairs(ids) do
  local lock_key = BASE .. job_id .. ":lock"
  if call("GET", lock_key) == tokens[i] then
    call("SET", lock_key, tokens[i], "PX", duration)
    call("SREM", Q.stalled, job_id)
  else
    lost[#lost + 1] = job_id
  end
end
return lost
