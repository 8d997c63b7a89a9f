--[[
  Unblock a partition held by an exhausted delivery: `skip` drops it (it ends FAILED), `retry`
  drops it (FAILED) and puts a NEW delivery of the same event (resend_seq + 1) at the front, so
  order holds.
  KEYS[1] blocked hash  KEYS[2] queue stream  KEYS[3] front list  KEYS[4] blocked delivery hash
  KEYS[5] new delivery hash  KEYS[6] delivery log stream  KEYS[7] resend counters hash  KEYS[8] attempts list of the blocked delivery
  KEYS[9] event index hash
  ARGV[1] partition  ARGV[2] action  ARGV[3] new delivery id  ARGV[4] now, epoch ms  ARGV[5] group
  ARGV[6] consumer  ARGV[7] the endpoint's wake shard channel  ARGV[8] endpoint id  ARGV[9] retention seconds
  Returns { 'ok', blocked id, new id or '', the new record as created (flat) } | { 'not_blocked' }
]]
local id = redis.call('HGET', KEYS[1], ARGV[1])
if not id then return { 'not_blocked' } end
if redis.call('LINDEX', KEYS[3], 0) == id then
  redis.call('LPOP', KEYS[3])
else
  local pending = redis.call('XPENDING', KEYS[2], ARGV[5], '-', '+', 1, ARGV[6])
  if pending[1] then
    redis.call('XACK', KEYS[2], ARGV[5], pending[1][1])
    redis.call('XDEL', KEYS[2], pending[1][1])
  end
end
redis.call('HDEL', KEYS[1], ARGV[1])
-- A blocked head is still PENDING (tried again at intervals): the operator's unblock ends it.
if redis.call('HGET', KEYS[4], 'status') ~= 'DELIVERED' then
  redis.call('HSET', KEYS[4], 'status', 'FAILED', 'updated_ms', ARGV[4])
  redis.call('HDEL', KEYS[4], 'next_attempt_ms')
end
local retention = tonumber(ARGV[9])
if retention and retention > 0 then
  redis.call('EXPIRE', KEYS[4], retention)
  redis.call('EXPIRE', KEYS[8], retention)
end
local new_id, created = '', {}
if ARGV[2] == 'retry' then
  local src = read_source(KEYS[4])
  new_id = ARGV[3]
  repeat_delivery(src, new_id, KEYS[5],
    { resends = KEYS[7], index = KEYS[9], dlog = KEYS[6], partition = src.partition, created_ms = ARGV[4], origin = 'unblock' })
  redis.call('LPUSH', KEYS[3], new_id)
  created = redis.call('HGETALL', KEYS[5])
end
redis.call('SPUBLISH', ARGV[7], ARGV[8] .. '|' .. ARGV[1])
return { 'ok', id, new_id, created }
