"""Slack mrkdwn for text a person typed or a provider returned: shown as it is, never as markup."""

# Inside an inline code span Slack applies no formatting; a backtick in the text would end the span early, so it
# is shown as the modifier letter that looks like it.
BACKTICK_LOOKALIKE = "\u02cb"


def escape(text: object) -> str:
    """`&`, `<` and `>` as entities, so that `<!channel>` or a `<url|label>` is shown, not sent or linked."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def literal(text: object) -> str:
    """`text` in an inline code span, escaped: no bold, italics, strike, link or mention can come out of it."""
    shown = escape(text).replace("`", BACKTICK_LOOKALIKE).replace("\n", " ")
    return f"`{shown}`" if shown.strip() else ""
