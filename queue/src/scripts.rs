//! The Lua scripts, each one atomic step on several keys. Each opens with
//! what its KEYS and ARGV are and what it returns.

/// Moves a dead consumer's in-flight jobs back to the queue.
pub(crate) const RECLAIM: &str = r"
-- KEYS[1] the queue, KEYS[2] the workers zset, KEYS[3] the worker's in-flight list
-- ARGV[1] the worker id; ARGV[2] a heartbeat older than this (ms) is dead,
--         or 'now' to hand back unconditionally (a consumer shutting down)
-- Returns how many jobs went back, or -1 if the worker turned out alive.
local beat = redis.call('ZSCORE', KEYS[2], ARGV[1])
if ARGV[2] ~= 'now' and beat and tonumber(beat) >= tonumber(ARGV[2]) then
  return -1
end
local moved = 0
while redis.call('LMOVE', KEYS[3], KEYS[1], 'RIGHT', 'RIGHT') do
  moved = moved + 1
end
redis.call('ZREM', KEYS[2], ARGV[1])
return moved
";

/// Pushes back the candidates that are neither queued nor in flight.
pub(crate) const SWEEP: &str = r"
-- KEYS[1] the queue, KEYS[2..] every worker's in-flight list
-- ARGV the candidate job ids
-- Returns the ids pushed back onto the queue.
local present = {}
for i = 1, #KEYS do
  for _, id in ipairs(redis.call('LRANGE', KEYS[i], 0, -1)) do
    present[id] = true
  end
end
local pushed = {}
for _, id in ipairs(ARGV) do
  if not present[id] then
    redis.call('LPUSH', KEYS[1], id)
    table.insert(pushed, id)
  end
end
return pushed
";

/// Moves a held entry that is not a job to the dead list.
pub(crate) const BURY: &str = r"
-- KEYS[1] the consumer's in-flight list, KEYS[2] the dead list
-- ARGV[1] the entry, ARGV[2] how many entries the dead list keeps
-- Returns 1 if the entry was held and is buried now, else 0.
if redis.call('LREM', KEYS[1], 1, ARGV[1]) > 0 then
  redis.call('LPUSH', KEYS[2], ARGV[1])
  redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[2]) - 1)
  return 1
end
return 0
";

/// How many entries the dead list keeps.
pub(crate) const DEAD_KEPT: usize = 10_000;

/// Puts one held job back at the end of the queue (its run failed for a
/// reason that a later run may not meet).
pub(crate) const RETRY_LATER: &str = r"
-- KEYS[1] the queue, KEYS[2] the consumer's in-flight list
-- ARGV[1] the job id
-- Returns 1 if the job was held and is queued again, 0 if it was not held.
if redis.call('LREM', KEYS[2], 1, ARGV[1]) > 0 then
  redis.call('LPUSH', KEYS[1], ARGV[1])
  return 1
end
return 0
";
