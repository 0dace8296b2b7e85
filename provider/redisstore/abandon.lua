-- Abandon: forget a claimed guid that stored no reply and give back what
-- it reserved, if it still holds both.
--
-- KEYS: 1 guid record, 2 session hash
-- ARGV: 1 guid, 2 token
local idem, sess, guid = KEYS[1], KEYS[2], ARGV[1]
if idem_release(idem, ARGV[2]) == 0 then
  return 0
end
if redis.call('HGET', sess, 'op') == guid then
  redis.call('HDEL', sess, 'op')
end
local r = redis.call('HGET', sess, 'r:' .. guid)
if r then
  redis.call('HINCRBY', sess, 'reserved', -tonumber(r))
  redis.call('HDEL', sess, 'r:' .. guid)
end
return 1
