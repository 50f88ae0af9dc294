--[[
  addJobs: Queue.addBulk - add a batch of jobs, each exactly as addJob would, in order. A job that
  is refused (-5, -7) gets its code and the others still go in; the batch is not all-or-nothing,
  just as Node's pipelined addBulk is not. Batches are kept small by the client so that one call
  never blocks the server for long.

  KEYS: the 19 queue keys (queue_keys.lua).
  ARGV[1] base key "P:Q:"
  ARGV[2] msgpack list of jobs {custom id or "", name, timestamp, data JSON, opts (stored form),
          extras or nil} (see add_job.lua)

  Returns: one result per job: {job id, status} or an error code.
  Events: per job as addJob.
]]
--- @include "queue_keys"
--- @include "add_job"

local results = {}
for i, entry in ipairs(cmsgpack.unpack(ARGV[2])) do
  results[i] = add_job(entry[1], entry[2], entry[3], entry[4], entry[5], entry[6])
end
return results
