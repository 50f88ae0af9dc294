--[[
  Every state-changing script receives the same KEYS: all queue-level keys, in the order of
  pybull.keys.QUEUE_KEY_SUFFIXES (tests/test_lua_loader.py checks the two lists agree). Declaring
  them all keeps scripts correct under Redis Cluster (hash-tagged prefix) and gives includes one
  table, Q, instead of long positional key lists. ARGV[1] is always the queue base key "P:Q:".
]]
local call = redis.call
local Q = {
  wait = KEYS[1], paused = KEYS[2], meta = KEYS[3], id = KEYS[4], active = KEYS[5],
  prioritized = KEYS[6], pc = KEYS[7], delayed = KEYS[8], waiting_children = KEYS[9],
  completed = KEYS[10], failed = KEYS[11], marker = KEYS[12], stalled = KEYS[13],
  stalled_check = KEYS[14], limiter = KEYS[15], events = KEYS[16], ["repeat"] = KEYS[17],
  metrics_completed = KEYS[18], metrics_failed = KEYS[19],
}
local BASE = ARGV[1]
