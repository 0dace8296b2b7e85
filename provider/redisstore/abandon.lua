-- Abandon: give up a claim its request could not make durable (too few
-- replicas acknowledged it), before anything reached the processor: the
-- guid, its hold or reservation, and its doubt entry go, if the caller's
-- token still holds the guid.
--
-- KEYS: 1 guid record, 2 session hash, 3 doubt set
-- ARGV: 1 guid, 2 token, 3 doubt member
local idem, sess, doubt = KEYS[1], KEYS[2], KEYS[3]
local guid = ARGV[1]
local r = redis.call('HMGET', idem, REC.state, REC.token)
if r[1] ~= 'run' or r[2] ~= ARGV[2] then
  return 0
end
redis.call('DEL', idem)
redis.call('ZREM', doubt, ARGV[3])
if redis.call('HGET', sess, 'op') == guid then
  redis.call('HDEL', sess, 'op')
end
local amount = redis.call('HGET', sess, 'r:' .. guid)
if amount then
  redis.call('HINCRBY', sess, 'reserved', -tonumber(amount))
  redis.call('HDEL', sess, 'r:' .. guid)
end
return 1
