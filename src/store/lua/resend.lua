--[[
  Resend (seed 001): a NEW delivery of the same event to the same endpoint, queued at the tail
  of the source's partition. The source delivery is not touched.
  KEYS[1] source delivery hash  KEYS[2] new delivery hash  KEYS[3] endpoint registry hash
  KEYS[4] key base `<prefix>:{endpoint}:` + 'q:' (the queue is chosen here)  KEYS[5] delivery log stream  KEYS[6] stats hash  KEYS[7] resend counters hash
  KEYS[8] event index hash  KEYS[9] events stream
  ARGV[1] new delivery id  ARGV[2] now, epoch ms  ARGV[3] the endpoint's wake shard channel  ARGV[4] endpoint id
  ARGV[5] ordering mode  ARGV[6] origin ('resend')  ARGV[7] partition count (current layout)
  Returns { 'ok', new id, resend_seq, the new record as created (flat field list) } | { 'not_found' } | { 'not_resendable', status } | { 'endpoint_not_active', state }
          | { 'event_expired' } (the event was removed by retention)
]]
local src = read_source(KEYS[1])
if not src then return { 'not_found' } end
if src.status ~= 'DELIVERED' and src.status ~= 'FAILED' then return { 'not_resendable', src.status } end
if #redis.call('XRANGE', KEYS[9], src.event_sid, src.event_sid) == 0 then
  return { 'event_expired' }
end
local state = redis.call('HGET', KEYS[3], 'state')
if state ~= 'active' then return { 'endpoint_not_active', state or 'missing' } end
local p = partition_of(ARGV[5], ARGV[7], src.ordering_key, src.event_id)
local seq = repeat_delivery(src, ARGV[1], KEYS[2],
  { resends = KEYS[7], index = KEYS[8], dlog = KEYS[5], partition = p, created_ms = ARGV[2], origin = ARGV[6] })
redis.call('XADD', KEYS[4] .. p, '*', 'd', ARGV[1])
redis.call('HINCRBY', KEYS[6], 'resent', 1)
redis.call('SPUBLISH', ARGV[3], ARGV[4] .. '|' .. p)
return { 'ok', ARGV[1], seq, redis.call('HGETALL', KEYS[2]) }
