--[[
  Read-only: a page of an endpoint's events stream WITHOUT the bodies (the event listing and the
  replay scan must not pull megabytes of payload through the client), each event with its latest
  delivery's id and status.
  KEYS[1] events stream  KEYS[2] event index hash  KEYS[3] latest-delivery hash of the earlier layout
          (read for index entries without a latest delivery)
  ARGV[1] delivery key prefix (`<p>:{endpoint}:d:`)  ARGV[2] 'fwd' (XRANGE) | 'rev' (XREVRANGE)
  ARGV[3] first bound, ARGV[4] second bound, in the order the command takes them ('(' = exclusive)
  ARGV[5] count
  Returns a flat list, 8 values per event: stream id, event id, type, provider event id,
  received at, body size, latest delivery id ('' = none), its status ('' = expired or none)
]]
local cmd = ARGV[2] == 'rev' and 'XREVRANGE' or 'XRANGE'
local entries = redis.call(cmd, KEYS[1], ARGV[3], ARGV[4], 'COUNT', tonumber(ARGV[5]))
local out = {}
for _, e in ipairs(entries) do
  local f = {}
  local raw = e[2]
  for i = 1, #raw, 2 do f[raw[i]] = raw[i + 1] end
  local entry = redis.call('HGET', KEYS[2], f.id or '') or ''
  local latest = string.match(entry, '|(.+)$') or redis.call('HGET', KEYS[3], f.id or '') or ''
  local status = ''
  if latest ~= '' then status = redis.call('HGET', ARGV[1] .. latest, 'status') or '' end
  out[#out + 1] = e[1]
  out[#out + 1] = f.id or ''
  out[#out + 1] = f.type or ''
  out[#out + 1] = f.pid or ''
  out[#out + 1] = f.at or ''
  out[#out + 1] = string.len(f.b or '')
  out[#out + 1] = latest
  out[#out + 1] = status
end
return out
