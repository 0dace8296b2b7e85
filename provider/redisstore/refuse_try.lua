-- RefuseTry: count a refused card form; the last allowed one rejects the
-- session as RISKY (someone may be guessing card data) and queues its
-- webhook.
--
-- KEYS: 1 session hash, 2 history list, 3 outbox due, 4 event hash,
--       5 the order's event index
-- ARGV: 1 named arguments (refuseTryArgs in args.go), 2 the rejected
--       START step, 3 the event's body (eventful in args.go)
local sess, steps, due, ev, idx = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local A = cjson.decode(ARGV[1])
local step, body = ARGV[2], ARGV[3]
local e, now, retention = A.event, tonumber(A.now), A.retention
local h, flat = load(sess)
if not try_counts(h, A.sid, now) then
  return flat
end
local tries = redis.call('HINCRBY', sess, 'tries', 1)
if tries >= tonumber(A.maxTries) then
  redis.call('HSET', sess, 'phase', 'REJECTED', 'rejection', 'RISKY', 'detail', A.detail)
  redis.call('LSET', steps, num(h.startIdx), step)
  outbox_add(due, ev, idx, e.id, h.merchant, h.order, body, A.now, e.due, retention)
end
retain(retention, sess, steps)
local _, after = load(sess)
return after
