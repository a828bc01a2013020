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
local current = redis.call('GET', KEYS[1])
if ARGV[3] and current ~= ARGV[3] then
  return 0
end

local keep = tonumber(ARGV[2])
if keep > 0 then
  redis.call('EXPIRE', KEYS[1], keep)
else
  redis.call('DEL', KEYS[1])
end
redis.call('HDEL', KEYS[2], ARGV[1])

if not current or current == '' or current == 'null' or current == 'nil' then
  return 0
end
return 1
