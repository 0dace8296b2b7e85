-- SettlePayment: record the processor's answer to the shopper's payment,
-- if the caller still holds the claim, and rewrite the START step to
-- match.
--
-- KEYS: 1 session hash, 2 history list
-- ARGV: 1 token, 2.. fields as name, value (phase and the rest), last: START step
local sess, steps = KEYS[1], KEYS[2]
local h = load(sess)
if h.phase ~= 'PAYING' or h.payToken ~= ARGV[1] then
  local _, flat = load(sess)
  return {'lost', flat}
end
local fields = {}
for i = 2, #ARGV - 1 do
  fields[#fields + 1] = ARGV[i]
end
redis.call('HSET', sess, unpack(fields))
redis.call('HDEL', sess, 'payToken', 'payUntil', 'payStage')
redis.call('LSET', steps, num(h.startIdx), ARGV[#ARGV])
local _, flat = load(sess)
return {'ok', flat}
