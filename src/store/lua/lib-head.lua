--[[
  Shared by head.lua and finish.lua (prepended to each): find the head of a partition and, when
  it is due, mark it SENDING for the fenced owner. A partition's head is, in order: the first id
  of its `front` list (an unblock retry), else the entry pending for the partition's consumer
  (in flight, or left by a dead owner), else the next new entry of its queue stream.

  Delivery hashes are addressed from a prefix passed in ARGV: every key shares the endpoint's
  hash tag, so this stays within one Redis Cluster slot (the same approach bullmq takes).
]]
-- Time comes from Redis itself (redis_now_ms, lib-delivery.lua, prepended before this file), so
-- dispatchers with skewed clocks agree on due times and on when an in-flight attempt of a dead
-- owner must have timed out.
local function fenced(leaseKey, owner)
  return redis.call('GET', leaseKey) == owner
end

local function to_map(flat)
  local m = {}
  for i = 1, #flat, 2 do m[flat[i]] = flat[i + 1] end
  return m
end

-- The fields of delivery `id` the dispatcher needs (one HMGET; missing fields read as nil). The
-- record is compact (lib-delivery.lua): the id is the key's, times are epoch ms.
local function read_delivery(dkey, id)
  local v = redis.call('HMGET', dkey, 'status', 'attempts', 'last_attempt_ms', 'next_attempt_ms', 'event_sid',
    'event_id', 'event_type', 'max_attempts', 'resend_seq', 'destination_url', 'send_token', 'claim_call')
  local s = function(x) return x or nil end
  return { status = s(v[1]), attempts = tonumber(v[2] or '0') or 0, last_attempt_ms = tonumber(v[3] or ''),
    next_attempt_ms = tonumber(v[4] or ''), event_sid = s(v[5]), id = id, event_id = v[6] or '',
    event_type = v[7] or '', max_attempts = v[8] or '', resend_seq = v[9] or '0', destination_url = v[10] or '',
    send_token = s(v[11]), claim_call = s(v[12]) }
end

-- The event's headers (JSON) and raw body, or nil when retention removed the event.
local function read_event(events, sid)
  local ev = redis.call('XRANGE', events, sid, sid)[1]
  if not ev then return nil end
  local e = to_map(ev[2])
  return e.h, e.b
end

