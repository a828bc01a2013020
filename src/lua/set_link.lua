-- Links a uid to a pod of a service: SetLinkedPod, TrySetLinkedPod and
-- SetLinkedPodIfAbsent, which differ only in when they may overwrite.
--
-- KEYS[1]  sf:{<ns>:lk:<uid>}<svc>  string: the pod; no TTL = persistent
-- KEYS[2]  sf:{<ns>:lk:<uid>}       hash: <svc> -> pod, persistent links only
-- ARGV[1]  svc
-- ARGV[2]  pod, canonical decimal
-- ARGV[3]  ttl: "-1" persistent, or seconds > 0
-- ARGV[4]  mode: "set" always links; "try" links unless a different pod holds
--          a persistent link; "absent" links only if there is no link
--
-- Returns {applied, previous}: applied is 1 or 0, previous the stored pod
-- before the call or -1 when there was none. ("", "null" and "nil" are
-- written by other clients for "no link".)
--
-- A script's writes are not rolled back when it fails, so everything that
-- could make a write fail (a key of another type, a command the ACL user
-- may not run) is checked before the first write: the script either
-- writes both keys or nothing.
local previous = redis.call('GET', KEYS[1])
if previous == '' or previous == 'null' or previous == 'nil' then
  previous = false
end

local mode = ARGV[4]
local apply
if mode == 'set' then
  apply = true
elseif mode == 'absent' then
  apply = not previous
elseif mode == 'try' then
  apply = not previous or previous == ARGV[2] or redis.call('TTL', KEYS[1]) ~= -1
else
  return redis.error_reply('ERR set_link.lua: unknown mode ' .. tostring(mode))
end
if not apply then
  return {0, previous or -1}
end

local persistent = ARGV[3] == '-1'
local writes
if persistent then
  writes = {{'SET', KEYS[1], ARGV[2]}, {'HSET', KEYS[2], ARGV[1], ARGV[2]}}
else
  writes = {{'SET', KEYS[1], ARGV[2], 'EX', ARGV[3]}, {'HDEL', KEYS[2], ARGV[1]}}
end
local refused = write_all(KEYS[2], writes)  -- prelude.lua
if refused then
  return refused
end
return {1, previous or -1}
