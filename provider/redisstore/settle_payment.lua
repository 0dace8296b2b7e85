-- SettlePayment: record the processor's answer to the shopper's payment,
-- if the caller still holds the claim; rewrite the START step to match,
-- queue the webhook of a final outcome, and schedule a PENDING payment to
-- be asked about again.
--
-- The payment leaves the doubt set either way, and that removal is the
-- first write, so a full Redis still stores the outcome (finish.lua).
--
-- KEYS: 1 session hash, 2 history list, 3 pending schedule, 4 outbox due,
--       5 event hash, 6 doubt set, 7 the order's event index
-- ARGV: 1 named arguments (settlePaymentArgs in args.go), 2 the START
--       step, 3 the event's body, 4 onwards the session's fields to write
--       (eventful in args.go)
local sess, steps, pending, due, ev, doubt, idx = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local A = cjson.decode(ARGV[1])
local step, body = ARGV[2], ARGV[3]
local e, retention = A.event, A.retention
local h, flat = load(sess)
if not holds_payment(h, A.token) then
  if h.phase ~= 'PAYING' then
    redis.call('ZREM', doubt, A.doubt)
  end
  return {'lost', flat}
end
redis.call('ZREM', doubt, A.doubt)
redis.call('HSET', sess, unpack(ARGV, 4))
redis.call('HDEL', sess, 'payToken', 'payUntil', 'payStage', 'payAmount')
redis.call('LSET', steps, num(h.startIdx), step)
outbox_add(due, ev, idx, e.id, h.merchant, h.order, body, A.now, e.due, retention)
if A.pending ~= '' then
  redis.call('ZADD', pending, A.resolveAt, A.pending)
end
retain(retention, sess, steps)
local _, after = load(sess)
return {'ok', after}
