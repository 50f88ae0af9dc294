--[[
  addJob: create one job: standard, LIFO, prioritized, delayed or flow parent, with
  deduplication and duplicate-id handling (add_job.lua).

  KEYS: the 19 queue keys (queue_keys.lua).
  ARGV[1] base key "P:Q:"
  ARGV[2] custom job id, or "" for the next value of the id counter
  ARGV[3] job name
  ARGV[4] timestamp (ms, client clock; opts.timestamp when given)
  ARGV[5] data (JSON text, stored verbatim)
  ARGV[6] msgpack opts, already in stored form (de/kl/fpof..., attempts)
  ARGV[7] msgpack extras or "": {parentKey, parentDependenciesKey, parent, repeatJobKey,
          deferParentRelease, asParent}

  Returns: {job id, status} (0 created, 1 duplicate id, 2 deduplicated), or -5 (parent missing),
  -7 (duplicate id attached to another live parent).
  Events: added, then waiting / delayed / waiting-children; duplicated; deduplicated; removed.
]]
--- @include "queue_keys"
--- @include "add_job"

local extras = nil
if ARGV[7] ~= "" then extras = cmsgpack.unpack(ARGV[7]) end
return add_job(ARGV[2], ARGV[3], ARGV[4], ARGV[5], cmsgpack.unpack(ARGV[6]), extras)
