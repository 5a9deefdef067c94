"""Avatars of relayed posts on Discord (issue 15): a Telegram member's profile photo where
the link's policy shows names (served by `twinbridge run` itself under
TWINBRIDGE_PUBLIC_URL, bridge/avatars/server.py), a neutral avatar otherwise."""
