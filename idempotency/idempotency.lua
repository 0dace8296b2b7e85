-- Guid records, as Lua functions that other scripts include, so a guid is
-- claimed in the same atomic step as the work it guards. A record is a
-- hash at the guid's key whose fields are named in REC (Record in
-- lua.go, the one definition of the layout).
--
-- A running record of a call that reaches no processor expires with its
-- lease, so a crashed request's guid can be retried. One that may reach
-- the processor lives until it is settled, by its request or by the
-- reconciler. A done record expires with the idempotency TTL.

-- idem_check returns nil for an unknown guid, or what the caller answers:
-- {'reused'}, {'inflight'} or {'replay', status, body, expires_ms}.
local function idem_check(key, fp)
  local r = redis.call('HMGET', key, REC.state, REC.fingerprint, REC.status, REC.body, REC.expires)
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

-- idem_claim marks the guid as running for token on order: for lease_ms,
-- or until it is completed when lease_ms is 0. More fields of the record
-- may follow as name, value pairs, written in the same HSET.
local function idem_claim(key, fp, token, lease_ms, order, ...)
  redis.call('HSET', key, REC.state, 'run', REC.fingerprint, fp, REC.token, token, REC.order, order, ...)
  if lease_ms > 0 then
    redis.call('PEXPIRE', key, lease_ms)
  else
    redis.call('PERSIST', key)
  end
end

-- idem_store writes a done record at a key that holds none: the caller
-- knows it is empty.
local function idem_store(key, fp, status, body, expires_ms, ttl_ms, order)
  redis.call('HSET', key, REC.state, 'done', REC.fingerprint, fp, REC.status, status, REC.body, body,
    REC.expires, expires_ms, REC.order, order)
  redis.call('PEXPIRE', key, ttl_ms)
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
  idem_store(key, fp, status, body, expires_ms, ttl_ms, order)
  return {1}
end

-- idem_read reads what idem_complete and a holder's check need of a
-- record: its state, token and stored reply.
local function idem_read(key)
  local r = redis.call('HMGET', key, REC.state, REC.token, REC.status, REC.body, REC.expires)
  return {state = r[1] or nil, token = r[2] or nil, status = r[3], body = r[4], expires = r[5]}
end
