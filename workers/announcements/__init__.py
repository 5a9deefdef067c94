"""Organisers' announcements on the worker side (issue 14): composing each destination's
copy (compose.py) and firing one (firing.py), for the moderation stage's fire task
(workers/stages/moderation.py); the translation stage translates and publishes them."""
