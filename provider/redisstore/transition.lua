-- Transition: a change the gateway makes by itself (a PENDING payment
-- resolved, a session expired unpaid), applied with its webhook only if
-- the session is still the one scheduled and in a phase the change starts
-- from. The schedule entry that led here is dropped either way.
--
-- KEYS: 1 session hash, 2 history list, 3 schedule, 4 outbox due,
--       5 event hash, 6 the order's event index
-- ARGV: 1 session id, 2 allowed phases (comma separated), 3 must be
--       expired ('1'/'0'), 4 schedule member, 5 START step, 6 event id,
--       7 event body, 8 now ms, 9 event due ms, 10 retention ms,
--       11.. fields as name, value
local sess, steps, sched, due, ev, idx = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local now = tonumber(ARGV[8])
local h, flat = load(sess)
if not transition_applies(h, ARGV[1], ARGV[2], ARGV[3] == '1', now) then
  redis.call('ZREM', sched, ARGV[4])
  return {'lost', flat}
end
redis.call('HSET', sess, unpack(argv_from(11)))
redis.call('LSET', steps, num(h.startIdx), ARGV[5])
outbox_add(due, ev, idx, ARGV[6], h.merchant, h.order, ARGV[7], now, tonumber(ARGV[9]), tonumber(ARGV[10]))
redis.call('ZREM', sched, ARGV[4])
retain(tonumber(ARGV[10]), sess, steps)
local _, after = load(sess)
return {'ok', after}
