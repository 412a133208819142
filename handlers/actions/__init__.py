"""The buttons and selects, one listener per file: Add number (App Home), Enter OTP, Resend code, Retry, Retry
failed (a bulk add), and the modals' account select."""

from __future__ import annotations

from slack_bolt.app.async_app import AsyncApp

from bot.slack.ids import ActionId
from handlers.actions.account import switch_account
from handlers.actions.add_number import add_number
from handlers.actions.enter_otp import enter_otp
from handlers.actions.resend_otp import resend_otp
from handlers.actions.retry import retry
from handlers.actions.retry_failed import retry_failed


def register(app: AsyncApp) -> None:
    app.action(ActionId.ACCOUNT)(switch_account)
    app.action(ActionId.ADD_NUMBER)(add_number)
    app.action(ActionId.ENTER_OTP)(enter_otp)
    app.action(ActionId.RESEND_OTP)(resend_otp)
    app.action(ActionId.RETRY)(retry)
    app.action(ActionId.RETRY_FAILED)(retry_failed)
