--[[
  addLog: append one line to a job's log, keeping only the newest keepLogs lines when set
  (wire-format 8.8). No event.

  KEYS: the 19 queue keys.
  ARGV[1] base key, ARGV[2] job id, ARGV[3] log line, ARGV[4] keepLogs or ""
  Returns: number of lines kept, or -1 when the job does not exist.
]]
--- @include "queue_keys"

local job_key = BASE .. ARGV[2]
if call("EXISTS", job_key) == 0 then return -1 end
local logs_key = job_key .. ":logs"
local count = call("RPUSH", logs_key, ARGV[3])
local keep = tonumber(ARGV[4])
if keep then
  call("LTRIM", logs_key, -keep, -1)
  return math.min(keep, count)
end
return count
