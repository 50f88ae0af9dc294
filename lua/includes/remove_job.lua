--[[
  Deleting a job's keys (hash, logs, flow bookkeeping). The lock is left to whoever released it.
  remove_dedup_key_if_owned drops "de:<id>" (and "dn:<id>") only when it still names this job.
]]
--- @include "queue_keys"
local function remove_job_keys(job_key)
  call("DEL", job_key, job_key .. ":logs", job_key .. ":dependencies", job_key .. ":processed",
    job_key .. ":failed", job_key .. ":unsuccessful")
end

local function remove_dedup_key_if_owned(job_key, job_id)
  local dedup_id = call("HGET", job_key, "deid")
  if dedup_id then
    local dedup_key = BASE .. "de:" .. dedup_id
    if call("GET", dedup_key) == job_id then
      call("DEL", dedup_key, BASE .. "dn:" .. dedup_id)
    end
  end
end
