"""The storage layer: the only code that names a Redis key, runs a Lua script or
decides how something is stored. ``keys`` names every key (core/storage/keys.py),
``scripts/`` holds every Lua script, and one module per concern owns its reads and
writes (the stored formats with them), so adapters and workers call named operations."""
