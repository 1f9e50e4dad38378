"""The Lua scripts of the state layer: each phase of a write in one round trip.

Each script touches the keys it is given only, and a tenant's scripts are given that tenant's
keys (hash tag `{tenant_id}`, one Redis Cluster slot) and, on a single Redis only, the global
indexes its write changes. A script runs whole or not at all and nothing runs between its
commands, so a check and the write it guards cannot be split by another writer.

Scripts are registered with the client (`Scripts`): redis-py sends EVALSHA, and loads the
script when the server answers NOSCRIPT (a restarted or new server). The embedded store
(fakeredis) runs them with lupa (`fakeredis[lua]`).
"""

from __future__ import annotations

from redis.asyncio import Redis

# KEYS: record, messages, audit, outbox, then the index keys that ops name (one Redis only).
# ARGV: expected record ('' = none), expected messages serial ('*' = not checked), the new
# record, audit MAXLEN, then counted groups: audit entries; (effect_id, effect) pairs;
# (field, value) pairs to set in messages; fields to delete from it; index ops
# (op, key index, member, score).
# A refusal writes nothing and answers {0} (no record) or {0, record, messages as HGETALL};
# a write answers {1, outbox length, stream id of each effect added}.
COMPARE_AND_SET = """
local current = redis.call('GET', KEYS[1])
local serial = redis.call('HGET', KEYS[2], '#') or ''
local differs = (ARGV[1] == '' and current) or (ARGV[1] ~= '' and current ~= ARGV[1])
if differs or (ARGV[2] ~= '*' and serial ~= ARGV[2]) then
  if not current then return {0} end
  return {0, current, redis.call('HGETALL', KEYS[2])}
end
redis.call('SET', KEYS[1], ARGV[3])
local maxlen = ARGV[4]
local i = 5
local n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', maxlen, '*', 'entry', ARGV[i]); i = i + 1
end
local ids = {}
n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  ids[#ids + 1] = redis.call('XADD', KEYS[4], '*', 'effect_id', ARGV[i], 'effect', ARGV[i + 1])
  i = i + 2
end
n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]); i = i + 2 end
n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do redis.call('HDEL', KEYS[2], ARGV[i]); i = i + 1 end
n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  local op, key, member = ARGV[i], KEYS[tonumber(ARGV[i + 1])], ARGV[i + 2]
  if op == 'zadd' then
    redis.call('ZADD', key, ARGV[i + 3], member)
  else
    redis.call(op, key, member)
  end
  i = i + 4
end
local result = {1, redis.call('XLEN', KEYS[4])}
for _, id in ipairs(ids) do result[#result + 1] = id end
return result
"""

# KEYS: record, messages. ARGV: (field, value) pairs; an empty value deletes the field.
# Only while the record exists (a purged tenant keeps nothing); bumps the serial that the
# compare-and-set checks, so an update never applies to message ts older than the stored ones.
# Answers 1, or 0 when there is no record.
REMEMBER = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
for i = 1, #ARGV, 2 do
  if ARGV[i + 1] == '' then
    redis.call('HDEL', KEYS[2], ARGV[i])
  else
    redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
  end
end
redis.call('HINCRBY', KEYS[2], '#', 1)
return 1
"""

# KEYS: outbox, claim, tries, results, record, messages.
# ARGV: stream id, effect_id, token, ttl ms, reclaim prefix ('' = never), read the record (1/0).
# Answers {0} when the entry is gone (done by someone), {1} when someone else holds it,
# or {2, tries, results or '', record or '', messages as HGETALL} ('' for none: a nil would
# end the list).
CLAIM = """
local rows = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
local found = false
if rows[1] then
  local fields = rows[1][2]
  for i = 1, #fields, 2 do
    if fields[i] == 'effect_id' and fields[i + 1] == ARGV[2] then found = true end
  end
end
if not found then return {0} end
local held = redis.call('GET', KEYS[2])
if held and not (ARGV[5] ~= '' and string.sub(held, 1, #ARGV[5]) == ARGV[5]) then
  return {1}
end
redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])
local tries = redis.call('HINCRBY', KEYS[3], ARGV[2], 1)
local results = redis.call('HGET', KEYS[4], ARGV[2]) or ''
if ARGV[6] ~= '1' then return {2, tries, results} end
return {2, tries, results, redis.call('GET', KEYS[5]) or '', redis.call('HGETALL', KEYS[6])}
"""

# KEYS: outbox, attempts, errors, tries, results, claim, record, messages[, pending set].
# ARGV: stream id, effect_id, tenant id, then (field, value) pairs for messages (as REMEMBER).
# Removes the effect and what is kept for it, keeps the message ts it produced, and (one Redis
# only, where the pending set is in reach) takes the tenant out of the pending set when its
# outbox is empty: writers add to the outbox and to that set in one script, so nothing can slip
# in between. Answers {entries removed, outbox length after}.
DONE = """
local removed = redis.call('XDEL', KEYS[1], ARGV[1])
for k = 2, 5 do redis.call('HDEL', KEYS[k], ARGV[2]) end
redis.call('DEL', KEYS[6])
if #ARGV > 3 and redis.call('EXISTS', KEYS[7]) == 1 then
  for i = 4, #ARGV, 2 do
    if ARGV[i + 1] == '' then
      redis.call('HDEL', KEYS[8], ARGV[i])
    else
      redis.call('HSET', KEYS[8], ARGV[i], ARGV[i + 1])
    end
  end
  redis.call('HINCRBY', KEYS[8], '#', 1)
end
local left = redis.call('XLEN', KEYS[1])
if KEYS[9] and left == 0 then redis.call('SREM', KEYS[9], ARGV[3]) end
return {removed, left}
"""

# KEYS: outbox, attempts, errors. ARGV: stream id, effect_id, error text.
# Counts a failure of the effect at that stream id and keeps its error; answers the failures so
# far, or 0 (nothing written) when the entry is gone.
FAILED = """
local rows = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
local found = false
if rows[1] then
  local fields = rows[1][2]
  for i = 1, #fields, 2 do
    if fields[i] == 'effect_id' and fields[i + 1] == ARGV[2] then found = true end
  end
end
if not found then return 0 end
local count = redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
redis.call('HSET', KEYS[3], ARGV[2], ARGV[3])
return count
"""

# KEYS: a key. ARGV: the value it must hold, then 'del' or a ttl in ms.
# Answers 1 when it held the value (and was deleted, or had its ttl set), else 0.
IF_EQUAL = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == 'del' then redis.call('DEL', KEYS[1]) else redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 1
"""


class Scripts:
    """The scripts, registered on one client."""

    def __init__(self, redis: Redis) -> None:
        self.compare_and_set = redis.register_script(COMPARE_AND_SET)
        self.remember = redis.register_script(REMEMBER)
        self.claim = redis.register_script(CLAIM)
        self.done = redis.register_script(DONE)
        self.if_equal = redis.register_script(IF_EQUAL)
        self.failed = redis.register_script(FAILED)
