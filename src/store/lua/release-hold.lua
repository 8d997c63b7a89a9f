--[[
  After a pauseLive replay: move live queue entries that were held (hold:<p>) to the tail of
  their partition queues, oldest first, at most ARGV[1] per call. When every hold stream is
  empty, live traffic flows to the queues again (hold_live is cleared) in the same step, so no
  entry can slip between the last move and the release.
  The hold belongs to the replay that set it (field hold_replay): a call for another replay (a
  late retry after a newer pauseLive replay took the hold) changes nothing.
  KEYS[1] endpoint registry hash; then pairs KEYS[2k] hold stream, KEYS[2k+1] queue stream
  ARGV[1] max entries to move  ARGV[2] the endpoint's wake shard channel  ARGV[3] endpoint id
  ARGV[4] replay id that owns the hold ('' = whoever holds it)
  Returns { 'done' } | { 'more', moved } | { 'not_owner' }
]]
if ARGV[4] and ARGV[4] ~= '' then
  local holder = redis.call('HGET', KEYS[1], 'hold_replay')
  if holder and holder ~= ARGV[4] then return { 'not_owner' } end
end
local budget = tonumber(ARGV[1])
local moved = 0
for i = 2, #KEYS, 2 do
  local entries = redis.call('XRANGE', KEYS[i], '-', '+', 'COUNT', budget - moved)
  for _, e in ipairs(entries) do
    redis.call('XADD', KEYS[i + 1], '*', 'd', e[2][2])
    redis.call('XDEL', KEYS[i], e[1])
    moved = moved + 1
  end
  if #entries > 0 then redis.call('SPUBLISH', ARGV[2], ARGV[3] .. '|' .. string.match(KEYS[i], ':hold:(%d+)$')) end
  if moved >= budget then return { 'more', moved } end
end
redis.call('HDEL', KEYS[1], 'hold_live', 'hold_replay')
return { 'done' }
