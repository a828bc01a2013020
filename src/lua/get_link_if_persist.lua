-- GetLinkedPodIfPersist: the pod of a link only if the link is persistent.
--
-- KEYS[1]  sf:{<ns>:lk:<uid>}<svc>  string: the pod; no TTL = persistent
--
-- Returns the stored pod, or -1 when there is no persistent link.
local pod = redis.call('GET', KEYS[1])
if not pod or pod == '' or pod == 'null' or pod == 'nil' then
  return -1
end
if redis.call('TTL', KEYS[1]) ~= -1 then
  return -1
end
return pod
