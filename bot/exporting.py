"""Exporting the catalogue: `pledgebot export`, every table as flat records in the import format."""

from __future__ import annotations

import json
from typing import Any

from bot import dataset as ds
from bot.database import Store


class Exporter:
    """The catalogue as records `pledgebot import` reads back."""

    def __init__(self, store: Store):
        self.store = store

    def export(self, since: int | None = None) -> dict[str, list[dict[str, Any]]]:
        """Every catalogue table as flat records in the import format; with `since` (an edit id), only the
        records edits after it added, with the sources they cite, so the file imports on its own."""
        db = self.store.db
        out: dict[str, list[dict[str, Any]]] = {}
        # The text travels inline: a text_file path means nothing beside the exported file.
        drop = {"origin", "position", "text_file", "edit_id"}
        for table in ds.TABLES:
            order = "pledge, position" if table == "quotes" else "rowid"
            conditions = ["kind != 'pledged'"] if table == "milestones" else []
            params: list[Any] = []
            if since is not None and table == "sources":
                cited = " UNION ".join(
                    f"SELECT {column} FROM {child} WHERE edit_id > ?"
                    for child, column in (
                        ("quotes", "source"),
                        ("quotes", "translation_of"),
                        ("statuses", "source"),
                        ("milestones", "source"),
                    )
                )
                conditions.append(f"(edit_id > ? OR id IN ({cited}))")
                params += [since] * 5
            elif since is not None:
                conditions.append("edit_id > ?")
                params.append(since)
            where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
            rows = []
            for row in db.execute_returning_dicts(f"SELECT * FROM {table} {where} ORDER BY {order}", params):
                row = {k: v for k, v in row.items() if k not in drop and v not in (None, "")}
                if table in ("quotes", "statuses"):
                    row.pop("id", None)
                if table == "quotes" and "paraphrase" in row:
                    row["paraphrase"] = bool(row["paraphrase"])
                if table == "speakers" and "aliases" in row:
                    row["aliases"] = row["aliases"].split(" | ")
                if table == "pledges":
                    if row.pop("korean_only", None):
                        row.pop("title", None)
                    for key in ("aliases", "aliases_ko"):
                        if key in row:
                            row[key] = row[key].split(" | ")
                    if "due_after" in row:
                        row["due"] = {"after": row.pop("due_after"), "days": row.pop("due_days")}
                if table == "speakers" and "terms" in row:
                    row["terms"] = json.loads(row["terms"])
                rows.append(row)
            out[table] = rows
        return out
