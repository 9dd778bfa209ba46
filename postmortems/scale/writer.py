"""How generate_scale writes rows: COPY on PostgreSQL, batched INSERTs on SQLite, with
progress."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

from django.apps import apps
from django.db import connection, transaction
from django.db.models import NOT_PROVIDED


class Progress:
    """Per-table progress: rows, rows/s and ETA, at most every `every` seconds."""

    def __init__(self, write: Callable[[str], None], every: float = 5.0):
        self.write = write
        self.every = every
        self.report: list[tuple[str, int, float]] = []

    def track(self, label: str, rows: Iterable, expected: int) -> Iterator:
        started = last = time.monotonic()
        n = 0
        for n, row in enumerate(rows, 1):
            yield row
            if n % 20_000 == 0:
                now = time.monotonic()
                if now - last >= self.every:
                    last = now
                    rate = n / (now - started)
                    eta = max(0.0, (expected - n) / rate) if rate else 0.0
                    self.write(
                        f"  {label:<22} {n:>11,}/{expected:,} ({100 * n / max(expected, 1):3.0f}%)"
                        f"  {rate:>9,.0f} rows/s  ETA {eta:5.0f}s"
                    )
        took = time.monotonic() - started
        self.report.append((label, n, took))
        self.write(
            f"  {label:<22} {n:>11,} rows in {took:6.1f}s  ({n / took if took else 0:>9,.0f} rows/s)"
        )


def _with_defaults(table: str, columns: list[str], rows: Iterable[tuple]):
    """Columns the generator does not set get their model field's default, so a field added to a
    model later (NOT NULL with a default) never breaks the COPY."""
    model = next((m for m in apps.get_models() if m._meta.db_table == table), None)
    if model is None:
        return columns, rows
    extra = [
        f
        for f in model._meta.concrete_fields
        if f.column not in columns
        and not f.null
        and (f.default is not NOT_PROVIDED or f.empty_strings_allowed)  # "" for text fields
    ]
    if not extra:
        return columns, rows
    values = tuple(f.get_default() for f in extra)
    values = tuple(json.dumps(v) if isinstance(v, dict | list) else v for v in values)
    return [*columns, *(f.column for f in extra)], ((*row, *values) for row in rows)


class Writer:
    """COPY on PostgreSQL, batched executemany elsewhere. Rows are tuples in `columns` order."""

    def __init__(self, progress: Progress):
        self.progress = progress
        self.is_pg = connection.vendor == "postgresql"
        self.tables: list[str] = []

    def next_id(self, table: str) -> int:
        with connection.cursor() as cur:
            cur.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # noqa: S608 (our names)
            return int(cur.fetchone()[0]) + 1

    def write(self, table: str, columns: list[str], rows: Iterable[tuple], expected: int) -> int:
        self.tables.append(table)
        columns, rows = _with_defaults(table, columns, rows)
        tracked = self.progress.track(table, rows, expected)
        cols = ", ".join(f'"{c}"' for c in columns)
        count = 0
        if self.is_pg:
            with connection.cursor() as cur:
                self._skip_fk_checks(cur)
                with cur.cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                    for row in tracked:
                        copy.write_row(row)
                        count += 1
            return count
        sql = f"INSERT INTO {table} ({cols}) VALUES ({', '.join(['%s'] * len(columns))})"  # noqa: S608
        batch: list[tuple] = []
        with connection.cursor() as cur:
            for row in tracked:
                batch.append(tuple(_sqlite_value(v) for v in row))
                count += 1
                if len(batch) >= 2000:
                    cur.executemany(sql, batch)
                    batch = []
            if batch:
                cur.executemany(sql, batch)
        return count

    def _skip_fk_checks(self, cur) -> None:
        """The ids are made consistent here (the tests check the graph), so the per-row foreign
        key triggers (millions of deferred index look-ups at commit) are skipped where the role
        may (superusers: `session_replication_role = replica`, the usual bulk-load switch)."""
        if getattr(self, "_fk_checked", False):
            return
        self._fk_checked = True
        try:
            with transaction.atomic():
                cur.execute("SET session_replication_role = replica")
            self._replica = True
        except Exception:
            self.progress.write("  (foreign key checks stay on: not a superuser; slower)")

    def finish(self, write: Callable[[str], None]) -> None:
        if not self.is_pg:
            return
        with connection.cursor() as cur:
            if getattr(self, "_replica", False):
                cur.execute("SET session_replication_role = DEFAULT")
            for table in dict.fromkeys(self.tables):
                cur.execute(
                    "SELECT setval(pg_get_serial_sequence(%s, 'id'), "  # noqa: S608 (our table names)
                    f"COALESCE((SELECT MAX(id) FROM {table}), 1), "
                    f"(SELECT MAX(id) FROM {table}) IS NOT NULL)",
                    [table],
                )
        # A live database would have been vacuumed and analysed by now (VACUUM also fills the
        # visibility map that index-only scans need); inside a transaction (tests) ANALYZE only.
        started = time.monotonic()
        verb = "ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE"
        with connection.cursor() as cur:
            for name in dict.fromkeys(self.tables):
                cur.execute(f"{verb} {name}")
        write(f"  {verb} of {len(set(self.tables))} tables in {time.monotonic() - started:.1f}s")


def _sqlite_value(v):
    if isinstance(v, datetime):
        return v.astimezone(UTC).replace(tzinfo=None).isoformat(" ")
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, bool):
        return int(v)
    return v


def table(model) -> str:
    return model._meta.db_table


def m2m_table(model, name: str) -> str:
    return model._meta.get_field(name).remote_field.through._meta.db_table
