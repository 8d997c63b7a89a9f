--[[
  The partition of a new delivery (resend, replay) under the endpoint's CURRENT ordering layout,
  computed exactly as src/domain/event.ts choosePartition does for ingest: strict → 0; key → the
  first 4 bytes (big-endian) of SHA-1(ordering key) mod n, 0 without a key; none → the same over
  the event id. The source's stored partition may belong to a layout that no longer exists.
]]
local function partition_of(mode, n, ordering_key, event_id)
  n = tonumber(n)
  if mode == 'strict' or n <= 1 then return 0 end
  local basis = mode == 'key' and ordering_key or event_id
  if basis == nil or basis == '' then return 0 end
  return tonumber(string.sub(redis.sha1hex(basis), 1, 8), 16) % n
end
