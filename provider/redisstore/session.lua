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

-- effective_phase mirrors provider.Session.EffectivePhase: an unpaid
-- session past its expiry counts as expired before the expiry job runs.
local function effective_phase(h, now)
  if not h.phase then
    return 'NONE'
  end
  if (h.phase == 'WAITING' or h.phase == 'THREEDS') and num(h.expiresAt) <= now then
    return 'EXPIRED'
  end
  return h.phase
end

-- argv_from collects ARGV[first..] (name, value pairs) for one HSET.
local function argv_from(first)
  local out = {}
  for i = first, #ARGV do
    out[#out + 1] = ARGV[i]
  end
  return out
end
