--[[
  Records an attempt that left without its claim being recorded: a delivery the dispatcher sent
  ahead (pipelined after its predecessor's 2xx, or brought by a wake-up) whose claim Redis did not
  confirm (the lease had expired while Redis was frozen or unreachable, or the queue changed).
  Not fenced: it only appends to the delivery's own history and moves its attempt counter past
  the number that request carried, so whoever owns the partition next sends it under a new
  number. Both are right whoever owns the partition now.
  KEYS[1] delivery hash  KEYS[2] attempts list
  ARGV[1] attempt number the request carried  ARGV[2] attempt record (JSON)  ARGV[3] now, epoch ms
  Returns 1 (recorded, counter moved), 0 (recorded; a later claim had already reached that
  number, so both requests are in the history) or -1 (the delivery is gone: retention).
]]
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
record_attempt(KEYS[1], KEYS[2], ARGV[2])
expire_like(KEYS[2], KEYS[1])
local d = redis.call('HMGET', KEYS[1], 'status', 'attempts')
local n = tonumber(ARGV[1])
if d[1] ~= 'SENDING' and (tonumber(d[2] or '0') or 0) < n then
  redis.call('HSET', KEYS[1], 'attempts', n, 'updated_ms', ARGV[3])
  return 1
end
return 0
