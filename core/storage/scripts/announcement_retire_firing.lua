-- KEYS: the firing marker of WHAT, the announcement. ARGV: WHAT.
-- Retires the marker (what publishing does: a script that publishes an announcement's
-- posts does the same in its own body); the first firing ("fire") makes a scheduled
-- announcement sent. Returns 1 when the marker was there, else 0 (published before,
-- or cancelled).
if redis.call('DEL', KEYS[1]) == 0 then return 0 end
if ARGV[1] == 'fire' and redis.call('HGET', KEYS[2], 'state') == 'scheduled' then
  redis.call('HSET', KEYS[2], 'state', 'sent')
end
return 1
