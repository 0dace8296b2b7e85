-- ClaimPayment: let one holder take the shopper's payment to the
-- processor. A second submit finds PAYING and is told it is in progress;
-- a holder that died is replaced once its lease has run out.
--
-- KEYS: 1 session hash
-- ARGV: 1 session id, 2 stage ('card' or '3ds'), 3 token, 4 lease ms, 5 now ms
local sess = KEYS[1]
local sid, stage, token = ARGV[1], ARGV[2], ARGV[3]
local lease, now = tonumber(ARGV[4]), tonumber(ARGV[5])

local h = load(sess)
if not h.phase or h.id ~= sid then
  return {'err', 'session_not_found'}
end
local phase = effective_phase(h, now)
if phase == 'EXPIRED' then
  return {'err', 'session_expired'}
end
local want = 'WAITING'
if stage == '3ds' then
  want = 'THREEDS'
end
if phase == 'PAYING' then
  if num(h.payUntil) > now or h.payStage ~= stage then
    return {'err', 'payment_in_progress'}
  end
elseif phase ~= want then
  return {'err', 'payment_in_progress'}
end
redis.call('HSET', sess, 'phase', 'PAYING', 'payStage', stage, 'payToken', token, 'payUntil', now + lease)
local _, flat = load(sess)
return {'ok', flat}
