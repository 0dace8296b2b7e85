-- ClaimDue: hand out up to limit members of a schedule that are due, each
-- to this caller only: its score moves to the end of the lease, so other
-- replicas skip it until then. The new score is the claim's proof.
--
-- KEYS: 1 schedule
-- ARGV: 1 now ms, 2 lease ms, 3 limit
-- The new score is spelled once, not once per id (numbers: args.go).
local score = string.format('%d', tonumber(ARGV[1]) + tonumber(ARGV[2]))
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', '0', ARGV[3])
for _, id in ipairs(ids) do
  redis.call('ZADD', KEYS[1], score, id)
end
return ids
