import PostgresNIO
import RapportEventLog

/// The names of the store's tables in one PostgreSQL schema, and the
/// migrations that create them. See `docs/postgres.md`.
///
/// The schema name is the only text put into SQL that is not a bound
/// parameter (identifiers cannot be bound): it is checked to be a plain
/// lower-case identifier and quoted.
struct Schema: Sendable {
    /// The schema's name, as given.
    let name: String
    let migrations: String
    let logHead: String
    let events: String
    let eventTags: String
    let streamHeads: String
    let tagHeads: String
    let readModels: String
    let checkpoints: String
    /// The LISTEN/NOTIFY channel appends notify on.
    let channel: String

    /// The longest schema name; the channel `rapport_events_<schema>` must fit
    /// PostgreSQL's 63-byte identifiers.
    static let maximumNameLength = 48

    init(name: String) throws(EventStoreError) {
        let valid = !name.isEmpty && name.utf8.count <= Self.maximumNameLength
            && name.utf8.allSatisfy { (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x5F }
            && !(0x30...0x39).contains(name.utf8.first!)
            && !name.hasPrefix("pg_")
        guard valid else {
            throw .storage("the schema name \"\(name)\" is not valid: use 1 to \(Self.maximumNameLength) lower-case letters, digits and underscores, starting with a letter or underscore and not with pg_")
        }
        self.name = name
        let quoted = "\"\(name)\""
        migrations = "\(quoted).rapport_schema_migrations"
        logHead = "\(quoted).rapport_log_head"
        events = "\(quoted).rapport_events"
        eventTags = "\(quoted).rapport_event_tags"
        streamHeads = "\(quoted).rapport_stream_heads"
        tagHeads = "\(quoted).rapport_tag_heads"
        readModels = "\(quoted).rapport_read_models"
        checkpoints = "\(quoted).rapport_projection_checkpoints"
        channel = "rapport_events_\(name)"
    }

    var quotedName: String { "\"\(name)\"" }

    /// One step of the schema's history. Applied once, in a transaction, and
    /// recorded in `rapport_schema_migrations`. A migration never drops or
    /// rewrites user data; later steps only add.
    struct Migration: Sendable {
        let version: Int32
        let description: String
        let statements: [String]
    }

    /// Every migration, oldest first. Append new ones; never edit a released one.
    var allMigrations: [Migration] {
        [
            Migration(version: 1, description: "event log: events, event tags, stream and tag heads, log head", statements: [
                """
                CREATE TABLE \(logHead) (
                    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
                    position bigint NOT NULL CHECK (position >= 0),
                    chain_hash bytea NOT NULL CHECK (octet_length(chain_hash) = 32)
                )
                """,
                "INSERT INTO \(logHead) (singleton, position, chain_hash) VALUES (true, 0, decode(repeat('00', 32), 'hex'))",
                """
                CREATE TABLE \(events) (
                    position bigint PRIMARY KEY CHECK (position > 0),
                    stream_id text NOT NULL,
                    stream_version bigint NOT NULL CHECK (stream_version > 0),
                    event_id uuid NOT NULL,
                    type text NOT NULL,
                    record bytea NOT NULL,
                    CONSTRAINT rapport_events_stream_version_key UNIQUE (stream_id, stream_version),
                    CONSTRAINT rapport_events_event_id_key UNIQUE (event_id)
                )
                """,
                """
                CREATE TABLE \(eventTags) (
                    tag text NOT NULL,
                    position bigint NOT NULL,
                    PRIMARY KEY (tag, position)
                )
                """,
                """
                CREATE TABLE \(streamHeads) (
                    stream_id text PRIMARY KEY,
                    version bigint NOT NULL CHECK (version > 0),
                    ladder bytea NOT NULL
                )
                """,
                """
                CREATE TABLE \(tagHeads) (
                    tag text PRIMARY KEY,
                    count bigint NOT NULL CHECK (count > 0),
                    ladder bytea NOT NULL
                )
                """,
                "COMMENT ON TABLE \(events) IS 'Rapport event log: one row per event, record = the exact stored record bytes (see docs/storage-format.md). Written only by the Rapport store.'",
                "COMMENT ON TABLE \(logHead) IS 'Rapport log head: the last position and chain hash. Appends lock this row, so positions commit in order.'",
            ]),
            Migration(version: 2, description: "read models: projection keys and values, projection checkpoints", statements: [
                // Keys are the UTF-8 bytes of the projection's key: bytea compares
                // byte by byte, the order ReadModelReader.forEach promises.
                """
                CREATE TABLE \(readModels) (
                    projection text NOT NULL,
                    key bytea NOT NULL,
                    value bytea NOT NULL,
                    PRIMARY KEY (projection, key)
                )
                """,
                """
                CREATE TABLE \(checkpoints) (
                    projection text PRIMARY KEY,
                    version bigint NOT NULL,
                    position bigint NOT NULL CHECK (position >= 0),
                    committed_at timestamptz NOT NULL DEFAULT clock_timestamp()
                )
                """,
                "COMMENT ON TABLE \(readModels) IS 'Rapport read models: one row per projection key, changed only with the projection checkpoint, in one transaction.'",
            ]),
        ]
    }

    /// The newest schema version this library knows.
    var currentVersion: Int32 { allMigrations.last!.version }
}

extension Head {
    /// The ladder as stored in PostgreSQL: little-endian UInt64s.
    func ladderBytes() -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: ladder.count * 8)
        for position in ladder { buffer.writeInteger(position, endianness: .little) }
        return buffer
    }

    /// A head read back from PostgreSQL.
    init(count: Int64, ladderBytes: ByteBuffer) {
        var bytes = ladderBytes
        var ladder: [UInt64] = []
        ladder.reserveCapacity(bytes.readableBytes / 8)
        while let position = bytes.readInteger(endianness: .little, as: UInt64.self) { ladder.append(position) }
        self.init(count: UInt64(count), ladder: ladder)
    }
}
