-- ClaimPayment: let one holder take the shopper's payment to the
-- processor. A second submit finds PAYING and is told it is in progress,
-- however long it lasts: a holder that died is settled by the reconciler,
-- never replaced, so a second card cannot ride on the payment's one
-- reference. What the payment asks is kept with the claim, and the claim
-- is entered in the doubt set, due at its deadline.
--
-- KEYS: 1 session hash, 2 doubt set
-- ARGV: 1 named arguments (claimPaymentArgs in args.go; stage is 'card'
--       or '3ds')
local sess, doubt = KEYS[1], KEYS[2]
local A = cjson.decode(ARGV[1])
local sid, stage, token = A.sid, A.stage, A.token
local lease, now = tonumber(A.lease), tonumber(A.now)

local h = load(sess)
local verdict = claim_verdict(h, sid, stage, token, now)
if verdict ~= '' then
  return {'err', verdict}
end
redis.call('HSET', sess, 'phase', 'PAYING', 'payStage', stage, 'payToken', token, 'payUntil', now + lease)
if stage == 'card' then
  redis.call('HSET', sess, 'payAmount', A.amount, 'installment', A.installment, 'bin', A.bin, 'last4', A.last4)
end
redis.call('ZADD', doubt, A.deadline, A.doubt)
retain(A.retention, sess)
local _, flat = load(sess)
return {'ok', flat}
