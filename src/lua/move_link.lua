-- Moves the link of a uid from one pod to another, only if it still points
-- at the first: MoveLinkedPod (an operator evacuating a pod) and
-- MoveTemporaryLinkedPod (a router moving a player off a pod that is not
-- live).
--
-- KEYS[1]  sf:{<ns>:lk:<uid>}<svc>  string: the pod; no TTL = persistent
-- KEYS[2]  sf:{<ns>:lk:<uid>}       hash: <svc> -> pod, persistent links only
-- ARGV[1]  svc
-- ARGV[2]  from: pod, canonical decimal
-- ARGV[3]  to: pod, canonical decimal
-- ARGV[4]  mode: "keep" moves any link to `from`, keeping it persistent, or
--          temporary with the TTL it has left; "temporary" moves only a
--          temporary link (a persistent one is a pod's claim and stays),
--          with a fresh TTL of ARGV[5] seconds
-- ARGV[5]  ttl seconds > 0 (mode "temporary" only)
--
-- Returns {moved, pod, persistent}: moved is 1 or 0; pod the pod linked
-- after the call, or -1 when there is no link; persistent 1 when that link
-- is persistent.
--
-- As in set_link.lua, whatever could make a write fail is checked before
-- the first write: the script changes both keys or nothing.
local current = redis.call('GET', KEYS[1])
if current == '' or current == 'null' or current == 'nil' then
  current = false
end
if not current then
  return {0, -1, 0}
end
local remaining_ms = redis.call('PTTL', KEYS[1])
local persistent = remaining_ms == -1
local mode = ARGV[4]
if mode ~= 'keep' and mode ~= 'temporary' then
  return redis.error_reply('ERR move_link.lua: unknown mode ' .. tostring(mode))
end
if current ~= ARGV[2] or (mode == 'temporary' and persistent) then
  return {0, current, persistent and 1 or 0}
end

local writes
if mode == 'temporary' then
  writes = {{'SET', KEYS[1], ARGV[3], 'EX', ARGV[5]}, {'HDEL', KEYS[2], ARGV[1]}}
elseif persistent then
  writes = {{'SET', KEYS[1], ARGV[3]}, {'HSET', KEYS[2], ARGV[1], ARGV[3]}}
else
  writes = {{'SET', KEYS[1], ARGV[3], 'PX', tostring(remaining_ms)}, {'HDEL', KEYS[2], ARGV[1]}}
end
local refused = write_all(KEYS[2], writes)  -- prelude.lua
if refused then
  return refused
end
return {1, ARGV[3], (mode == 'keep' and persistent) and 1 or 0}
