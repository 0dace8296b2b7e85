-- RefuseTry: count a refused card form; the last allowed one rejects the
-- session as RISKY (someone may be guessing card data) and queues its
-- webhook.
--
-- KEYS: 1 session hash, 2 history list, 3 outbox due, 4 event hash,
--       5 the order's event index
-- ARGV: 1 session id, 2 max tries, 3 now ms, 4 rejected START step,
--       5 detail, 6 event id ('' for none), 7 event body, 8 event due ms,
--       9 retention ms
local sess, steps, due, ev, idx = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local now = tonumber(ARGV[3])
local h, flat = load(sess)
if not try_counts(h, ARGV[1], now) then
  return flat
end
local tries = redis.call('HINCRBY', sess, 'tries', 1)
if tries >= tonumber(ARGV[2]) then
  redis.call('HSET', sess, 'phase', 'REJECTED', 'rejection', 'RISKY', 'detail', ARGV[5])
  redis.call('LSET', steps, num(h.startIdx), ARGV[4])
  outbox_add(due, ev, idx, ARGV[6], h.merchant, h.order, ARGV[7], now, tonumber(ARGV[8]), tonumber(ARGV[9]))
end
retain(tonumber(ARGV[9]), sess, steps)
local _, after = load(sess)
return after
