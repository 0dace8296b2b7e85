-- The sandbox bank's books. One script per call, so replicas sharing the
-- bank see one ledger: a reference is acted on once, and money moves only
-- within what the payment holds, as at a real acquirer.
--
-- Keys of one payment share a hash tag (the digest of its payment
-- reference), so the script touches one Cluster slot:
--   r:{op}:{ref}  hash: the bank's record of one reference (its answer)
--   p             hash: the payment's account: state, type, currency,
--                 authorised, captured, refunded, voided, held (a pending
--                 or challenged amount)
--   l             list: one JSON line per reference acted on
--   t:{ref}       transient failures so far (the test card that fails twice)
-- Everything expires after the bank's retention.

local function record_reply(rec)
  return redis.call('HGETALL', rec)
end

-- What a capture and a refund move: an amount within what one field
-- holds and the other has not yet taken, into the other.
local moves = {
  capture = {from = 'authorised', into = 'captured', over = 'amount exceeds what is authorised'},
  refund = {from = 'captured', into = 'refunded', over = 'amount exceeds what is captured and not refunded'},
}

-- act: KEYS 1 record, 2 account, 3 ledger, 4 transient counter
-- ARGV 1 op, 2 ref, 3 outcome, 4 code, 5 detail, 6 processor id,
--      7 challenge id, 8 resolve-at ms, 9 amount, 10 currency, 11 type,
--      12 now ms, 13 retention ms, 14 transient failures before an answer
local function act()
  local rec, acct, ledger, tries = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
  if redis.call('EXISTS', rec) == 1 then
    return {'seen', record_reply(rec)}
  end
  -- Numbers that are only written stay the strings sent
  -- (provider/redisstore/args.go says why).
  local retention = ARGV[13]
  local failures = tonumber(ARGV[14])
  if failures > 0 and tonumber(redis.call('GET', tries) or '0') < failures then
    redis.call('INCR', tries)
    redis.call('PEXPIRE', tries, retention)
    return {'transient'}
  end
  local op, outcome, code, detail = ARGV[1], ARGV[3], ARGV[4], ARGV[5]
  local amount, amount_s = tonumber(ARGV[9]), ARGV[9]
  local a = {}
  local flat = redis.call('HGETALL', acct)
  for i = 1, #flat, 2 do
    a[flat[i]] = flat[i + 1]
  end
  local function n(k) return tonumber(a[k] or '0') or 0 end
  local function refuse(c, d)
    outcome, code, detail = 'DECLINED', c, d
  end

  if op == 'authorise' then
    redis.call('HSET', acct, 'type', ARGV[11], 'currency', ARGV[10])
    if outcome == 'APPROVED' then
      redis.call('HSET', acct, 'state', 'authorised', 'authorised', amount_s)
    elseif outcome == 'PENDING' then
      redis.call('HSET', acct, 'state', 'pending', 'held', amount_s)
    elseif outcome == 'CHALLENGE' then
      redis.call('HSET', acct, 'state', 'challenge', 'held', amount_s)
    else
      redis.call('HSET', acct, 'state', 'declined')
    end
  elseif op == 'authenticate' then
    if outcome == 'APPROVED' then
      if a.state ~= 'challenge' then
        refuse('3DS', 'no challenge is open for this payment')
      else
        amount, amount_s = n('held'), a.held or '0'
        redis.call('HSET', acct, 'state', 'authorised', 'authorised', amount_s, 'held', '0')
      end
    elseif a.state == 'challenge' then
      redis.call('HSET', acct, 'state', 'declined', 'held', '0')
    end
  elseif outcome == 'APPROVED' then
    if a.state ~= 'authorised' then
      refuse('12', 'the payment cannot take this operation')
    elseif moves[op] then
      local m = moves[op]
      if amount > n(m.from) - n(m.into) then
        refuse('13', m.over)
      else
        redis.call('HINCRBY', acct, m.into, amount_s)
      end
    elseif op == 'void' then
      -- A void reverses what the payment holds now: the authorisation
      -- before a capture, the captured amount not refunded after one.
      local holds = n('authorised')
      if n('captured') > 0 then
        holds = n('captured') - n('refunded')
      end
      if amount ~= holds then
        refuse('13', 'a void must reverse exactly what the payment holds')
      else
        redis.call('HSET', acct, 'state', 'voided', 'voided', amount_s)
      end
    end
  end

  -- The new record is answered as written, without reading it back.
  local record = {'op', op, 'ref', ARGV[2], 'outcome', outcome, 'code', code, 'detail', detail,
    'processorId', ARGV[6], 'challengeId', ARGV[7], 'resolveAt', ARGV[8], 'amount', amount_s,
    'currency', ARGV[10], 'at', ARGV[12]}
  redis.call('HSET', rec, unpack(record))
  redis.call('RPUSH', ledger, cjson.encode({op = op, ref = ARGV[2], outcome = outcome, amount = amount, at = tonumber(ARGV[12])}))
  for _, k in ipairs({rec, acct, ledger}) do
    redis.call('PEXPIRE', k, retention)
  end
  return {'new', record}
end

-- inquire: KEYS 1 record, 2 ledger; ARGV 1 op, 2 ref, 3 now ms, 4 retention ms.
-- An unknown reference is closed: a tombstone answers any later arrival.
local function inquire()
  local rec, ledger = KEYS[1], KEYS[2]
  if redis.call('EXISTS', rec) == 0 then
    redis.call('HSET', rec, 'op', ARGV[1], 'ref', ARGV[2], 'outcome', 'NOT_RECEIVED', 'code', 'NR',
      'detail', 'reference closed by an inquiry', 'amount', '0', 'at', ARGV[3])
    redis.call('RPUSH', ledger, cjson.encode({op = ARGV[1], ref = ARGV[2], outcome = 'NOT_RECEIVED', amount = 0, at = tonumber(ARGV[3])}))
    redis.call('PEXPIRE', rec, ARGV[4])
    redis.call('PEXPIRE', ledger, ARGV[4])
  end
  return record_reply(rec)
end

-- resolve: KEYS 1 account; ARGV 1 final state (authorised or rejected).
-- A pending payment's verdict, once the issuer has given it.
local function resolve()
  local acct = KEYS[1]
  if redis.call('HGET', acct, 'state') ~= 'pending' then
    return 0
  end
  if ARGV[1] == 'authorised' then
    redis.call('HSET', acct, 'state', 'authorised', 'authorised', redis.call('HGET', acct, 'held') or '0', 'held', '0')
  else
    redis.call('HSET', acct, 'state', 'rejected', 'held', '0')
  end
  return 1
end
