-- Guid records, as Lua functions that other scripts include, so a guid is
-- claimed in the same atomic step as the work it guards.
--
-- A record is a hash at the guid's key:
--   s  "run" while the request runs, "done" once its reply is stored
--   f  the request's fingerprint (endpoint + canonical body)
--   t  the lease holder's token, while running
--   c  the stored HTTP status, b the stored body, x when it expires (unix ms)
-- A running record expires with its lease, so a crashed request's guid
-- can be retried; a done record expires with the idempotency TTL.

-- idem_check returns nil for an unknown guid, or what the caller answers:
-- {'reused'}, {'inflight'} or {'replay', status, body, expires_ms}.
local function idem_check(key, fp)
  local r = redis.call('HMGET', key, 's', 'f', 'c', 'b', 'x')
  if not r[1] then
    return nil
  end
  if r[2] ~= fp then
    return {'reused'}
  end
  if r[1] == 'run' then
    return {'inflight'}
  end
  return {'replay', r[3], r[4], r[5]}
end

-- idem_claim marks the guid as running for token, for lease_ms.
local function idem_claim(key, fp, token, lease_ms)
  redis.call('HSET', key, 's', 'run', 'f', fp, 't', token)
  redis.call('PEXPIRE', key, lease_ms)
end

-- idem_complete stores a reply. A done record is never overwritten: when a
-- lease ran out and a retry finished first, its reply stands.
local function idem_complete(key, fp, status, body, expires_ms, ttl_ms)
  if redis.call('HGET', key, 's') == 'done' then
    return 0
  end
  redis.call('HSET', key, 's', 'done', 'f', fp, 'c', status, 'b', body, 'x', expires_ms)
  redis.call('HDEL', key, 't')
  redis.call('PEXPIRE', key, ttl_ms)
  return 1
end

-- idem_release forgets a running guid, if token still holds it, so the
-- request can be sent again (nothing was stored: 5xx before any effect).
local function idem_release(key, token)
  if redis.call('HGET', key, 't') == token then
    redis.call('DEL', key)
    return 1
  end
  return 0
end
