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
-- ARGV: 1 guid, 2 fingerprint, 3 status, 4 body, 5 expires ms, 6 ttl ms,
--       7 settle ('1' or '0'), 8 phase, 9 captured+, 10 refunded+,
--       11 reserved−, 12 step json, 13 doubt member, 14 retention ms,
--       15 the claim's token, 16 order id
--
-- A running guid is finished only by its holder (token): a request that
-- stalled past a short lease (a refusal, a history read) must not finish
-- the claim of the retry that took the guid after it ({2}: nothing done).
-- A settled operation leaves its guid in the order's settled set, so a
-- retry after the guid record expired cannot be counted again.
local idem, sess, steps, doubt, settled = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local guid = ARGV[1]

local rec = redis.call('HMGET', idem, REC.state, REC.token)
if rec[1] == 'run' and rec[2] ~= ARGV[15] then
  return {2}
end
redis.call('ZREM', doubt, ARGV[13])
local h = load(sess)
if ARGV[7] == '1' then
  if settles(h, guid, rec[1]) then
    local op, rsv = h.op, h['r:' .. guid] ~= nil
    if ARGV[8] ~= '' then
      redis.call('HSET', sess, 'phase', ARGV[8])
    end
    redis.call('HINCRBY', sess, 'captured', ARGV[9])
    redis.call('HINCRBY', sess, 'refunded', ARGV[10])
    if rsv then
      redis.call('HINCRBY', sess, 'reserved', -tonumber(ARGV[11]))
      redis.call('HDEL', sess, 'r:' .. guid)
    end
    if op == guid then
      redis.call('HDEL', sess, 'op')
    end
    if ARGV[12] ~= '' then
      redis.call('RPUSH', steps, ARGV[12])
    end
    redis.call('SADD', settled, guid)
  end
elseif ARGV[12] ~= '' then
  redis.call('RPUSH', steps, ARGV[12])
end
if redis.call('EXISTS', sess) == 1 then
  retain(tonumber(ARGV[14]), sess, steps, settled)
end
return idem_complete(idem, ARGV[2], ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6]), ARGV[16])
