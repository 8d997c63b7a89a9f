--[[
  Accept one event atomically: dedupe, append it to the endpoint's event stream, create its
  first delivery (seed 001: PENDING, attempts 0, resend_seq 0), queue that delivery in its
  ordering partition, then wake the partition's owner if it was idle. Either all of it happens or none.

  KEYS[1] events stream (declared for routing; the other keys share its hash tag and are built
          from the key base ARGV[14] with the suffixes of src/store/keys.ts — fewer, shorter
          arguments made the hot path measurably cheaper, the approach bullmq takes)

  ARGV[1] event id            ARGV[2] event type          ARGV[3] provider event id ('' = none)
  ARGV[4] received at (ISO)   ARGV[5] headers (JSON)      ARGV[6] raw body
  ARGV[7] delivery id         ARGV[8] max attempts        ARGV[9] dedupe window seconds (0 = off)
  ARGV[10] the endpoint's wake shard channel   ARGV[11] endpoint id        ARGV[12] partition
  ARGV[13] ordering key ('' = none)   ARGV[14] key base `<prefix>:{endpoint}:`
  ARGV[15] dedupe key ('' = none): the provider event id, or a body digest
  ARGV[16] verification header names, comma-separated (stored as the event's `vh`)
  ARGV[17] dedupe key only recorded (not checked) for later claims ('' = none)
  ARGV[18] received at, epoch ms (the same instant as ARGV[4]: the delivery record's created_ms)

  Returns { created (1|0), event id, delivery id }; on a duplicate, the original event id and ''.
]]
local base = ARGV[14]
local events, index, dkey = KEYS[1], base .. 'eventidx', base .. 'd:' .. ARGV[7]
local dedupe_key = base .. 'dedupe:' .. ARGV[15]
local stats = base .. 'stats'
-- The same call run twice (ioredis resends a command whose reply was lost with the connection):
-- the event id is new per request, so finding it as the holder of its dedupe key, or in the index
-- when it has none, means this request is stored.
-- Dedupe: claim the provider's id (or the body digest) for this event in one step (SET NX GET
-- answers the holder). A recorded-only key (ARGV[17]) lets a later id-less copy find this event.
if ARGV[15] ~= '' and tonumber(ARGV[9]) > 0 then
  local existing = redis.call('SET', dedupe_key, ARGV[1], 'NX', 'GET', 'EX', ARGV[9])
  if existing == ARGV[1] then return { 1, ARGV[1], ARGV[7] } end
  if existing then
    redis.call('HINCRBY', stats, 'deduped', 1)
    return { 0, existing, '' }
  end
elseif redis.call('HEXISTS', index, ARGV[1]) == 1 then
  return { 1, ARGV[1], ARGV[7] }
end

if ARGV[17] ~= '' and tonumber(ARGV[9]) > 0 then
  redis.call('SET', base .. 'dedupe:' .. ARGV[17], ARGV[1], 'EX', ARGV[9])
end

local sid = redis.call('XADD', events, '*',
  'id', ARGV[1], 'type', ARGV[2], 'pid', ARGV[3], 'at', ARGV[4], 'h', ARGV[5], 'b', ARGV[6], 'vh', ARGV[16])
-- The event index: its stream id and its latest delivery (this one), in one entry.
redis.call('HSET', index, ARGV[1], sid .. '|' .. ARGV[7])

new_delivery(dkey, { event_id = ARGV[1], event_type = ARGV[2], event_sid = sid, max_attempts = ARGV[8],
  resend_seq = 0, partition = ARGV[12], ordering_key = ARGV[13], created_ms = ARGV[18] })
local held = redis.call('HGET', base .. 'endpoint', 'hold_live') == '1'
local queue = held and (base .. 'hold:' .. ARGV[12]) or (base .. 'q:' .. ARGV[12])
local qid = redis.call('XADD', queue, '*', 'd', ARGV[7])
redis.call('XADD', base .. 'dlog', '*', 'd', ARGV[7])
redis.call('HINCRBY', stats, 'ingested', 1)

-- Wake the partition's owner only when its queue was empty: otherwise it has work in hand and
-- claims this entry in the script that ends the one before (finished entries leave the queue).
-- With nothing in front of it either, this delivery is the next head: the owner (from the lease)
-- gets it with its event on its own channel and can send it while its claim is on the way
-- (docs/architecture.md, "Pipelining"). With a head in `front`, only a plain wake-up. Without an
-- owner, none: whoever takes the partition finds the entry at its first claim. Both channels are
-- shard channels under the endpoint's tag: a cluster keeps them on this shard.
if not held and redis.call('XLEN', queue) == 1 then
  local lease = redis.call('GET', base .. 'lease:' .. ARGV[12])
  local owner = lease and string.match(lease, '^(.*):%d+$')
  if owner and redis.call('LLEN', base .. 'front:' .. ARGV[12]) == 0 then
    redis.call('SPUBLISH', ARGV[10] .. ':' .. owner, cjson.encode({ ep = ARGV[11], p = tonumber(ARGV[12]), q = qid,
      d = ARGV[7], e = ARGV[1], t = ARGV[2], m = tonumber(ARGV[8]), h = ARGV[5] }) .. '\n' .. ARGV[6])
  elseif owner then
    redis.call('SPUBLISH', ARGV[10], ARGV[11] .. '|' .. ARGV[12])
  end
end
return { 1, ARGV[1], ARGV[7] }
