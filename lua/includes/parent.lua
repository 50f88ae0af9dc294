--[[
  What a child's final completion or failure does to its parent (wire-format 11.3, 11.5). Built on
  flow_parent.lua (releasing parents, detaching removed children), which works from the parent's
  own key because the parent may live in another queue.

  parent_of(parent_key, parent_json) -> parent key, policy table ({} when "parent" is missing)
  child_completed(child_key, parent_key, returnvalue, now)
  child_failed(child_key, parent_key, policy, reason, now)
]]
--- @include "queue_keys"
--- @include "flow_parent"

local function parent_of(parent_key, parent_json)
  if parent_json then
    local ok, decoded = pcall(cjson.decode, parent_json)
    if ok and type(decoded) == "table" and decoded.id and decoded.queueKey then
      return decoded.queueKey .. ":" .. decoded.id, decoded
    end
  end
  if parent_key and parent_key ~= "" then return parent_key, {} end
  return nil
end

-- 11.3: the child's result goes to the parent's :processed; the last pending child releases it.
local function child_completed(child_key, parent_key, returnvalue, now)
  if call("SREM", parent_key .. ":dependencies", child_key) == 1 then
    record_processed_child(parent_key, child_key, returnvalue, now, false)
  end
end

-- 11.5 fpof: the parent is failed through its next activation ("defa").
local function fail_parent_later(child_key, parent_key, now)
  call("ZADD", parent_key .. ":unsuccessful", now, child_key)
  if call("EXISTS", parent_key) == 0 then return end
  local base, parent_id = job_key_parts(parent_key)
  local why = "child " .. child_key .. " failed"
  local holder
  if call("ZSCORE", base .. "waiting-children", parent_id) then
    holder = base .. "waiting-children"
  elseif call("ZSCORE", base .. "delayed", parent_id) then
    holder = base .. "delayed"
    call("HSET", parent_key, "delay", 0)
  end
  if holder then
    call("ZREM", holder, parent_id)
    call("HSET", parent_key, "defa", why)
    release_parent(parent_key, now)
  elseif not call("ZSCORE", base .. "failed", parent_id) then
    call("HSET", parent_key, "defa", why)
  end
end

local function child_failed(child_key, parent_key, policy, reason, now)
  if not (policy.fpof or policy.cpof or policy.idof or policy.rdof) then return end
  if call("SREM", parent_key .. ":dependencies", child_key) == 0 then return end
  if policy.fpof then
    fail_parent_later(child_key, parent_key, now)
  elseif policy.cpof then
    -- continue even with other children pending
    call("HSET", parent_key .. ":failed", child_key, reason)
    if call("EXISTS", parent_key) == 1 then
      local base, parent_id = job_key_parts(parent_key)
      if call("ZREM", base .. "waiting-children", parent_id) == 1 then release_parent(parent_key, now) end
    end
  else
    release_parent_if_no_pending(parent_key, now)
    if policy.idof then call("HSET", parent_key .. ":failed", child_key, reason) end
  end
end
