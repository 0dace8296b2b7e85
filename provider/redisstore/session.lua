-- Shared helpers for the order's session hash. Numbers in the hash are
-- integers (minor units, unix ms) written by Go.

local function load(key)
  local flat = redis.call('HGETALL', key)
  local h = {}
  for i = 1, #flat, 2 do
    h[flat[i]] = flat[i + 1]
  end
  return h, flat
end

local function num(v)
  return tonumber(v or '0') or 0
end

-- effective_phase: an unpaid session (a phase in EXPIRABLE, written from
-- provider.ExpirablePhases when the script is loaded) past its expiry
-- counts as expired before the expiry job runs. TestBeginCases and
-- TestClaimPaymentCases hold the script to it.
local function effective_phase(h, now)
  if not h.phase then
    return 'NONE'
  end
  if EXPIRABLE[h.phase] and h.expiresAt and num(h.expiresAt) <= now then
    return 'EXPIRED'
  end
  return h.phase
end

-- with_phase returns a flat HGETALL reply with its phase set to phase,
-- so the session a script hands back reads as the script decided.
local function with_phase(flat, phase)
  for i = 1, #flat, 2 do
    if flat[i] == 'phase' then
      flat[i + 1] = phase
    end
  end
  return flat
end

-- with_field sets field to value in a flat HGETALL reply as HSET leaves
-- the hash (a new field last), so a script hands back what it wrote
-- without reading it again.
local function with_field(flat, field, value)
  for i = 1, #flat, 2 do
    if flat[i] == field then
      flat[i + 1] = value
      return flat
    end
  end
  flat[#flat + 1] = field
  flat[#flat + 1] = value
  return flat
end

-- retain keeps an order's keys for the retention after its latest
-- change (ORDER_RETENTION): a finished order's session and history are
-- forgotten then, and an order still moving stays.
local function retain(ms, ...)
  for _, k in ipairs({...}) do
    redis.call('PEXPIRE', k, ms)
  end
end

-- claim_verdict is '' when the shopper's
-- payment may be taken to the processor now by the holder of token, else
-- the refusal's code. The holder's own claim sent again (its reply was
-- lost and the client re-sent the script) is its claim still.
local function claim_verdict(h, sid, stage, token, now)
  if not h.phase or h.id ~= sid then
    return 'session_not_found'
  end
  if h.phase == 'PAYING' and h.payToken == token and h.payStage == stage then
    return ''
  end
  local phase = effective_phase(h, now)
  if phase == 'EXPIRED' then
    return 'session_expired'
  end
  local want = 'WAITING'
  if stage == '3ds' then
    want = 'THREEDS'
  end
  if phase ~= want then
    return 'payment_in_progress'
  end
  return ''
end

-- holds_payment: the caller still holds
-- the payment it claimed, so its outcome may be recorded.
local function holds_payment(h, token)
  return h.phase == 'PAYING' and h.payToken == token
end

-- try_counts: a refused form counts only
-- against the session it was shown for, while it waits for a card.
local function try_counts(h, sid, now)
  return h.id == sid and effective_phase(h, now) == 'WAITING'
end

-- settles: a finished request settles its
-- reservation only while its guid is running and holds one.
local function settles(h, guid, record_state)
  if record_state == 'done' or guid == '' then
    return false
  end
  return h.op == guid or h['r:' .. guid] ~= nil
end

-- transition_applies: a change the gateway makes by itself applies to
-- session sid only while it is in a phase the change starts from and,
-- for an expiry, past its expiry.
local function transition_applies(h, sid, allowed, must_expire, now)
  if h.id ~= sid then
    return false
  end
  if not string.find(',' .. allowed .. ',', ',' .. (h.phase or 'NONE') .. ',', 1, true) then
    return false
  end
  return not must_expire or num(h.expiresAt) <= now
end
