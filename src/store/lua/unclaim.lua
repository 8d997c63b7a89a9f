--[[
  Fenced: give back a head this owner claimed (SENDING) but did not send — it is stopping, its
  lease ran out by its own clock, or the endpoint is paused — so a successor sends it at once
  instead of waiting out the takeover delay, and no attempt is counted that never happened.
  KEYS[1] lease  KEYS[2] delivery hash
  ARGV[1] owner:token
  Returns 1 when given back, 0 otherwise (not ours any more: nothing to do).
]]
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local d = redis.call('HMGET', KEYS[2], 'status', 'send_token', 'attempts')
if d[1] ~= 'SENDING' or d[2] ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[2], 'status', 'PENDING', 'attempts', math.max(0, tonumber(d[3]) - 1), 'send_token', '')
redis.call('HDEL', KEYS[2], 'last_attempt_ms', 'next_attempt_ms')
return 1
