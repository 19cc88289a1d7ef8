"""The PostgreSQL schema as an ordered list of migrations; ``meta.schema_version`` records how far
a schema is. The statements run inside the cache's own schema (``search_path``), under one
database-wide advisory lock, so processes starting together migrate once."""

from __future__ import annotations

__all__ = ["MIGRATION_LOCK", "PG_MIGRATIONS", "PG_SCHEMA_VERSION", "hnsw_index_sql"]

#: ``pg_advisory_xact_lock`` key held while a schema is created or migrated ("CbK1").
MIGRATION_LOCK = 0x43624B31

PG_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: entries (vectors in pgvector's type, any dimension), running totals, feedback, meta
    (
        """
        CREATE TABLE entries (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            namespace TEXT NOT NULL,
            scope_key TEXT NOT NULL,
            query_hash TEXT NOT NULL,
            norm_query TEXT NOT NULL,
            query TEXT NOT NULL,
            response TEXT NOT NULL,
            payload TEXT,
            embedding vector,
            embed_dim INTEGER,
            embed_model TEXT,
            created DOUBLE PRECISION NOT NULL,
            last_hit DOUBLE PRECISION NOT NULL,
            hit_count BIGINT NOT NULL DEFAULT 0,
            expires DOUBLE PRECISION,
            metadata TEXT,
            size BIGINT NOT NULL,
            checksum BIGINT
        )
        """,
        "CREATE UNIQUE INDEX entries_key ON entries (namespace, scope_key, query_hash)",
        "CREATE INDEX entries_partition ON entries (namespace, scope_key, embed_dim)",
        "CREATE INDEX entries_last_hit ON entries (last_hit)",
        "CREATE INDEX entries_expires ON entries (expires) WHERE expires IS NOT NULL",
        """
        CREATE TABLE totals (id INTEGER PRIMARY KEY CHECK (id = 0), entries BIGINT NOT NULL,
                             bytes BIGINT NOT NULL)
        """,
        "INSERT INTO totals VALUES (0, 0, 0)",
        """
        CREATE FUNCTION entries_totals() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'INSERT' THEN
                UPDATE totals SET entries = entries + 1, bytes = bytes + NEW.size;
            ELSIF TG_OP = 'DELETE' THEN
                UPDATE totals SET entries = entries - 1, bytes = bytes - OLD.size;
            ELSIF NEW.size <> OLD.size THEN
                UPDATE totals SET bytes = bytes - OLD.size + NEW.size;
            END IF;
            RETURN NULL;
        END $$
        """,
        """
        CREATE TRIGGER entries_totals AFTER INSERT OR DELETE OR UPDATE OF size ON entries
        FOR EACH ROW EXECUTE FUNCTION entries_totals()
        """,
        """
        CREATE TABLE feedback (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            entry_id BIGINT NOT NULL,
            namespace TEXT NOT NULL,
            scope_key TEXT NOT NULL,
            query TEXT NOT NULL,
            query_hash TEXT NOT NULL,
            matched_query TEXT NOT NULL,
            similarity DOUBLE PRECISION NOT NULL,
            probability DOUBLE PRECISION,
            tier TEXT NOT NULL,
            correct INTEGER NOT NULL,
            created DOUBLE PRECISION NOT NULL,
            note TEXT
        )
        """,
        "CREATE INDEX feedback_wrong ON feedback (query_hash, entry_id) WHERE correct = 0",
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        "INSERT INTO meta VALUES ('db_uuid', md5(random()::text || clock_timestamp()::text))",
    ),
)

PG_SCHEMA_VERSION = len(PG_MIGRATIONS)


def hnsw_index_sql(dim: int, m: int, ef_construction: int) -> str:
    """The HNSW index for vectors of one dimension: pgvector indexes only a fixed dimension, so
    the column is cast in an expression index, partial on that dimension (a model change with
    another dimension gets its own index)."""
    return (
        f"CREATE INDEX IF NOT EXISTS entries_hnsw_{dim} ON entries USING hnsw "
        f"((embedding::vector({dim})) vector_cosine_ops) WITH (m = {m}, ef_construction = "
        f"{ef_construction}) WHERE embed_dim = {dim}"
    )
