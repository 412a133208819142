"""wa-bot: add, verify and update WhatsApp Business numbers from Slack."""