-- Appends a delivery as src/store/dispatch.ts reads it, by position:
-- id, event id, event type, attempt number, max attempts, resend seq, destination url,
-- attempt started at (epoch ms by Redis' clock; '' when not claimed), headers JSON, body.
local function describe(out, d, attempt, started_at, headers, body)
  local n = #out
  out[n + 1], out[n + 2], out[n + 3], out[n + 4], out[n + 5] = d.id, d.event_id, d.event_type, attempt, d.max_attempts
  out[n + 6], out[n + 7], out[n + 8], out[n + 9], out[n + 10] = d.resend_seq, d.destination_url, started_at, headers, body
end

-- Returns id, source ('front'|'queue'), queue entry id, or nil when the partition is empty.
-- pel_empty: the caller just acknowledged the only pending entry, so there is none to read.
local function find_head(queue, front, group, consumer, pel_empty)
  local id = redis.call('LINDEX', front, 0)
  if id then return id, 'front', '' end
  local entries = {}
  if not pel_empty then
    local pending = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', 1, 'STREAMS', queue, '0')
    entries = pending and pending[1] and pending[1][2] or {}
  end
  if #entries == 0 then
    local fresh = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', 1, 'STREAMS', queue, '>')
    if not fresh then return nil end
    entries = fresh[1][2]
  end
  local entry = entries[1]
  return entry[2][2], 'queue', entry[1]
end

local function drop_head(queue, front, group, source, qid)
  if source == 'front' then
    redis.call('LPOP', front)
  else
    redis.call('XACK', queue, group, qid)
    redis.call('XDEL', queue, qid)
  end
end

--[[
  Look-ahead for pipelining: the queue entry after the head `qid` (read, not claimed) when it is a
  PENDING delivery that is due and whose event exists. Only the head is ever in the consumer's
  pending list, so the entry after it is the one the next XREADGROUP '>' returns, unless the
  queue changes in between (the claim then names another head, which the dispatcher checks).
  Appends '__next', its queue entry id and the delivery (describe) to `out`.
]]
local function add_next(h, qid, now, out)
  local entry = redis.call('XRANGE', h.queue, '(' .. qid, '+', 'COUNT', 1)[1]
  if not entry then return end
  local d = read_delivery(h.dprefix .. entry[2][2], entry[2][2])
  if d.status ~= 'PENDING' or (d.next_attempt_ms or 0) > now then return end
  local headers, body = read_event(h.events, d.event_sid)
  if not headers then return end
  out[#out + 1] = '__next'
  out[#out + 1] = entry[1]
  describe(out, d, d.attempts + 1, '', headers, body)
end

-- The answer for a head just claimed (or claimed by an earlier run of the same call); the event
-- is read here unless the caller has it (`headers`, `body`) or does not need it (`same`).
local function answer(h, d, source, qid, same, now, attempt, started_at, headers, body)
  local out
  if same then
    out = { 'same', source, qid, attempt, started_at }
  else
    if not headers then headers, body = read_event(h.events, d.event_sid) end
    out = { 'send', source, qid }
    describe(out, d, attempt, started_at, headers or '{}', body or '')
  end
  if h.peek == '1' and source == 'queue' then add_next(h, qid, now, out) end
  return out
end

--[[
  h = { lease, queue, front, blocked, events, dprefix, owner, peek ('1' = add the look-ahead), now_ms (the dispatcher's clock),
        partition, group, consumer, takeover_ms, expect (the delivery a pipelining owner already sent
        as the next head, '' = none), call (an id of this call, the same when it is repeated) }
  Returns one of
    { 'empty' } | { 'blocked', delivery id } (held until an unblock) | { 'wait', ms } (also a blocked
      head's next try) | { 'expired', delivery id } (failed: event gone)
    { 'send', source, qid, describe(...)…, ['__next', qid, describe(...)…] }
    { 'same', source, qid, attempt, started at, ['__next', …] } when the head is `expect` (the
      caller already has its event, so it is not sent again)
]]
local function claim_head(h, pel_empty, no_blocker)
  for _ = 1, 100 do
    -- A blocked head (its attempts exhausted, onExhausted block) stays PENDING at the head and is
    -- claimed like any other when its next try is due (finish.lua spaces those tries), so the
    -- scope resumes by itself. A blocker already FAILED waits for an operator's unblock.
    -- no_blocker: the caller has just read (or removed) the partition's blocker and knows there is none.
    local blocker = not no_blocker and redis.call('HGET', h.blocked, h.partition)
    no_blocker = false
    if blocker then
      local bs = redis.call('HGET', h.dprefix .. blocker, 'status')
      if bs ~= 'PENDING' and bs ~= 'SENDING' then return { 'blocked', blocker } end
    end
    local id, source, qid = find_head(h.queue, h.front, h.group, h.consumer, pel_empty)
    pel_empty = false
    if not id then return { 'empty' } end
    local dkey = h.dprefix .. id
    local d = read_delivery(dkey, id)
    if d.status == nil or d.status == 'DELIVERED' or d.status == 'FAILED' then
      -- Expired by retention or already finished (a race with unblock): not a head any more.
      drop_head(h.queue, h.front, h.group, source, qid)
    else
      local now = redis_now_ms()
      local same = h.expect ~= '' and id == h.expect
      if d.status == 'SENDING' and d.send_token == h.owner and d.claim_call == h.call then
        -- This very call ran before and its answer was lost (ioredis resends a command after a
        -- reconnect, and the worker retries with the same call id): answer the same again.
        return answer(h, d, source, qid, same, now, d.attempts, d.last_attempt_ms or '')
      end
      if d.status == 'SENDING' then
        -- Left in flight by an earlier owner. Its request may still be running: wait until it
        -- must have timed out before sending again (same webhook-id: at-least-once).
        local free_at = (d.last_attempt_ms or 0) + tonumber(h.takeover_ms)
        if free_at > now then return { 'wait', free_at - now } end
        record_attempt(dkey, dkey .. ':attempts', cjson.encode({
          n = d.attempts, t = d.last_attempt_ms, c = 'dispatcher_lost',
          e = 'the dispatcher sending this attempt stopped before recording its outcome' }))
      elseif not same then
        local due = d.next_attempt_ms or 0
        if due > now then return { 'wait', due - now } end
      end
      local headers, body
      if not same then headers, body = read_event(h.events, d.event_sid) end
      if not same and not headers then
        -- The event is gone (retention): never send an empty body in its place.
        redis.call('HSET', dkey, 'status', 'FAILED', 'last_failure_reason', 'event_expired', 'updated_ms', h.now_ms,
          'last_error', 'the event was removed by retention before this delivery was sent')
        drop_head(h.queue, h.front, h.group, source, qid)
        return { 'expired', id }
      end
      local attempt = d.attempts + 1
      redis.call('HSET', dkey, 'status', 'SENDING', 'attempts', attempt, 'last_attempt_ms', now,
        'send_token', h.owner, 'claim_call', h.call, 'updated_ms', h.now_ms)
      return answer(h, d, source, qid, same, now, attempt, now, headers, body)
    end
  end
  return { 'wait', 10 }
end

local function head_args(keys, argv)
  return { lease = keys[1], queue = keys[2], front = keys[3], blocked = keys[4], events = keys[5],
    dprefix = argv[1], owner = argv[2], peek = argv[3], now_ms = argv[4], partition = argv[5],
    group = argv[6], consumer = argv[7], takeover_ms = argv[8], expect = argv[9], call = argv[10] }
end
