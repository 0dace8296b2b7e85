-- ClaimPayment: let one holder take the shopper's payment to the
-- processor. A second submit finds PAYING and is told it is in progress,
-- however long it lasts: a holder that died is settled by the reconciler,
-- never replaced, so a second card cannot ride on the payment's one
-- reference. What the payment asks is kept with the claim, and the claim
-- is entered in the doubt set, due at its deadline.
--
-- KEYS: 1 session hash, 2 doubt set
-- ARGV: 1 session id, 2 stage ('card' or '3ds'), 3 token, 4 lease ms,
--       5 now ms, 6 deadline ms, 7 doubt member, 8 amount, 9 installment,
--       10 bin, 11 last4, 12 retention ms
local sess, doubt = KEYS[1], KEYS[2]
local sid, stage, token = ARGV[1], ARGV[2], ARGV[3]
local lease, now = tonumber(ARGV[4]), tonumber(ARGV[5])

local h = load(sess)
local verdict = claim_verdict(h, sid, stage, token, now)
if verdict ~= '' then
  return {'err', verdict}
end
redis.call('HSET', sess, 'phase', 'PAYING', 'payStage', stage, 'payToken', token, 'payUntil', now + lease)
if stage == 'card' then
  redis.call('HSET', sess, 'payAmount', ARGV[8], 'installment', ARGV[9], 'bin', ARGV[10], 'last4', ARGV[11])
end
redis.call('ZADD', doubt, ARGV[6], ARGV[7])
retain(tonumber(ARGV[12]), sess)
local _, flat = load(sess)
return {'ok', flat}
