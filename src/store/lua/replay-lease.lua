--[[
  The lease of the process that drives a replay: acquire (or renew, when already ours) with a TTL,
  or release. It only keeps two API processes from doing the same work: correctness does not
  depend on it, because replay-batch.lua refuses a batch whose expected cursor is not current.
  KEYS[1] lease key
  ARGV[1] owner id  ARGV[2] ttl ms  ARGV[3] 'acquire' | 'release'
  Returns 1 when the caller holds (or released) the lease, 0 when another owner holds it.
]]
local current = redis.call('GET', KEYS[1])
if ARGV[3] == 'release' then
  if current == ARGV[1] then
    redis.call('DEL', KEYS[1])
    return 1
  end
  return 0
end
if current and current ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', tonumber(ARGV[2]))
return 1
