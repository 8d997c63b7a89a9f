--[[
  The delivery record, written in one place for every script that creates one (ingest, resend,
  the retry of an unblock, replay). Compact: no id or endpoint id (both are in the key), times as
  epoch ms, fields without a value left out; src/store/delivery-record.ts reads it back.
]]
-- The fields a new delivery copies from the one it repeats (resend, unblock retry, replay); nil
-- when that record is gone (expired by retention).
local function read_source(dkey)
  local v = redis.call('HMGET', dkey, 'status', 'event_id', 'event_type', 'event_sid', 'partition', 'ordering_key', 'max_attempts')
  if not v[1] then return nil end
  return { status = v[1], event_id = v[2], event_type = v[3], event_sid = v[4], partition = v[5],
    ordering_key = v[6] or '', max_attempts = v[7] }
end

-- Redis' clock, ms (the due times of the dispatcher's scripts, and the records they create).
local function redis_now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

--[[
  f = { event_id, event_type, event_sid, max_attempts, resend_seq, partition, ordering_key ('' = none),
        created_ms, origin (nil = ingest), destination_url (nil or '' = the endpoint's) }
  PENDING with 0 attempts (seed 001), due at once: no next_attempt_ms.
]]
local function new_delivery(dkey, f)
  local a = { 'event_id', f.event_id, 'event_type', f.event_type, 'event_sid', f.event_sid, 'status', 'PENDING',
    'attempts', 0, 'max_attempts', f.max_attempts, 'resend_seq', f.resend_seq, 'partition', f.partition,
    'created_ms', f.created_ms }
  if f.ordering_key ~= '' then a[#a + 1] = 'ordering_key'; a[#a + 1] = f.ordering_key end
  if f.origin then a[#a + 1] = 'origin'; a[#a + 1] = f.origin end
  if f.destination_url and f.destination_url ~= '' then a[#a + 1] = 'destination_url'; a[#a + 1] = f.destination_url end
  redis.call('HSET', dkey, unpack(a))
end

--[[
  Appends one attempt (JSON, store/delivery-record.ts encodeAttempt) to a delivery's history. The
  first one recorded, when it fits a compact hash value (64 bytes, Redis' default
  hash-max-listpack-value), is kept in the record itself (field a1): most deliveries have one
  attempt, and a list key of its own costs more than the attempt. Every later one (and a long
  first one) goes to the attempts list; a1, when present, is always the first.
]]
-- Returns true when it went into the record (then there is no attempts list). has_a1: the caller
-- has read the record's a1 field (true/false), nil when it has not.
local function record_attempt(dkey, akey, json, has_a1)
  if #json <= 64 then
    if has_a1 == nil then has_a1 = redis.call('HEXISTS', dkey, 'a1') == 1 end
    if not has_a1 and redis.call('EXISTS', akey) == 0 then
      redis.call('HSET', dkey, 'a1', json)
      return true
    end
  end
  redis.call('RPUSH', akey, json)
  return false
end

-- An attempts list written after its record got its retention TTL (an attempt recorded late)
-- expires with the record.
local function expire_like(akey, dkey)
  local ttl = redis.call('PTTL', dkey)
  if ttl > 0 then redis.call('PEXPIRE', akey, ttl) end
end

--[[
  The event index (eventidx): event id → '<stream id>|<latest delivery id>', one entry per event
  for both (store/event-index.ts reads it). A new delivery of an event becomes its latest; an event
  already removed by retention has no entry, and gets none.
]]
local function set_latest(index, event_id, delivery_id)
  local v = redis.call('HGET', index, event_id)
  if not v then return end
  redis.call('HSET', index, event_id, string.match(v, '^[^|]*') .. '|' .. delivery_id)
end

--[[
  A new delivery of the event `src` (a record read by read_source) delivers again: a resend, an
  unblock's retry or a replay. It gets the event's next resend_seq (r.resends counters), becomes
  the event's latest (r.index) and is listed in the delivery log (r.dlog); queueing it is the
  caller's. r = { resends, index, dlog, partition, created_ms, origin, destination_url (nil = none) }.
  Returns its resend_seq.
]]
local function repeat_delivery(src, id, dkey, r)
  local seq = redis.call('HINCRBY', r.resends, src.event_id, 1)
  new_delivery(dkey, { event_id = src.event_id, event_type = src.event_type, event_sid = src.event_sid,
    max_attempts = src.max_attempts, resend_seq = seq, partition = r.partition, ordering_key = src.ordering_key,
    created_ms = r.created_ms, origin = r.origin, destination_url = r.destination_url })
  set_latest(r.index, src.event_id, id)
  redis.call('XADD', r.dlog, '*', 'd', id)
  return seq
end
