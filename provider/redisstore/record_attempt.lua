-- RecordAttempt: log one delivery attempt and decide the event's next
-- state, if the caller still holds the claim (the event's score is the
-- one its claim set; a replica that took over after the lease moved it).
--
-- KEYS: 1 outbox due, 2 event hash, 3 attempt list, 4 dead set
-- ARGV: 1 event id, 2 claimed score, 3 outcome (delivered, retry, dead,
--       gone), 4 attempt JSON, 5 next due ms, 6 now ms, 7 retention ms
local due, ev, att, dead = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local id, outcome, now = ARGV[1], ARGV[3], tonumber(ARGV[6])
local score = redis.call('ZSCORE', due, id)
if not score or tonumber(score) ~= tonumber(ARGV[2]) then
  return 0
end
redis.call('RPUSH', att, ARGV[4])
redis.call('HINCRBY', ev, 'attempts', 1)
redis.call('HINCRBY', ev, 'tries', 1)
if outcome == 'retry' then
  redis.call('ZADD', due, ARGV[5], id)
  redis.call('HSET', ev, 'state', 'pending', 'next', ARGV[5])
elseif outcome == 'delivered' then
  redis.call('ZREM', due, id)
  redis.call('HSET', ev, 'state', 'delivered', 'next', 0)
  redis.call('PEXPIRE', ev, ARGV[7])
  redis.call('PEXPIRE', att, ARGV[7])
else
  -- dead (the schedule is spent) or gone (the receiver answered 410):
  -- parked for an operator, who may replay it.
  redis.call('ZREM', due, id)
  redis.call('ZADD', dead, now, id)
  redis.call('HSET', ev, 'state', outcome, 'next', 0)
end
return 1
