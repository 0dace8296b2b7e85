-- RecordAttempt: log one delivery attempt and decide the event's next
-- state, if the caller still holds the claim (the event's score is the
-- one its claim set; a replica that took over after the lease moved it).
--
-- KEYS: 1 outbox due, 2 event hash, 3 attempt list, 4 dead set
-- ARGV: 1 named arguments (recordAttemptArgs in args.go; outcome is
--       delivered, retry, dead or gone)
local due, ev, att, dead = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local A = cjson.decode(ARGV[1])
local id, outcome = A.id, A.outcome
local score = redis.call('ZSCORE', due, id)
if not score or tonumber(score) ~= tonumber(A.claim) then
  return 0
end
redis.call('RPUSH', att, A.attempt)
redis.call('HINCRBY', ev, 'attempts', '1')
redis.call('HINCRBY', ev, 'tries', '1')
if outcome == 'retry' then
  redis.call('ZADD', due, A.next, id)
  redis.call('HSET', ev, 'state', 'pending', 'next', A.next)
elseif outcome == 'delivered' then
  redis.call('ZREM', due, id)
  redis.call('HSET', ev, 'state', 'delivered', 'next', '0')
  redis.call('PEXPIRE', ev, A.retention)
  redis.call('PEXPIRE', att, A.retention)
else
  -- dead (the schedule is spent) or gone (the receiver answered 410):
  -- parked for an operator, who may replay it.
  redis.call('ZREM', due, id)
  redis.call('ZADD', dead, A.now, id)
  redis.call('HSET', ev, 'state', outcome, 'next', '0')
end
return 1
