-- ReplayEvent: send a parked event again, from the start of the retry
-- schedule, with the same id and body.
--
-- KEYS: 1 outbox due, 2 event hash, 3 dead set
-- ARGV: 1 event id, 2 now ms
local due, ev, dead = KEYS[1], KEYS[2], KEYS[3]
local state = redis.call('HGET', ev, 'state')
if state ~= 'dead' and state ~= 'gone' then
  return state or ''
end
redis.call('ZREM', dead, ARGV[1])
redis.call('HSET', ev, 'state', 'pending', 'tries', '0', 'next', ARGV[2])
redis.call('ZADD', due, ARGV[2], ARGV[1])
return 'replayed'
