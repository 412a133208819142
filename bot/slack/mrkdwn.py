"""Slack mrkdwn escaping, for text a person typed or a provider returned (so `<!channel>` is shown, not sent)."""


def escape(text: object) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
