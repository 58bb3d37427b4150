"""Which database a command uses: MONGODB_URI, an embedded server already running, or a new one."""
from __future__ import annotations

import contextlib
import logging

from pymongo import MongoClient
from pymongo.errors import PyMongoError

from ..config import Config
from .embedded import EmbeddedDatabase, EmbeddedDatabaseError, port_in_use

log = logging.getLogger(__name__)


def _answers_as_database(uri: str) -> bool:
    client = MongoClient(uri, serverSelectionTimeoutMS=1000, connectTimeoutMS=1000)
    try:
        client.admin.command("ping")
        return True
    except PyMongoError:
        return False
    finally:
        client.close()


@contextlib.contextmanager
def database_uri(config: Config, *, reuse_running: bool = True):
    """Yield the URI to use; start (and finally stop) the embedded server only if needed.

    A command run beside `realname serve` (device add, seed-demo, simulate) shares the
    embedded server already listening instead of failing on its lock.
    """
    if config.mongodb_uri:
        yield config.mongodb_uri
        return
    embedded = EmbeddedDatabase(config.data_dir, config.embedded_db_port)
    if port_in_use(embedded.port):
        if reuse_running and _answers_as_database(embedded.uri):
            log.info("using the database already running on port %s", embedded.port)
            yield embedded.uri
            return
        raise EmbeddedDatabaseError(
            f"端口 {embedded.port} 已被占用 (port taken) by something that is not a database this "
            f"platform can use. Free it, set REALNAME_EMBEDDED_DB_PORT, or set MONGODB_URI.")
    embedded.start()
    try:
        yield embedded.uri
    finally:
        embedded.stop()
