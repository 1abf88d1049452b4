"""`socmon users add|list|disable|reset-password|unlock`: web accounts from the terminal."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer

from monitor import users
from monitor.cli.common import (
    CommandError,
    ConfigOption,
    JsonOption,
    console,
    open_runtime,
    print_json,
    print_table,
)
from monitor.db import transaction

app = typer.Typer(no_args_is_help=True)

ROLES_HELP = "admin, moderator, safeguarding_lead or manager"


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


@app.command("add")
def add(
    username: Annotated[str, typer.Argument(help="Login name (lower-case)")],
    role: Annotated[str, typer.Option("--role", help=ROLES_HELP)],
    config: ConfigOption = None,
    display_name: Annotated[str, typer.Option(help="Name shown in the UI")] = "",
    email: Annotated[str | None, typer.Option(help="E-mail address")] = None,
    as_json: JsonOption = False,
) -> None:
    """Add a user with a random password, printed once."""
    try:
        parsed = users.parse_role(role)
    except users.UserError as exc:
        raise typer.BadParameter(str(exc), param_hint="--role") from None
    runtime = open_runtime(config)
    try:
        with transaction(runtime.factory) as session:
            user, password = users.create(session, username=username, role=parsed,
                                          actor=_actor(), display_name=display_name, email=email)
            name = user.username
    except users.UserError as exc:
        raise CommandError(str(exc)) from None
    finally:
        runtime.close()
    if as_json:
        print_json({"username": name, "role": parsed.value, "password": password})
    else:
        console.print(f"added {name} ({parsed.value}); password: {password}", markup=False)


@app.command("list")
def list_cmd(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Every user with role, state and last login."""
    runtime = open_runtime(config)
    try:
        with runtime.factory() as session:
            rows: list[dict[str, str | bool | None]] = [
                {"username": u.username, "display_name": u.display_name, "role": u.role,
                 "email": u.email, "disabled": u.disabled,
                 "last_login_at": u.last_login_at.isoformat() if u.last_login_at else None}
                for u in users.list_users(session)]
    finally:
        runtime.close()
    if as_json:
        print_json(rows)
        return
    print_table(f"{len(rows)} users", ["username", "role", "disabled", "last login"],
                [(r["username"], r["role"], "yes" if r["disabled"] else "",
                  str(r["last_login_at"] or "never")[:16]) for r in rows])


@app.command("disable")
def disable(
    username: Annotated[str, typer.Argument(help="Login name")],
    config: ConfigOption = None,
    enable: Annotated[bool, typer.Option("--enable", help="Re-enable instead")] = False,
) -> None:
    """Disable an account (its open sessions stop working), or re-enable it."""
    runtime = open_runtime(config)
    try:
        with transaction(runtime.factory) as session:
            users.set_disabled(session, username=username, actor=_actor(), disabled=not enable)
    except users.UserError as exc:
        raise CommandError(str(exc)) from None
    finally:
        runtime.close()
    console.print(f"{username} {'enabled' if enable else 'disabled'}", markup=False)


@app.command("reset-password")
def reset_password(
    username: Annotated[str, typer.Argument(help="Login name")],
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Give a user a new random password, printed once; signs them out everywhere."""
    runtime = open_runtime(config)
    try:
        with transaction(runtime.factory) as session:
            _user, password = users.reset_password(session, username=username, actor=_actor())
    except users.UserError as exc:
        raise CommandError(str(exc)) from None
    finally:
        runtime.close()
    if as_json:
        print_json({"username": username, "password": password})
    else:
        console.print(f"new password for {username}: {password}", markup=False)


@app.command("unlock")
def unlock(
    username: Annotated[str, typer.Argument(help="Login name")],
    config: ConfigOption = None,
) -> None:
    """Lift a login lockout (too many wrong passwords) from every address, at once."""
    runtime = open_runtime(config)
    try:
        with transaction(runtime.factory) as session:
            users.unlock(session, username=username, actor=_actor())
    except users.UserError as exc:
        raise CommandError(str(exc)) from None
    finally:
        runtime.close()
    console.print(f"{username}: lockout lifted", markup=False)
