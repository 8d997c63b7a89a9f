--[[
  Enqueue one batch of a replay and advance its persisted cursor, atomically: a replay that is
  restarted resumes from the cursor, so no event is enqueued twice and none is skipped.
  Each selected event becomes a NEW delivery (resend_seq + 1, origin replay:<id>) at the tail of
  its partition queue, in the order given (the events' original receive order).

  KEYS[1] replay state hash  KEYS[2] delivery log stream  KEYS[3] resend counters hash
  KEYS[4] event index hash  KEYS[5] stats hash
  ARGV[1] endpoint key base (`<p>:{endpoint}:`)  ARGV[2] expected cursor  ARGV[3] new cursor
  ARGV[4] now ISO  ARGV[5] the endpoint's wake shard channel  ARGV[6] endpoint id  ARGV[7] replay id
  ARGV[8] destination override ('' = none)  ARGV[9] '1' when this is the last batch
  ARGV[10] ordering mode  ARGV[11] partition count (the current layout picks each new delivery's partition)
  ARGV[12..] pairs: new delivery id, source delivery id
  Every pair counts as matched (the selector chose it): enqueued when its source record exists,
  skipped when it expired meanwhile.
  Returns { 'ok', enqueued, skipped } | { 'conflict', current cursor } | { 'not_running', phase }
]]
local state = KEYS[1]
local phase = redis.call('HGET', state, 'phase')
if phase ~= 'Running' then return { 'not_running', phase or 'missing' } end
local cursor = redis.call('HGET', state, 'cursor') or ''
if cursor ~= ARGV[2] then return { 'conflict', cursor } end

local base = ARGV[1]
local now_ms = redis_now_ms()
local enqueued, skipped = 0, 0
local woken = {}
for i = 12, #ARGV, 2 do
  local new_id, src_id = ARGV[i], ARGV[i + 1]
  local src = read_source(base .. 'd:' .. src_id)
  if not src then
    skipped = skipped + 1 -- the source record expired (retention) between the scan and now
  else
    local p = partition_of(ARGV[10], ARGV[11], src.ordering_key, src.event_id)
    repeat_delivery(src, new_id, base .. 'd:' .. new_id, { resends = KEYS[3], index = KEYS[4], dlog = KEYS[2], partition = p,
      created_ms = now_ms, origin = 'replay:' .. ARGV[7], destination_url = ARGV[8] })
    redis.call('XADD', base .. 'q:' .. p, '*', 'd', new_id)
    woken[p] = true
    enqueued = enqueued + 1
  end
end
redis.call('HINCRBY', state, 'matched', enqueued + skipped)
redis.call('HINCRBY', state, 'enqueued', enqueued)
redis.call('HINCRBY', state, 'skipped', skipped)
redis.call('HINCRBY', KEYS[5], 'replayed', enqueued)
redis.call('HSET', state, 'cursor', ARGV[3], 'updated_at', ARGV[4])
if ARGV[9] == '1' then redis.call('HSET', state, 'enqueue_done', '1') end
for p, _ in pairs(woken) do redis.call('SPUBLISH', ARGV[5], ARGV[6] .. '|' .. p) end
return { 'ok', enqueued, skipped }
