--[[
  Fenced: return the partition's head and mark it SENDING when due (see lib-head.lua).
  KEYS[1] lease  KEYS[2] queue stream  KEYS[3] front list  KEYS[4] blocked hash  KEYS[5] events stream
  ARGV[1] delivery key prefix  ARGV[2] owner:token  ARGV[3] '1' = also read the next delivery (look-ahead)
  ARGV[4] now, epoch ms (the dispatcher's clock: the record's updated time)  ARGV[5] partition  ARGV[6] consumer group  ARGV[7] consumer  ARGV[8] takeover wait ms
  ARGV[9] delivery id the caller already sent as this head ('' = none; see lib-head.lua)
  ARGV[10] call id: unique per call, repeated when the caller repeats the call (a repeat answers
           the same instead of treating the head as left in flight)
  Returns { 'fenced' } when the caller does not hold the lease, else claim_head's answer.
]]
local h = head_args(KEYS, ARGV)
if not fenced(h.lease, h.owner) then return { 'fenced' } end
return claim_head(h)
