--[[
  Fenced: record the outcome of the attempt in flight, then claim the next head (one round trip
  per delivery; a pipelining owner has already sent that head and names it in ARGV[9]).
  Outcomes: delivered | retry | deadletter | block.

  KEYS[1..5] as head.lua   KEYS[6] delivery hash  KEYS[7] attempts list  KEYS[8] stats hash
  KEYS[9] endpoint registry hash
  ARGV[1..9] as head.lua
  ARGV[10] delivery id  ARGV[11] outcome  ARGV[12] attempt record (JSON)  ARGV[13] source ('front'|'queue')
  ARGV[14] queue entry id  ARGV[15] status code ('' = none)  ARGV[16] response body (≤ 4 KB)
  ARGV[17] error ('' = none)  ARGV[18] classification  ARGV[19] retry delay ms (from now, by Redis' clock)  ARGV[20] next attempt ISO (for display)
  ARGV[21] retention seconds (terminal records expire after it)
  ARGV[22] the endpoint's key base (`<p>:{endpoint}:`), for the replay counters of replay deliveries
  Returns { 'fenced' } | { 'stale' } (the delivery is no longer this owner's) | claim_head's answer.
]]
local h = head_args(KEYS, ARGV)
if not fenced(h.lease, h.owner) then return { 'fenced' } end
local dkey, akey = KEYS[6], KEYS[7]
local d = redis.call('HMGET', dkey, 'status', 'send_token', 'origin')
if d[1] ~= 'SENDING' or d[2] ~= h.owner then return { 'stale' } end

local outcome = ARGV[11]
-- A replay's delivered/failed counters move when one of its deliveries ends (or blocks).
local replay = d[3] and string.match(d[3], '^replay:(.+)$')
if replay and outcome ~= 'retry' then
  redis.call('HINCRBY', ARGV[22] .. 'replay:' .. replay, outcome == 'delivered' and 'delivered' or 'failed', 1)
end
redis.call('RPUSH', akey, ARGV[12])
if outcome == 'delivered' then
  redis.call('HSET', dkey, 'status', 'DELIVERED', 'delivered_at', h.now_iso, 'updated_at', h.now_iso,
    'last_response_status', ARGV[15], 'last_response_body', ARGV[16], 'last_error', ARGV[17],
    'last_failure_reason', '', 'next_attempt_at', '', 'next_attempt_ms', '')
  redis.call('HINCRBY', KEYS[8], 'delivered', 1)
  redis.call('HSET', KEYS[8], 'last_delivered_at', h.now_iso)
else
  redis.call('HSET', dkey, 'updated_at', h.now_iso, 'last_response_status', ARGV[15],
    'last_response_body', ARGV[16], 'last_error', ARGV[17], 'last_failure_reason', ARGV[18])
  if outcome == 'retry' then
    redis.call('HSET', dkey, 'status', 'PENDING', 'next_attempt_ms', redis_now_ms() + tonumber(ARGV[19]), 'next_attempt_at', ARGV[20])
    return claim_head(h)
  end
  redis.call('HSET', dkey, 'status', 'FAILED', 'next_attempt_at', '', 'next_attempt_ms', '')
  redis.call('HINCRBY', KEYS[8], 'failed', 1)
  if outcome == 'block' then
    -- The failed delivery stays at the head and holds the partition until an unblock.
    redis.call('HSET', h.blocked, h.partition, ARGV[10])
    redis.call('HINCRBY', KEYS[8], 'blocked', 1)
    return { 'blocked', ARGV[10] }
  end
  redis.call('HINCRBY', KEYS[8], 'deadlettered', 1)
end
drop_head(h.queue, h.front, h.group, ARGV[13], ARGV[14])
local retention = tonumber(ARGV[21])
if retention and retention > 0 then
  redis.call('EXPIRE', dkey, retention)
  redis.call('EXPIRE', akey, retention)
end
-- The head just dropped was the only entry pending for this consumer.
return claim_head(h, true)
