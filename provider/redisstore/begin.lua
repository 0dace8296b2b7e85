-- Begin: replay a finished guid, or claim it and, in the same atomic
-- step, apply the state machine to the order's session and reserve what
-- the action needs. The rule table comes from Go (provider.RuleTable),
-- written into this script as RULES when it is loaded; the lock and the
-- guards on amounts are decided here alone (their cases: scripts_test.go).
--
-- A purchase, void or refund may reach the processor: its claim lives
-- until it is settled and is entered in the doubt set, due at its
-- deadline. start-session reaches no processor: its reply is stored here.
--
-- KEYS: 1 guid record, 2 session hash, 3 history list, 4 session-id index,
--       5 expiry schedule, 6 doubt set, 7 the order's settled guids
-- ARGV: 1 the body's fingerprint, 2 the claim's token, 3 named arguments
--       (beginArgs in args.go); A.start for a start-session (startArgs),
--       whose reply's body and first step are 4 and 5, as they are.
--       A replay is answered from the first two, before the third is
--       decoded; the third is empty when the caller expects a replay.
local idem, sess, steps, sidx, expiry, doubt, settled = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local fp, token = ARGV[1], ARGV[2]

-- A script sent again by the client after its reply was lost finds the
-- guid claimed by its own token: it answers what the first run did,
-- without claiming or reserving twice.
local rec = idem_read(idem)
local mine = rec.state == 'run' and rec.token == token
if not mine then
  local seen = idem_check(rec, fp)
  if seen then
    return seen
  end
end
-- Sent as a replay (finished.go) and not one: sent again whole.
if ARGV[3] == '' then
  return {'whole'}
end

local A = cjson.decode(ARGV[3])
-- Numbers that are only written stay the strings Go sent (args.go).
local lease = A.lease
local action, guid, amount, currency = A.action, A.guid, tonumber(A.amount), A.currency
local now, rules = tonumber(A.now), RULES[action] or ''
local retention, order = A.retention, A.order

local h, flat = load(sess)
local exists = h.phase ~= nil
local phase = effective_phase(h, now)
-- The session is handed back as it reads now: past its expiry, expired.
flat = with_phase(flat, phase)
local mutates = action == 'PURCHASE' or action == 'VOID' or action == 'REFUND'

local function rule(p)
  local code, guard = string.match(';' .. rules, ';' .. p .. '=([%w_]*):([%w_]*)')
  return code or 'internal_error', guard or ''
end

local function decide()
  -- A guid settled on this order whose record has expired: its
  -- operation is done (the bank would answer its first answer again),
  -- so it is not run again.
  if mutates and redis.call('SISMEMBER', settled, guid) == 1 then
    return 'idempotency_key_reused'
  end
  if exists and mutates and h.op and h.op ~= '' then
    return 'operation_in_progress'
  end
  local code, guard = rule(phase)
  if code ~= '' or not exists then
    return code
  end
  if guard == 'within_authorised' then
    if h.type == 'AUTH' and amount > num(h.authorised) then
      return 'amount_exceeds_authorised'
    end
  elseif guard == 'within_balance' then
    if currency ~= h.currency then
      return 'currency_mismatch'
    end
    if amount > num(h.captured) - num(h.refunded) - num(h.reserved) then
      return 'amount_exceeds_balance'
    end
  elseif guard == 'no_refunds' then
    if num(h.refunded) > 0 then
      return 'refunds_exist'
    end
    if num(h.reserved) > 0 then
      return 'operation_in_progress'
    end
  end
  return ''
end

if mine and mutates and (h.op == guid or h['r:' .. guid]) then
  return {'claimed', flat}
end
local code = decide()
-- A conflict that will clear by itself is not stored: nothing is claimed.
if code == 'operation_in_progress' then
  return {'busy', flat}
end
if code ~= '' then
  if not mine then
    idem_claim(idem, fp, token, lease, order)
  end
  return {'refused', code, flat}
end

if action == 'START' then
  local st = A.start
  -- New work writes first with a command a full Redis refuses (SET), so
  -- a full Redis refuses the whole step: Redis lets a script that has
  -- written finish, and DEL is allowed when memory is full.
  redis.call('SET', sidx, st.owner, 'PX', retention)
  redis.call('DEL', sess)
  -- The step is pushed first so that the session is written whole in one
  -- HSET, its step's index with it.
  local n = redis.call('RPUSH', steps, ARGV[5])
  local fields = st.fields
  fields[#fields + 1] = 'startIdx'
  fields[#fields + 1] = n - 1
  redis.call('HSET', sess, unpack(fields))
  retain(retention, sess, steps)
  redis.call('ZADD', expiry, st.expiresAt, st.expiry)
  idem_complete(idem, rec, fp, st.status, ARGV[4], st.expires, st.ttl, order)
  return {'started'}
end

if not mutates then
  if not mine then
    idem_claim(idem, fp, token, lease, order)
  end
  if action == 'HISTORY' then
    return {'claimed', flat, redis.call('LRANGE', steps, 0, -1)}
  end
  return {'claimed', flat}
end

idem_claim(idem, fp, token, '0', order, REC.action, action, REC.amount, A.amount)
redis.call('ZADD', doubt, A.deadline, A.doubt)
-- The session is handed back as stored, with what this step wrote,
-- without reading it again.
local after = with_phase(flat, h.phase)
if action == 'REFUND' then
  local reserved = redis.call('HINCRBY', sess, 'reserved', A.amount)
  redis.call('HSET', sess, 'r:' .. guid, A.amount)
  after = with_field(with_field(after, 'reserved', string.format('%d', reserved)), 'r:' .. guid, A.amount)
else
  redis.call('HSET', sess, 'op', guid)
  after = with_field(after, 'op', guid)
end
retain(retention, sess, steps)
return {'claimed', after}
