--[[
  Retention: drop events older than the endpoint's retention (and their index entries), at most
  ARGV[2] per call. Delivery records expire on their own (EXPIRE when they end).
  KEYS[1] events stream  KEYS[2] event index hash  KEYS[3] latest-delivery hash  KEYS[4] delivery log stream
  ARGV[1] min stream id to keep (events before it go)  ARGV[2] max events per call
  Returns the number of events removed (when it equals ARGV[2], call again).
]]
local entries = redis.call('XRANGE', KEYS[1], '-', '(' .. ARGV[1], 'COUNT', ARGV[2])
for _, e in ipairs(entries) do
  local id
  for i = 1, #e[2], 2 do
    if e[2][i] == 'id' then id = e[2][i + 1] end
  end
  if id then
    redis.call('HDEL', KEYS[2], id)
    redis.call('HDEL', KEYS[3], id)
  end
  redis.call('XDEL', KEYS[1], e[1])
end
redis.call('XTRIM', KEYS[4], 'MINID', ARGV[1])
return #entries
