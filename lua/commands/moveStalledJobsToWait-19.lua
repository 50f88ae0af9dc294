--[[
  Stalled-job check (wire-format 8.7), run by every worker every stalledInterval; the
  stalled-check key makes only one of them do the work per interval.

  Suspects (ids in `stalled`, gathered by the previous check) whose lock is gone are taken out of
  active, get stc + 1, are marked for deferred failure ("defa") once stc exceeds maxStalledCount
  (except job-scheduler iterations), and go to the front of wait. Then every active id becomes a
  suspect for the next round; lock renewal and finishing clear them.

  KEYS: the queue keys (queue_keys.lua)
  ARGV[1] queue base key "P:Q:"
  ARGV[2] now (client ms)
  ARGV[3] maxStalledCount
  ARGV[4] stalledInterval (ms), the TTL of stalled-check

  Returns the recovered job ids. Events per job: waiting {prev="active"}, then stalled.
]]
--- @include "queue_keys"
--- @include "chunked"
--- @include "events"
--- @include "markers"

if call("EXISTS", Q.stalled_check) == 1 then return {} end
call("SET", Q.stalled_check, ARGV[2], "PX", ARGV[4])
trim_events()

local max_stalled = tonumber(ARGV[3])
local recovered = {}

local function is_scheduler_job(job_key)
  local scheduler_id = call("HGET", job_key, "rjk")
  if not scheduler_id then return false end
  return call("EXISTS", Q["repeat"] .. ":" .. scheduler_id) == 1
    or call("ZSCORE", Q["repeat"], scheduler_id) ~= false
end

local suspects = call("SMEMBERS", Q.stalled)
if #suspects > 0 then
  call("DEL", Q.stalled)
  for _, job_id in ipairs(suspects) do
    if string.sub(job_id, 1, 2) == "0:" then
      call("LREM", Q.active, 1, job_id)
    else
      local job_key = BASE .. job_id
      if call("EXISTS", job_key .. ":lock") == 0 and call("LREM", Q.active, 1, job_id) > 0 then
        local stalls = call("HINCRBY", job_key, "stc", 1)
        if stalls > max_stalled and not is_scheduler_job(job_key) then
          call("HSET", job_key, "defa", "job stalled more than allowable limit")
        end
        call("RPUSH", Q.wait, job_id)
        add_ready_marker(paused_or_maxed())
        emit_untrimmed("waiting", "jobId", job_id, "prev", "active")
        emit_untrimmed("stalled", "jobId", job_id)
        recovered[#recovered + 1] = job_id
      end
    end
  end
end

local active = call("LRANGE", Q.active, 0, -1)
call_chunked("SADD", Q.stalled, active)
return recovered
