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
-- ARGV: 1 token, 2 START step, 3 event id ('' for none), 4 event body,
--       5 now ms, 6 pending member ('' for none), 7 resolve-at ms,
--       8 event due ms, 9 doubt member, 10 retention ms,
--       11.. fields as name, value
local sess, steps, pending, due, ev, doubt, idx = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local h, flat = load(sess)
if not holds_payment(h, ARGV[1]) then
  if h.phase ~= 'PAYING' then
    redis.call('ZREM', doubt, ARGV[9])
  end
  return {'lost', flat}
end
redis.call('ZREM', doubt, ARGV[9])
redis.call('HSET', sess, unpack(argv_from(11)))
redis.call('HDEL', sess, 'payToken', 'payUntil', 'payStage', 'payAmount')
redis.call('LSET', steps, num(h.startIdx), ARGV[2])
outbox_add(due, ev, idx, ARGV[3], h.merchant, h.order, ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[8]), tonumber(ARGV[10]))
if ARGV[6] ~= '' then
  redis.call('ZADD', pending, ARGV[7], ARGV[6])
end
retain(tonumber(ARGV[10]), sess, steps)
local _, after = load(sess)
return {'ok', after}
