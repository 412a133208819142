"""The provider accounts numbers belong to: one of each from the environment, or many from an accounts file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, TypeAdapter, ValidationError

from bot.settings import NO_ACCOUNT, Region, Settings

KALEYRA_PODS: dict[str, str] = {
    "in": "https://api.in.kaleyra.io",
    "sg": "https://api.ap.kaleyra.io",
    "eu": "https://api.eu.kaleyra.io",
    "na": "https://api.na.kaleyra.io",
}
KALEYRA_V1_URL = "https://api.kaleyra.io"
NAME_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,39}$"


class KaleyraAccount(BaseModel):
    """A Kaleyra SID and WABA on one pod, speaking v1 or v2 for adds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: Literal["kaleyra"] = "kaleyra"
    name: str = Field(pattern=NAME_PATTERN)
    sid: str = Field(min_length=1)
    api_key: SecretStr
    waba_id: str = Field(min_length=1)
    region: Region = "in"
    api_version: Literal["v1", "v2"] = "v2"
    base_url: str | None = Field(default=None, pattern=r"^https?://")

    @property
    def v2_url(self) -> str:
        return (self.base_url or KALEYRA_PODS[self.region]).rstrip("/")

    @property
    def v1_url(self) -> str:
        return (self.base_url or KALEYRA_V1_URL).rstrip("/")

    @property
    def secret(self) -> SecretStr:
        return self.api_key

    @property
    def label(self) -> str:
        return f"{self.name} (Kaleyra {self.api_version}, {self.region.upper()} pod, WABA {self.waba_id})"


class MetaAccount(BaseModel):
    """A WhatsApp Business Account reached through Meta's Graph API."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: Literal["meta"] = "meta"
    name: str = Field(pattern=NAME_PATTERN)
    business_id: str = Field(min_length=1)
    access_token: SecretStr
    api_version: str = Field(default="v23.0", pattern=r"^v\d+\.\d+$")
    graph_url: str = Field(default="https://graph.facebook.com", pattern=r"^https?://")

    @property
    def secret(self) -> SecretStr:
        return self.access_token

    @property
    def label(self) -> str:
        return f"{self.name} (Meta, business {self.business_id})"


# The account the sandbox serves when no other is configured: its values never leave the bot.
SANDBOX_ACCOUNT = KaleyraAccount(
    name="sandbox", sid="SANDBOX", api_key=SecretStr("sandbox-no-key"), waba_id="SANDBOX"
)

Account = KaleyraAccount | MetaAccount  # its kind is decided once, by bot/providers/dialects.py
_ACCOUNT = TypeAdapter[Account](Annotated[Account, Field(discriminator="provider")])


class AccountsError(Exception):
    """The accounts could not be built; `problems` holds one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def accounts_from(settings: Settings) -> dict[str, Account]:
    """The environment's accounts (named `kaleyra` and `meta`) and the accounts file's, by name."""
    accounts: dict[str, Account] = {}
    problems: list[str] = []
    kaleyra = {
        "KALEYRA_SID": settings.kaleyra_sid,
        "KALEYRA_API_KEY": settings.kaleyra_api_key,
        "KALEYRA_WABA_ID": settings.kaleyra_waba_id,
    }
    if all(kaleyra.values()):
        assert settings.kaleyra_sid and settings.kaleyra_api_key and settings.kaleyra_waba_id
        accounts["kaleyra"] = KaleyraAccount(
            name="kaleyra",
            sid=settings.kaleyra_sid,
            api_key=settings.kaleyra_api_key,
            waba_id=settings.kaleyra_waba_id,
            region=settings.kaleyra_region,
            api_version=settings.kaleyra_api_version,
            base_url=settings.kaleyra_base_url,
        )
    elif any(kaleyra.values()):
        missing = ", ".join(name for name, value in kaleyra.items() if not value)
        problems.append(f"{missing}: required too, since part of the Kaleyra account is set")
    meta = {"META_ACCESS_TOKEN": settings.meta_access_token, "META_BUSINESS_ID": settings.meta_business_id}
    if all(meta.values()):
        assert settings.meta_access_token and settings.meta_business_id
        accounts["meta"] = MetaAccount(
            name="meta",
            business_id=settings.meta_business_id,
            access_token=settings.meta_access_token,
            api_version=settings.meta_api_version,
            graph_url=settings.meta_graph_url,
        )
    elif any(meta.values()):
        missing = ", ".join(name for name, value in meta.items() if not value)
        problems.append(f"{missing}: required too, since part of the Meta account is set")
    if settings.wa_bot_accounts_file is not None:
        try:
            for account in load_accounts_file(settings.wa_bot_accounts_file):
                if account.name in accounts:
                    problems.append(
                        f"{settings.wa_bot_accounts_file}: account name {account.name!r} is used twice"
                    )
                accounts[account.name] = account
        except AccountsError as error:
            problems.extend(error.problems)
    if not accounts and not problems and settings.wa_bot_sandbox:
        accounts[SANDBOX_ACCOUNT.name] = SANDBOX_ACCOUNT
    if not accounts and not problems:
        problems.append(NO_ACCOUNT)
    if problems:
        raise AccountsError(problems)
    return accounts


def load_accounts_file(path: Path) -> list[Account]:
    """Read a YAML mapping of account name → fields; secrets come from variables named by `*_env` keys."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise AccountsError([f"WA_BOT_ACCOUNTS_FILE: cannot read {path} ({error.strerror})"]) from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        raise AccountsError([f"{path}{line}: not valid YAML ({getattr(error, 'problem', error)})"]) from None
    if not isinstance(root, yaml.MappingNode):
        raise AccountsError([f"{path}:1: expected a mapping of account name to its fields"])
    accounts: list[Account] = []
    problems: list[str] = []
    for key_node, value_node in root.value:
        name = str(key_node.value)
        where = f"{path}:{key_node.start_mark.line + 1}"
        if not isinstance(value_node, yaml.MappingNode):
            problems.append(f"{where}: account {name!r} must be a mapping of fields")
            continue
        lines = {str(k.value): k.start_mark.line + 1 for k, _ in value_node.value}
        fields = {
            str(k.value): yaml.SafeLoader(yaml.serialize(v)).get_single_data() for k, v in value_node.value
        }
        fields["name"] = name
        unset: set[str] = set()
        for secret in ("api_key", "access_token"):
            variable = fields.pop(f"{secret}_env", None)
            if variable is None:
                continue
            value = os.environ.get(str(variable))
            if not value:
                problems.append(
                    f"{path}:{lines[secret + '_env']}: {name}.{secret}_env: variable {variable} is not set"
                )
                unset.add(secret)
                continue
            fields[secret] = value
        try:
            accounts.append(_ACCOUNT.validate_python(fields))
        except ValidationError as error:
            for item in error.errors(include_input=False, include_url=False):
                field = ".".join(str(part) for part in item["loc"][1:] or item["loc"])
                if field in unset:
                    continue
                line = lines.get(field.split(".")[0], key_node.start_mark.line + 1)
                problems.append(f"{path}:{line}: {name}.{field}: {item['msg']}")
    if problems:
        raise AccountsError(problems)
    return accounts
