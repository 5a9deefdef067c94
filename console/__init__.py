"""`twinbridge console`: the web console for organisers and moderators (issue 18).

A small Starlette application with Jinja2 templates and htmx (vendored, no build step),
behind the same REDIS_URL and links.yaml as every other process. Sign-in is by a one-time
link the bot sends privately (/console); what a moderator decides here goes through the
same path as /approve in chat (the ingress and the moderation worker).
"""
