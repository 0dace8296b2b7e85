-- Guid records, as Lua functions that other scripts include, so a guid is
-- claimed in the same atomic step as the work it guards. A record is a
-- hash at the guid's key whose fields are named in REC (Record in
-- lua.go, the one definition of the layout).
--
-- A running record of a call that reaches no processor expires with its
-- lease, so a crashed request's guid can be retried. One that may reach
-- the processor lives until it is settled, by its request or by the
-- reconciler. A done record expires with the idempotency TTL.

-- idem_read reads a record once for all a script decides from it: its
-- state, token, fingerprint and stored reply (absent fields are nil).
local function idem_read(key)
  local r = redis.call('HMGET', key, REC.state, REC.token, REC.fingerprint, REC.status, REC.body, REC.expires)
  return {state = r[1] or nil, token = r[2] or nil, fp = r[3] or nil, status = r[4], body = r[5], expires = r[6]}
end

-- idem_check returns nil for an unknown guid, or what the caller answers:
-- {'reused'}, {'inflight'} or {'replay', status, body, expires_ms}. rec is
-- the record as idem_read read it.
local function idem_check(rec, fp)
  if not rec.state then
    return nil
  end
  if rec.fp ~= fp then
    return {'reused'}
  end
  if rec.state == 'run' then
    return {'inflight'}
  end
  return {'replay', rec.status, rec.body, rec.expires}
end

-- idem_claim marks the guid as running for token on order: for lease_ms,
-- or until it is completed when lease_ms is 0. More fields of the record
-- may follow as name, value pairs, written in the same HSET. lease_ms is
-- the string Go sent (numbers travel as strings: redisstore/args.go).
local function idem_claim(key, fp, token, lease_ms, order, ...)
  redis.call('HSET', key, REC.state, 'run', REC.fingerprint, fp, REC.token, token, REC.order, order, ...)
  if tonumber(lease_ms) > 0 then
    redis.call('PEXPIRE', key, lease_ms)
  else
    redis.call('PERSIST', key)
  end
end

-- idem_complete stores a reply and returns {1}. A done record is never
-- overwritten: when someone settled the guid first (the reconciler, after
-- the request's lease), its reply stands and is returned as
-- {0, status, body, expires_ms}. rec is the record as the script read it
-- before writing anything (idem_read), so it is read once.
local function idem_complete(key, rec, fp, status, body, expires_ms, ttl_ms, order)
  if rec.state == 'done' then
    return {0, rec.status, rec.body, rec.expires}
  end
  if rec.state then
    redis.call('DEL', key)
  end
  redis.call('HSET', key, REC.state, 'done', REC.fingerprint, fp, REC.status, status, REC.body, body,
    REC.expires, expires_ms, REC.order, order)
  redis.call('PEXPIRE', key, ttl_ms)
  return {1}
end
