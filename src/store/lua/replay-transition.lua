--[[
  Move a Running replay to a terminal phase, only from Running (so a cancel and a completion
  cannot both win):
  - 'cancel': Cancelled (no more batches are accepted: replay-batch.lua checks the phase);
  - 'complete': Succeeded, or Failed when any replayed delivery ended FAILED — only once the scan
    is done (enqueue_done) and every enqueued delivery has ended (delivered + failed >= enqueued);
  - 'fail': Failed with ARGV[3] as the message (the replay could not run).
  KEYS[1] replay state hash
  ARGV[1] 'cancel' | 'complete' | 'fail'  ARGV[2] now ISO  ARGV[3] message
  Returns { 'ok', new phase } | { 'not_running', phase } | { 'not_done' }
]]
local s = redis.call('HMGET', KEYS[1], 'phase', 'enqueue_done', 'enqueued', 'delivered', 'failed')
if s[1] ~= 'Running' then return { 'not_running', s[1] or 'missing' } end
local phase, message = 'Cancelled', ARGV[3]
if ARGV[1] == 'complete' then
  local enqueued, delivered, failed = tonumber(s[3] or '0'), tonumber(s[4] or '0'), tonumber(s[5] or '0')
  if s[2] ~= '1' or delivered + failed < enqueued then return { 'not_done' } end
  if failed > 0 then
    phase = 'Failed'
    message = failed .. ' of ' .. enqueued .. ' replayed deliveries ended FAILED'
  else
    phase = 'Succeeded'
    message = delivered .. ' replayed deliveries delivered'
  end
elseif ARGV[1] == 'fail' then
  phase = 'Failed'
end
redis.call('HSET', KEYS[1], 'phase', phase, 'message', message, 'updated_at', ARGV[2], 'completed_at', ARGV[2])
return { 'ok', phase }
