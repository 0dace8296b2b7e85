-- ReleasePayment: give up a payment claim its request could not make
-- durable (too few replicas acknowledged it), before the processor saw
-- anything: the session goes back to where the claim found it (the card
-- form, or the 3-D Secure form) and its doubt entry goes, if the
-- caller's token still holds the claim.
--
-- KEYS: 1 session hash, 2 doubt set
-- ARGV: 1 session id, 2 token, 3 doubt member
local sess, doubt = KEYS[1], KEYS[2]
local r = redis.call('HMGET', sess, 'id', 'phase', 'payToken', 'payStage')
if r[1] ~= ARGV[1] or r[2] ~= 'PAYING' or r[3] ~= ARGV[2] then
  return 0
end
local back = 'WAITING'
if r[4] == '3ds' then
  back = 'THREEDS'
end
redis.call('HSET', sess, 'phase', back)
redis.call('HDEL', sess, 'payStage', 'payToken', 'payUntil')
redis.call('ZREM', doubt, ARGV[3])
return 1
