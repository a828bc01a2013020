-- Put in front of every script by cmake/EmbedLua.cmake (a Redis script
-- cannot load another): what the link scripts share.

-- Runs `writes` (each {command, key, args...}) once it knows they cannot
-- fail: `links` (the uid's links hash) is a hash or absent, and the user may
-- run every one of them. A script does not roll back, so it must fail
-- before its first write whenever it would fail at all. Returns an error
-- reply (nothing written), or nil once all are written.
local function write_all(links, writes)
  local links_type = redis.call('TYPE', links)['ok']
  if links_type ~= 'none' and links_type ~= 'hash' then
    return redis.error_reply('WRONGTYPE ' .. links .. ' holds a ' .. links_type ..
                             ', not the hash of persistent links; nothing was written')
  end
  -- redis.acl_check_cmd exists from Redis 7.0 on; older servers have no
  -- per-command ACL checks inside scripts to fear.
  if redis.acl_check_cmd then
    for _, write in ipairs(writes) do
      if not redis.acl_check_cmd(unpack(write)) then
        return redis.error_reply('NOPERM this user has no permissions to run the \'' ..
                                 string.lower(write[1]) .. '\' command on ' .. write[2] ..
                                 '; nothing was written')
      end
    end
  end
  for _, write in ipairs(writes) do
    redis.call(unpack(write))
  end
  return nil
end

