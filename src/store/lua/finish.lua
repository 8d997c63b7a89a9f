--[[
  Fenced: record the outcome of the attempt in flight, then claim the next head (one round trip
  per delivery; a pipelining owner has already sent that head and names it in ARGV[9]).
  Outcomes: delivered | retry | deadletter | block.

  KEYS[1..5] as head.lua   KEYS[6] delivery hash  KEYS[7] attempts list  KEYS[8] stats hash
  KEYS[9] endpoint registry hash
  ARGV[1..10] as head.lua (ARGV[10], the call id, also marks the outcome as recorded by this call)
  ARGV[11] delivery id  ARGV[12] outcome  ARGV[13] attempt record (compact JSON)  ARGV[14] source ('front'|'queue')
  ARGV[15] queue entry id  ARGV[16] status code ('' = none)  ARGV[17] response body (≤ 4 KB)
  ARGV[18] error ('' = none)  ARGV[19] classification  ARGV[20] delay ms before the next try (retry, block; from now, by
  Redis' clock)  ARGV[21] retention seconds (terminal records expire after it)
  ARGV[22] the endpoint's key base (`<p>:{endpoint}:`), for the replay counters of replay deliveries
  ARGV[23] the attempt number this outcome is for (the head must still be in that attempt)
  The record stays compact (lib-delivery.lua): times in ms, a field without a value is removed.
  Returns { 'fenced' } | { 'stale' } (that attempt is no longer this owner's) | { 'blocked', id } (the head
  stays, blocked, and is tried again later) | claim_head's answer.
]]
local h = head_args(KEYS, ARGV)
if not fenced(h.lease, h.owner) then return { 'fenced' } end
local dkey, akey = KEYS[6], KEYS[7]
local d = redis.call('HMGET', dkey, 'status', 'send_token', 'origin', 'finish_call', 'attempts', 'a1')
if d[1] ~= 'SENDING' or d[2] ~= h.owner or d[5] ~= ARGV[23] then
  -- This very call ran before and its answer was lost (resent after a reconnect, or retried by
  -- the worker with the same call id): the outcome is recorded; answer the claim again.
  if d[2] == h.owner and d[4] == h.call then return claim_head(h) end
  if d[1] == 'FAILED' and d[2] == h.owner and d[5] == ARGV[23] then
    -- An operator's unblock ended this blocked head while its retry was in flight (unblock.lua
    -- already took it off the head): the request left, so its attempt is recorded; nothing else
    -- changes, and the partition goes on with its new head.
    record_attempt(dkey, akey, ARGV[13])
    expire_like(akey, dkey)
    redis.call('HSET', dkey, 'finish_call', h.call)
    return claim_head(h)
  end
  return { 'stale' }
end

local outcome = ARGV[12]
-- Was this delivery blocking its partition? It no longer does once it is delivered or dead-lettered.
local blocker = redis.call('HGET', h.blocked, h.partition)
local was_blocker = blocker == ARGV[11]
-- A replay's delivered/failed counters move when one of its deliveries ends or first blocks; a
-- blocked one delivered later moves from failed to delivered.
local replay = d[3] and string.match(d[3], '^replay:(.+)$')
if replay and outcome ~= 'retry' and not (outcome == 'block' and was_blocker) then
  local rkey = ARGV[22] .. 'replay:' .. replay
  redis.call('HINCRBY', rkey, outcome == 'delivered' and 'delivered' or 'failed', 1)
  if was_blocker and outcome ~= 'block' then redis.call('HINCRBY', rkey, 'failed', -1) end
end
local inline = record_attempt(dkey, akey, ARGV[13], d[6] ~= false)
-- The last attempt's answer: set what it has, remove what it has not (an earlier attempt's).
local set, del = { 'finish_call', h.call }, {}
local function field(name, value)
  if value ~= '' then set[#set + 1] = name; set[#set + 1] = value else del[#del + 1] = name end
end
if outcome == 'delivered' and inline then
  -- Delivered at its only attempt, kept in the record (a1): the last answer is read from there
  -- (store/delivery-record.ts), not stored twice.
  field('last_error', '')
else
  field('last_response_status', ARGV[16])
  field('last_response_body', ARGV[17])
  field('last_error', ARGV[18])
end
if outcome == 'delivered' then
  field('last_failure_reason', '')
  field('next_attempt_ms', '')
  -- Only a claim in flight needs its call id.
  field('claim_call', '')
  -- updated_at reads as the latest of the record's times (store/delivery-record.ts): delivered_ms.
  field('updated_ms', '')
  field('status', 'DELIVERED')
  field('delivered_ms', h.now_ms)
else
  field('last_failure_reason', ARGV[19])
  field('updated_ms', h.now_ms)
end
redis.call('HSET', dkey, unpack(set))
if #del > 0 then redis.call('HDEL', dkey, unpack(del)) end
if outcome == 'delivered' then
  redis.call('HINCRBY', KEYS[8], 'delivered', 1)
  redis.call('HSET', KEYS[8], 'last_delivered_ms', h.now_ms)
  if was_blocker then redis.call('HDEL', h.blocked, h.partition) end
else
  if outcome == 'retry' or outcome == 'block' then
    redis.call('HSET', dkey, 'status', 'PENDING', 'next_attempt_ms', redis_now_ms() + tonumber(ARGV[20]))
    if outcome == 'retry' then return claim_head(h) end
    -- Exhausted, onExhausted block: it stays PENDING at the head, holds the partition and is
    -- tried again after ARGV[20] (blockedRetrySeconds), until it is delivered or unblocked.
    if not was_blocker then
      redis.call('HSET', h.blocked, h.partition, ARGV[11])
      redis.call('HINCRBY', KEYS[8], 'blocked', 1)
    end
    return { 'blocked', ARGV[11] }
  end
  redis.call('HSET', dkey, 'status', 'FAILED')
  redis.call('HDEL', dkey, 'next_attempt_ms', 'claim_call')
  redis.call('HINCRBY', KEYS[8], 'failed', 1)
  redis.call('HINCRBY', KEYS[8], 'deadlettered', 1)
  if was_blocker then redis.call('HDEL', h.blocked, h.partition) end
end
drop_head(h.queue, h.front, h.group, ARGV[14], ARGV[15])
local retention = tonumber(ARGV[21])
if retention and retention > 0 then
  redis.call('EXPIRE', dkey, retention)
  -- An attempt kept in the record means there is no attempts list.
  if not inline then redis.call('EXPIRE', akey, retention) end
end
-- The head just dropped was the only entry pending for this consumer; its blocker, if any, was
-- this delivery, and is gone.
return claim_head(h, true, not blocker or was_blocker)
