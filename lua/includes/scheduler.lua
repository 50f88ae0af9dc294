--[[
  Job schedulers (wire-format 12): the scheduler hash "repeat:<id>", the "repeat" zset (id -> due ms
  of the pending iteration) and the iteration jobs "repeat:<id>:<ms>".

  interval_slot(prev, every, now, offset, start_date) -> next, offset
    When the next iteration of an `every` scheduler is due (12.6). prev is the due time of the
    pending iteration or nil; offset 0 means "derive the phase from the chosen time". Integers out.

  iteration_id(scheduler_id, due) -> "repeat:<id>:<due>"

  save_scheduler(scheduler_id, due, sopts, data, template_opts)
    Rewrites the scheduler hash from scratch (12.2), carrying over "ic" (and "offset" when sopts
    has none), and scores the id at `due` in the repeat zset.

  create_iteration(scheduler_id, due, name, data, opts, now)
    Counts the id, then stores and enqueues iteration `due` with opts.jobId / opts.delay filled
    in: delayed when due > now, otherwise ready. Events: added, then delayed or waiting.
]]
--- @include "queue_keys"
--- @include "store_job"

local function interval_slot(prev, every, now, offset, start_date)
  offset = tonumber(offset) or 0
  local due
  if prev then
    due = prev + every
    if due < now then
      -- runs were missed: the first slot after now that keeps the phase
      local slot = math.floor(now / every) * every + offset
      if slot <= now then slot = slot + every end
      due = slot
    end
  elseif start_date then
    due = math.max(tonumber(start_date), now)
  elseif offset > 0 then
    due = math.floor(now / every) * every + offset
    if due <= now then due = due + every end
  else
    due = now
  end
  if offset == 0 then offset = due % every end
  return math.floor(due), math.floor(offset)
end

local function iteration_id(scheduler_id, due)
  return "repeat:" .. scheduler_id .. ":" .. due
end

-- the hash field order follows what Node writes, so HGETALL dumps compare equal
local SCHEDULER_FIELDS = {"tz", "limit", "pattern", "startDate", "endDate", "every"}

local function save_scheduler(scheduler_id, due, sopts, data, template_opts)
  local key = Q["repeat"] .. ":" .. scheduler_id
  local old = call("HMGET", key, "ic", "offset")
  local fields = {"name", sopts["name"]}
  for _, field in ipairs(SCHEDULER_FIELDS) do
    if sopts[field] then
      fields[#fields + 1], fields[#fields + 2] = field, sopts[field]
    end
  end
  local offset = sopts["offset"] or (old[2] and tonumber(old[2]))
  if offset then fields[#fields + 1], fields[#fields + 2] = "offset", offset end
  local opts_json = cjson.encode(template_opts)
  if opts_json ~= "{}" then fields[#fields + 1], fields[#fields + 2] = "opts", opts_json end
  if data ~= "{}" and data ~= "" then fields[#fields + 1], fields[#fields + 2] = "data", data end
  fields[#fields + 1], fields[#fields + 2] = "ic", old[1] or 1
  call("ZADD", Q["repeat"], due, scheduler_id)
  call("DEL", key)
  call("HSET", key, unpack(fields))
end

local function create_iteration(scheduler_id, due, name, data, opts, now)
  local job_id = iteration_id(scheduler_id, due)
  local delay = math.max(due - now, 0)
  opts["jobId"] = job_id
  opts["delay"] = delay
  call("INCR", Q.id)
  store_and_enqueue(job_id, name, data, opts, now, nil, nil, scheduler_id, false)
  return job_id, delay
end
