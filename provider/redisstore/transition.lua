-- Transition: a change the gateway makes by itself (a PENDING payment
-- resolved, a session expired unpaid), applied with its webhook only if
-- the session is still the one scheduled and in a phase the change starts
-- from. The schedule entry that led here is dropped either way.
--
-- KEYS: 1 session hash, 2 history list, 3 schedule, 4 outbox due,
--       5 event hash, 6 the order's event index
-- ARGV: 1 named arguments (transitionArgs in args.go)
-- Returns 'ok' when the change was applied, 'lost' when the session had
-- moved on; nothing is read back, since the job that asked needs no more.
local sess, steps, sched, due, ev, idx = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local A = cjson.decode(ARGV[1])
local e, now, retention = A.event, tonumber(A.now), tonumber(A.retention)
local h = load(sess)
if not transition_applies(h, A.sid, A.from, A.expired, now) then
  redis.call('ZREM', sched, A.member)
  return 'lost'
end
redis.call('HSET', sess, unpack(A.fields))
redis.call('LSET', steps, num(h.startIdx), A.step)
outbox_add(due, ev, idx, e.id, h.merchant, h.order, e.body, now, tonumber(e.due), retention)
redis.call('ZREM', sched, A.member)
retain(retention, sess, steps)
return 'ok'
