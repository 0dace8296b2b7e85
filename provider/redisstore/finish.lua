-- Finish: settle a claimed request's reservation, record its step, store
-- its reply and drop its in-doubt entry, in one atomic step. It settles
-- only while the guid is still running and holds its reservation, so a
-- request settled twice (the reconciler settled it after its lease, then
-- the request came back) counts once; the reply stored first stands and
-- is returned.
--
-- It writes first by removing the in-doubt entry, which a full Redis
-- allows; Redis lets a script that has written finish. So a full Redis
-- still stores the outcome of work already at the processor, while it
-- refuses new work (Begin writes first with a command it refuses): the
-- memory it may take beyond maxmemory is bounded by the requests in
-- flight.
--
-- KEYS: 1 guid record, 2 session hash, 3 history list, 4 doubt set,
--       5 the order's settled guids
-- ARGV: 1 named arguments (finishArgs in args.go); A.settle when the
--       request settles its reservation (phase, captured+, refunded+,
--       release: reserved−); 2 the reply's body and 3 the step to record
--       ('' for none), as they are rather than escaped into the first
--
-- A running guid is finished only by its holder (token): a request that
-- stalled past a short lease (a refusal, a history read) must not finish
-- the claim of the retry that took the guid after it ({2}: nothing done).
-- A settled operation leaves its guid in the order's settled set, so a
-- retry after the guid record expired cannot be counted again.
local idem, sess, steps, doubt, settled = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local A = cjson.decode(ARGV[1])
local body, step = ARGV[2], ARGV[3]
local guid, st = A.guid, A.settle

local rec = idem_read(idem)
if rec.state == 'run' and rec.token ~= A.token then
  return {2}
end
redis.call('ZREM', doubt, A.doubt)
-- The order's keys are kept for the retention after its latest change
-- (retain), so a finish that changes nothing on the order (a history
-- read, a refusal without a step, a settlement already made) leaves them.
local changed = false
if st then
  -- Only the two fields settling reads: a paid session's hash is large.
  local r = redis.call('HMGET', sess, 'op', 'r:' .. guid)
  local h = {op = r[1] or nil, ['r:' .. guid] = r[2] or nil}
  if settles(h, guid, rec.state) then
    local op, rsv = h.op, h['r:' .. guid] ~= nil
    if st.phase ~= '' then
      redis.call('HSET', sess, 'phase', st.phase)
    end
    -- A sum that does not move is not written: a refund captures nothing.
    if num(st.captured) ~= 0 then
      redis.call('HINCRBY', sess, 'captured', st.captured)
    end
    if num(st.refunded) ~= 0 then
      redis.call('HINCRBY', sess, 'refunded', st.refunded)
    end
    if rsv then
      -- A refund's amount, positive; negated as a string (args.go).
      if num(st.release) > 0 then
        redis.call('HINCRBY', sess, 'reserved', '-' .. st.release)
      end
      redis.call('HDEL', sess, 'r:' .. guid)
    end
    if op == guid then
      redis.call('HDEL', sess, 'op')
    end
    if step ~= '' then
      redis.call('RPUSH', steps, step)
    end
    redis.call('SADD', settled, guid)
    changed = true
  end
elseif step ~= '' then
  redis.call('RPUSH', steps, step)
  changed = true
end
if changed and redis.call('EXISTS', sess) == 1 then
  retain(A.retention, sess, steps, settled)
end
return idem_complete(idem, rec, A.fp, A.status, body, A.expires, A.ttl, A.order)
