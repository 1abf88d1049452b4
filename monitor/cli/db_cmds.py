"""`socmon db upgrade`: apply migrations."""

from __future__ import annotations

import typer

from monitor import db
from monitor.cli.common import ConfigOption, console, load_settings

app = typer.Typer(no_args_is_help=True)


@app.command()
def upgrade(config: ConfigOption = None) -> None:
    """Apply every pending migration (also done at every start)."""
    settings = load_settings(config)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = db.make_engine(settings.sqlalchemy_url())
    try:
        db.upgrade(engine)
        console.print(f"database at the newest schema: {engine.url.render_as_string()}")
    finally:
        engine.dispose()
