"""`runyard db upgrade`: bring the store's schema to the newest migration."""

from __future__ import annotations

import typer

from runyard.config import Settings

app = typer.Typer(help="Manage the store's schema.", no_args_is_help=True)


@app.command()
def upgrade() -> None:
    """Apply every pending migration to RUNYARD_DATABASE_URL (or the SQLite file under home)."""
    import sqlalchemy as sa

    from runyard.store.db import current_revision, head_revision, make_engine
    from runyard.store.db import upgrade as run_upgrade

    settings = Settings()
    where = sa.engine.make_url(settings.db_url).render_as_string(hide_password=True)
    typer.echo(f"runyard: using the store at {where}", err=True)  # never a server's: run it there
    engine = make_engine(settings.db_url)
    try:
        before = current_revision(engine)
        run_upgrade(engine)
        after = current_revision(engine)
    finally:
        engine.dispose()
    if before == after:
        typer.echo(f"schema is current (revision {after})")
    else:
        typer.echo(f"upgraded schema from {before or 'empty'} to {after} (head {head_revision()})")
