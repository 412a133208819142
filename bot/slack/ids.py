"""The ids wa-bot gives Slack and reads back: modals' callback_ids, buttons' and selects' action_ids, and the
block_ids that are not an API field (those are the request models' field names). One place, so that what a view
sets and what a listener answers cannot drift apart."""

from __future__ import annotations

from enum import StrEnum


class CallbackId(StrEnum):
    """callback_id of each modal."""

    ADD = "wa_add"
    BULK = "wa_bulk"
    VERIFY = "wa_verify"
    UPDATE = "wa_update"
    NOTICE = "wa_notice"


class ActionId(StrEnum):
    """action_id of each button and select a listener answers."""

    ADD_NUMBER = "add_number"
    ENTER_OTP = "enter_otp"
    RESEND_OTP = "resend_otp"
    RETRY = "retry"
    RETRY_FAILED = "retry_failed"
    ACCOUNT = "account"  # the account select, which redraws a form for the account chosen
    VALUE = "value"  # every input element's own action_id (its block_id says which field it is)


class BlockId(StrEnum):
    """block_id of the blocks that are not an API field."""

    ACCOUNT = "account"
    NUMBER_ACTIONS = "number_actions"
    BATCH_ACTIONS = "batch_actions"
    HOME_ACTIONS = "home_actions"
