-- Removes the link of a uid to a service: RemoveLinkedPod and, with ARGV[3],
-- RemoveLinkedPodWithId.
--
-- KEYS[1]  sf:{<ns>:lk:<uid>}<svc>  string: the pod
-- KEYS[2]  sf:{<ns>:lk:<uid>}       hash: <svc> -> pod, persistent links only
-- ARGV[1]  svc
-- ARGV[2]  keep: seconds > 0 leaves the link as a temporary one for that long
--          (a grace period for a reconnecting player); "0" or "-1" deletes it
-- ARGV[3]  optional pod: remove only if the link is to this pod
--
-- Returns 1 if a link was removed (or turned into a grace-period link), else 0.
--
-- As in set_link.lua, whatever could make a write fail is checked before
-- the first write: the script changes both keys or nothing.
local current = redis.call('GET', KEYS[1])
if ARGV[3] and current ~= ARGV[3] then
  return 0
end

local keep = tonumber(ARGV[2])
local writes
if keep > 0 then
  writes = {{'EXPIRE', KEYS[1], ARGV[2]}, {'HDEL', KEYS[2], ARGV[1]}}
else
  writes = {{'DEL', KEYS[1]}, {'HDEL', KEYS[2], ARGV[1]}}
end
local refused = write_all(KEYS[2], writes)  -- prelude.lua
if refused then
  return refused
end

if not current or current == '' or current == 'null' or current == 'nil' then
  return 0
end
return 1
