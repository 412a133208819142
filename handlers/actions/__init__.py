"""The buttons and selects, one listener per file: Add number (App Home), Enter OTP, Resend code, Retry, Retry
failed (a bulk add), and the modals' account select."""

from __future__ import annotations

from slack_bolt.app.async_app import AsyncApp

from handlers.actions.account import switch_account
from handlers.actions.add_number import add_number
from handlers.actions.enter_otp import enter_otp
from handlers.actions.resend_otp import resend_otp
from handlers.actions.retry import retry
from handlers.actions.retry_failed import retry_failed


def register(app: AsyncApp) -> None:
    app.action("account")(switch_account)
    app.action("add_number")(add_number)
    app.action("enter_otp")(enter_otp)
    app.action("resend_otp")(resend_otp)
    app.action("retry")(retry)
    app.action("retry_failed")(retry_failed)
