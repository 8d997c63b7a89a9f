--[[
  Create a replay's state, atomically with what must be decided at the same instant:
  - the end of its scan: the last event received before `to` AND before this moment, so events
    that arrive while the replay runs are never replayed by it (they are live traffic);
  - with pauseLive, the live hold (hold_live = 1 on the endpoint): every event after the scan end
    goes to the hold streams, so none can slip between the replayed range and the hold.
  Only one pauseLive replay may hold an endpoint at a time; it is named in hold_replay.

  KEYS[1] replay state hash  KEYS[2] endpoint registry hash  KEYS[3] events stream
  ARGV[1] replay id  ARGV[2] endpoint id  ARGV[3] spec (JSON)  ARGV[4] now ISO
  ARGV[5] '1' = pauseLive  ARGV[6] scan start ('-' or '<ms>-0')
  ARGV[7] scan upper bound for XREVRANGE ('+' or '(<ms>-0' for an exclusive `to`)
  Returns { 'created', scan end ('' = nothing to scan) } | { 'exists', phase }
        | { 'endpoint_not_active', state } | { 'hold_busy' }
]]
local phase = redis.call('HGET', KEYS[1], 'phase')
if phase then return { 'exists', phase } end
local state = redis.call('HGET', KEYS[2], 'state')
if state ~= 'active' then return { 'endpoint_not_active', state or 'missing' } end
if ARGV[5] == '1' and redis.call('HGET', KEYS[2], 'hold_live') == '1' then return { 'hold_busy' } end

local last = redis.call('XREVRANGE', KEYS[3], ARGV[7], '-', 'COUNT', 1)
local scan_end = last[1] and last[1][1] or ''
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'endpoint_id', ARGV[2], 'spec', ARGV[3], 'phase', 'Running',
  'cursor', '', 'scan_start', ARGV[6], 'scan_end', scan_end, 'matched', 0, 'enqueued', 0, 'skipped', 0,
  'delivered', 0, 'failed', 0, 'pause_live', ARGV[5], 'created_at', ARGV[4], 'started_at', ARGV[4],
  'updated_at', ARGV[4], 'message', '')
if ARGV[5] == '1' then redis.call('HSET', KEYS[2], 'hold_live', '1', 'hold_replay', ARGV[1]) end
return { 'created', scan_end }
