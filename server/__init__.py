"""The bot's public web server: Rasa's agent and channels, the widget and its demo page."""
