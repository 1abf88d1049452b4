"""The `socmon` command line (Typer): exit 0 done, 1 failure, 2 usage or config error."""

from __future__ import annotations

import logging
import sys

import typer

# Typer 0.29 vendors click; usage errors are raised as its (private) ClickException.
from typer._click.exceptions import ClickException

from config.loader import ConfigError
from monitor.cli import (
    audit_cmds,
    channel_cmds,
    daemon_cmds,
    db_cmds,
    digest_cmds,
    evidence_cmds,
    lab_cmds,
    names_cmds,
    queue_cmds,
    retrain_cmds,
    users_cmds,
)
from monitor.cli import model as model_cmds
from monitor.cli.common import CommandError

app = typer.Typer(
    name="socmon",
    help="Monitor official social accounts for comments that breach the social media policy.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
daemon_cmds.register(app)
app.add_typer(queue_cmds.app, name="queue", help="Review and act on alerts.")
app.add_typer(audit_cmds.app, name="audit", help="Verify and export the audit trail.")
app.add_typer(db_cmds.app, name="db", help="Database migrations.")
app.add_typer(channel_cmds.app, name="channels", help="Channel health and credentials.")
app.add_typer(names_cmds.app, name="names", help="The register of protected names.")

app.command("classify")(model_cmds.classify_command)
retrain_cmds.register(model_cmds.model_app)
app.add_typer(model_cmds.model_app, name="model", help="Train and evaluate the classifier.")
app.add_typer(digest_cmds.app, name="digest", help="The weekly management digest.")
app.add_typer(users_cmds.app, name="users", help="Web accounts and roles.")
app.add_typer(evidence_cmds.app, name="evidence", help="Evidence packs for the record.")
app.add_typer(lab_cmds.app, name="lab", help="The policy lab: test suite, series rules.")


def main() -> None:
    """Entry point: run the app, turning known errors into one line and an exit code."""
    try:
        code = app(standalone_mode=False)
    except ConfigError as exc:
        sys.stderr.write(f"socmon: config error: {exc}\n")
        sys.exit(2)
    except CommandError as exc:
        sys.stderr.write(f"socmon: {exc}\n")
        sys.exit(1)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.stderr.write("socmon: aborted\n")
        sys.exit(1)
    except ClickException as exc:  # usage errors: exit 2, one message
        exc.show()
        sys.exit(exc.exit_code)
    except Exception as exc:  # the last line of defence: one line, never a traceback
        logging.getLogger("socmon").debug("unexpected error", exc_info=True)
        sys.stderr.write(f"socmon: unexpected error: {type(exc).__name__}: {exc}\n")
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
