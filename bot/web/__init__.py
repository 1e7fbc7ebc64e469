"""The web side of Træningsguiden: chat, staff, analyst and draft pages (`python -m bot.web`; `bot.web.app.create_app`)."""
