-- The webhook outbox. An event is written by the same script as the state
-- change that causes it, so there is never one without the other.
--
--   wh:due   sorted set: event id by the time its next attempt is due;
--            a claimed event's score is pushed to the end of its lease
--   wh:e:ID  hash: merchant, order, body, tries (attempts in this round),
--            attempts (in all), state, created, next
--   wh:a:ID  list: one JSON line per attempt
--   wh:dead  sorted set: parked event ids by the time they were parked
--   wh:o:MERCHANT:ORDER  sorted set: an order's event ids by creation
--            time, for operators; kept for the order's retention

-- outbox_add queues a new event, its first attempt due at at, and notes
-- it in the order's event index idx. now, at and retention are the
-- strings Go sent (args.go says why).
local function outbox_add(due, ev, idx, id, merchant, order, body, now, at, retention)
  if id == '' then
    return
  end
  redis.call('HSET', ev, 'id', id, 'merchant', merchant, 'order', order, 'body', body,
    'tries', '0', 'attempts', '0', 'state', 'pending', 'created', now, 'next', at)
  redis.call('ZADD', due, at, id)
  redis.call('ZADD', idx, now, id)
  redis.call('PEXPIRE', idx, retention)
end
