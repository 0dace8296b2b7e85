-- Finish: settle a claimed request's reservation, record its step and
-- store its reply, in one atomic step. The settlement applies only while
-- the guid still holds its reservation, so a request settled twice (its
-- lease ran out and a retry got there first) counts once.
--
-- KEYS: 1 guid record, 2 session hash, 3 history list
-- ARGV: 1 guid, 2 fingerprint, 3 status, 4 body, 5 expires ms, 6 ttl ms,
--       7 settle ('1' or '0'), 8 phase, 9 captured+, 10 refunded+,
--       11 reserved−, 12 step json
local idem, sess, steps = KEYS[1], KEYS[2], KEYS[3]
local guid = ARGV[1]

if ARGV[7] == '1' then
  local op = redis.call('HGET', sess, 'op')
  local rsv = redis.call('HEXISTS', sess, 'r:' .. guid) == 1
  if op == guid or rsv then
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
  end
elseif ARGV[12] ~= '' then
  redis.call('RPUSH', steps, ARGV[12])
end
return idem_complete(idem, ARGV[2], ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6]))
