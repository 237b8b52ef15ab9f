"""/healthz: 200 while the database answers, 503 when it does not."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def test_healthz_answers_200_when_the_database_is_reachable(client, db):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


# A fresh process configured with a database that cannot be reached: a closed port on the
# loopback (connection refused at once), or an SQLite file in a folder that does not exist.
# Nothing of ours is mocked; the view meets a real driver error.
UNREACHABLE = {
    "postgresql_on_a_closed_port": "postgres://postgres@127.0.0.1:1/comptoir",
    "sqlite_file_in_a_missing_folder": "sqlite:////nonexistent-comptoir-dir/sub/db.sqlite3",
}

PROBE = """
import django
django.setup()
from django.test import Client
response = Client().get("/healthz")
print(response.status_code, response.content.decode())
"""


@pytest.mark.parametrize("database_url", UNREACHABLE.values(), ids=UNREACHABLE.keys())
def test_healthz_answers_503_when_the_database_is_unreachable(database_url, tmp_path: Path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "comptoir.settings",
        "COMPTOIR_DATA_DIR": str(tmp_path),
        "DATABASE_URL": database_url,
    }

    result = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr
    status, _, body = result.stdout.strip().partition(" ")
    assert status == "503", result.stdout
    assert '"database": "down"' in body
