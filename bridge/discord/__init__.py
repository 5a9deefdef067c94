"""Discord: discord.py gateway listeners (cog.py), conversion (convert.py),
how posts look (render.py) and the webhook sender (sender.py), wired by
adapter.py. Recorded gateway payloads for the tests live in payloads/."""
