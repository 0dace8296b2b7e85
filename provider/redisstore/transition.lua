-- Transition: a change the gateway makes by itself (a PENDING payment
-- resolved, a session expired unpaid), applied with its webhook only if
-- the session is still the one scheduled and in a phase the change starts
-- from. The schedule entry that led here is dropped either way.
--
-- KEYS: 1 session hash, 2 history list, 3 schedule, 4 outbox due,
--       5 event hash, 6 the order's event index
-- ARGV: 1 named arguments (transitionArgs in args.go), 2 the START step,
--       3 the event's body, 4 onwards the session's fields to write
--       (eventful in args.go)
-- Returns 'ok' when the change was applied, 'lost' when the session had
-- moved on; nothing is read back, since the job that asked needs no more.
local sess, steps, sched, due, ev, idx = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local A = cjson.decode(ARGV[1])
local step, body = ARGV[2], ARGV[3]
local e, now, retention = A.event, tonumber(A.now), A.retention
-- Only the fields this change reads: a paid session's hash is large.
local r = redis.call('HMGET', sess, 'id', 'phase', 'expiresAt', 'startIdx', 'merchant', 'order')
local h = {id = r[1] or nil, phase = r[2] or nil, expiresAt = r[3] or nil, startIdx = r[4] or nil,
  merchant = r[5] or nil, order = r[6] or nil}
if not transition_applies(h, A.sid, A.from, A.expired, now) then
  redis.call('ZREM', sched, A.member)
  return 'lost'
end
redis.call('HSET', sess, unpack(ARGV, 4))
redis.call('LSET', steps, num(h.startIdx), step)
outbox_add(due, ev, idx, e.id, h.merchant, h.order, body, A.now, e.due, retention)
redis.call('ZREM', sched, A.member)
retain(retention, sess, steps)
return 'ok'
