-- RefuseTry: count a refused card form; the last allowed one rejects the
-- session as RISKY (someone may be guessing card data).
--
-- KEYS: 1 session hash, 2 history list
-- ARGV: 1 session id, 2 max tries, 3 now ms, 4 rejected START step, 5 detail
local sess, steps = KEYS[1], KEYS[2]
local h, flat = load(sess)
if h.id ~= ARGV[1] or effective_phase(h, tonumber(ARGV[3])) ~= 'WAITING' then
  return flat
end
local tries = redis.call('HINCRBY', sess, 'tries', 1)
if tries >= tonumber(ARGV[2]) then
  redis.call('HSET', sess, 'phase', 'REJECTED', 'rejection', 'RISKY', 'detail', ARGV[5])
  redis.call('LSET', steps, num(h.startIdx), ARGV[4])
end
local _, after = load(sess)
return after
