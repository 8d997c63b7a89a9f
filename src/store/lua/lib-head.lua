--[[
  Shared by head.lua and finish.lua (prepended to each): find the head of a partition and, when
  it is due, mark it SENDING for the fenced owner. A partition's head is, in order: the first id
  of its `front` list (an unblock retry), else the entry pending for the partition's consumer
  (in flight, or left by a dead owner), else the next new entry of its queue stream.

  Delivery hashes are addressed from a prefix passed in ARGV: every key shares the endpoint's
  hash tag, so this stays within one Redis Cluster slot (the same approach bullmq takes).
]]
-- Time comes from Redis itself, so dispatchers with skewed clocks agree on due times and on
-- when an in-flight attempt of a dead owner must have timed out.
local function redis_now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function fenced(leaseKey, owner)
  return redis.call('GET', leaseKey) == owner
end

local function to_map(flat)
  local m = {}
  for i = 1, #flat, 2 do m[flat[i]] = flat[i + 1] end
  return m
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
  h = { lease, queue, front, blocked, events, dprefix, owner, now_ms (unused: Redis TIME is used), now_iso, partition,
        group, consumer, takeover_ms, retention }
  Returns one of
    { 'empty' } | { 'blocked', delivery id } | { 'wait', ms } | { 'expired', delivery id } (failed: event gone)
    { 'send', source, qid, delivery fields (flat)…, '__event', headers json, body }
]]
local function claim_head(h, pel_empty)
  for _ = 1, 100 do
    local blocker = redis.call('HGET', h.blocked, h.partition)
    if blocker then return { 'blocked', blocker } end
    local id, source, qid = find_head(h.queue, h.front, h.group, h.consumer, pel_empty)
    pel_empty = false
    if not id then return { 'empty' } end
    local dkey = h.dprefix .. id
    local d = to_map(redis.call('HGETALL', dkey))
    if d.status == nil or d.status == 'DELIVERED' or d.status == 'FAILED' then
      -- Expired by retention or already finished (a race with unblock): not a head any more.
      drop_head(h.queue, h.front, h.group, source, qid)
    else
      local now = redis_now_ms()
      if d.status == 'SENDING' then
        -- Left in flight by an earlier owner. Its request may still be running: wait until it
        -- must have timed out before sending again (same webhook-id: at-least-once).
        local free_at = (tonumber(d.last_attempt_ms or '') or 0) + tonumber(h.takeover_ms)
        if free_at > now then return { 'wait', free_at - now } end
        redis.call('RPUSH', dkey .. ':attempts', cjson.encode({
          attempt = tonumber(d.attempts), started_at = d.last_attempt_at, classification = 'dispatcher_lost',
          error = 'the dispatcher sending this attempt stopped before recording its outcome' }))
      else
        local due = tonumber(d.next_attempt_ms or '') or 0
        if due > now then return { 'wait', due - now } end
      end
      local ev = redis.call('XRANGE', h.events, d.event_sid, d.event_sid)
      if not ev[1] then
        -- The event is gone (retention): never send an empty body in its place.
        redis.call('HSET', dkey, 'status', 'FAILED', 'last_failure_reason', 'event_expired', 'updated_at', h.now_iso,
          'last_error', 'the event was removed by retention before this delivery was sent')
        drop_head(h.queue, h.front, h.group, source, qid)
        return { 'expired', id }
      end
      local e = to_map(ev[1][2])
      local headers, body = e.h, e.b
      local attempts = tonumber(d.attempts or '0') + 1
      redis.call('HSET', dkey, 'status', 'SENDING', 'attempts', attempts, 'last_attempt_at', h.now_iso,
        'last_attempt_ms', now, 'send_token', h.owner, 'updated_at', h.now_iso)
      d.status, d.attempts, d.last_attempt_at, d.last_attempt_ms = 'SENDING', attempts, h.now_iso, now
      d.send_token, d.updated_at = h.owner, h.now_iso
      local out = { 'send', source, qid }
      for k, v in pairs(d) do
        out[#out + 1] = k
        out[#out + 1] = v
      end
      out[#out + 1] = '__event'
      out[#out + 1] = headers
      out[#out + 1] = body
      return out
    end
  end
  return { 'wait', 10 }
end

local function head_args(keys, argv)
  return { lease = keys[1], queue = keys[2], front = keys[3], blocked = keys[4], events = keys[5],
    dprefix = argv[1], owner = argv[2], now_ms = argv[3], now_iso = argv[4], partition = argv[5],
    group = argv[6], consumer = argv[7], takeover_ms = argv[8] }
end
