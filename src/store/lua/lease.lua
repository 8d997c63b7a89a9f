--[[
  Acquire or renew a partition lease; hand out a new fencing token on each acquisition.
  KEYS[1] lease  KEYS[2] fence counter
  ARGV[1] owner id  ARGV[2] ttl ms  ARGV[3] 'acquire' | 'release'  ARGV[4] token to release
  Returns the token held by the owner (a number), or 0 when another owner holds the lease
  (or, for release, 1 when released and 0 when it was not ours).
]]
local current = redis.call('GET', KEYS[1])
if ARGV[3] == 'release' then
  if current == ARGV[1] .. ':' .. ARGV[4] then
    redis.call('DEL', KEYS[1])
    return 1
  end
  return 0
end
if current then
  local owner, token = string.match(current, '^(.*):(%d+)$')
  if owner == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return tonumber(token)
  end
  return 0
end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. token, 'PX', ARGV[2])
return token
