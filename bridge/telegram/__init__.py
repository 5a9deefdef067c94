"""The Telegram side of the bridge (aiogram 3): convert, middleware, handlers,
sender and the adapter that wires them to Redis."""
