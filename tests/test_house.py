"""The house's shape: a reader finds the code behind each command in one guess, no listener hides in a closure,
and the OTP is a secret from the form on."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import yaml
from pydantic import SecretStr

from bot.slack import forms

ROOT = Path(__file__).resolve().parents[1]
LONGEST = 60  # lines


def functions_in(path: Path) -> list[tuple[ast.FunctionDef | ast.AsyncFunctionDef, bool]]:
    """Every function of a module, and whether it is defined inside another function."""
    found: list[tuple[ast.FunctionDef | ast.AsyncFunctionDef, bool]] = []

    def visit(node: ast.AST, inside: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                found.append((child, inside))
                visit(child, True)
            else:
                visit(child, inside)

    visit(ast.parse(path.read_text()), False)
    return found


def test_no_function_in_handlers_is_defined_inside_another_or_longer_than_60_lines() -> None:
    nested, long = [], []
    for path in sorted((ROOT / "handlers").rglob("*.py")):
        for function, inside in functions_in(path):
            where = f"{path.relative_to(ROOT)}:{function.lineno} {function.name}"
            if inside:
                nested.append(where)
            if (function.end_lineno or function.lineno) - function.lineno + 1 > LONGEST:
                long.append(where)

    assert nested == []
    assert long == []


def test_the_code_behind_each_slash_command_is_in_the_file_named_for_it() -> None:
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    for entry in manifest["features"]["slash_commands"]:
        name = entry["command"].lstrip("/").replace("-", "_")  # /wa-verify → handlers/commands/wa_verify.py
        module = importlib.import_module(f"handlers.commands.{name}")

        assert callable(getattr(module, name, None)), f"handlers/commands/{name}.py has no {name}()"


def test_the_otp_form_gives_verify_the_code_as_a_secret() -> None:
    request = forms.verify_request({"otp": "123-456"}, "+919876543210")

    assert isinstance(request.otp, SecretStr)
    assert request.otp.get_secret_value() == "123456"
    for shown in (repr(request), str(request), request.model_dump_json()):
        assert "123456" not in shown
