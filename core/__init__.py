"""The shared kernel: what adapters (`bridge/`) and workers (`workers/`) both use.

The message model, links and policies, the storage layer (keys, Lua scripts, stored
formats), phrases, audit, the rate limiter and the id map. It imports neither `bridge`
nor `workers`."""
