//! The gateway's index: its user's own records (their envelopes, key wraps
//! and import state), imports, and the chain events that concern the user
//! (requests, grants, revocations, access receipts).
//!
//! SQLite by default (`sqlite://<data dir>/index.db`), PostgreSQL when the
//! database URL says `postgres://`; the SQL here is the subset both speak.
//! The index holds ciphertext, key wraps only the user can open, ids and
//! codes: never plaintext.

use std::path::Path;

use sqlx::{AnyPool, Row, any::AnyPoolOptions};

use crate::error::GatewayError;

/// How far a record of an import has come.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordState {
    /// Encrypted, its envelope and key wrap kept in the index.
    Staged,
    /// Anchored on chain.
    Anchored,
    /// Envelope and owner's key wrap stored in the vault: imported.
    Stored,
}

impl RecordState {
    fn as_str(self) -> &'static str {
        match self {
            RecordState::Staged => "staged",
            RecordState::Anchored => "anchored",
            RecordState::Stored => "stored",
        }
    }
}

/// One of the user's own records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnRecord {
    /// The content id of its envelope.
    pub content_id: [u8; 32],
    /// The record's stable id (the envelope binds it).
    pub record_id: [u8; 32],
    /// Its version, as the chain counts (0 for a first version).
    pub version: u32,
    /// The FHIR resource type.
    pub resource_type: String,
    /// The FHIR logical id.
    pub resource_id: String,
    /// The MediGate category code (`labs`).
    pub category: String,
    /// The plaintext's size in bytes.
    pub size: u64,
    /// The key wrap to the owner.
    pub owner_wrap: Vec<u8>,
    /// The content id of the version it replaces.
    pub previous: Option<[u8; 32]>,
    /// How far its import came.
    pub state: RecordState,
    /// The import it came in.
    pub import_id: String,
}

/// A chain event that concerns the user, as indexed.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct IndexedEvent {
    /// The block holding it.
    pub block: i64,
    /// Its position among the block's events.
    pub position: i64,
    /// What happened: `requested`, `approved`, `denied`, `granted`,
    /// `revoked`, `read` (an access receipt) or `forged` (an access receipt
    /// whose accessor did not sign the read it records).
    pub kind: String,
    /// The access request, for request events.
    pub request_id: Option<i64>,
    /// The grant, for grant events and receipts under a grant.
    pub grant_id: Option<i64>,
    /// The patient (hex account).
    pub patient: Option<String>,
    /// The other party: requester, grantee, or accessor (hex account).
    pub counterparty: Option<String>,
    /// The purpose code (`TREAT`).
    pub purpose: Option<String>,
    /// The record read (hex content id), for receipts.
    pub record: Option<String>,
    /// The action (`read`), for receipts.
    pub action: Option<String>,
    /// The vault that served, for receipts.
    pub vault: Option<String>,
    /// When (milliseconds since the Unix epoch): the read, for receipts.
    pub at_ms: Option<i64>,
    /// When a grant expires (milliseconds since the Unix epoch).
    pub expires_ms: Option<i64>,
}

/// The index database.
#[derive(Clone, Debug)]
pub struct Index {
    pool: AnyPool,
}

fn decode_id(text: &str) -> Result<[u8; 32], GatewayError> {
    hex::decode(text)
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| {
            GatewayError::Database(sqlx::Error::Decode(format!("not an id: {text}").into()))
        })
}

fn schema(blob: &str) -> Vec<String> {
    vec![
        "CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL)".into(),
        format!(
            "CREATE TABLE IF NOT EXISTS records (
                content_id TEXT PRIMARY KEY,
                record_id TEXT NOT NULL,
                version BIGINT NOT NULL,
                resource_type TEXT NOT NULL,
                resource_id TEXT NOT NULL,
                category TEXT NOT NULL,
                size BIGINT NOT NULL,
                owner_wrap {blob} NOT NULL,
                envelope {blob} NOT NULL,
                previous TEXT,
                superseded BIGINT NOT NULL DEFAULT 0,
                state TEXT NOT NULL,
                import_id TEXT NOT NULL,
                seq BIGINT NOT NULL)"
        ),
        "CREATE INDEX IF NOT EXISTS records_by_resource ON records (resource_type, resource_id)"
            .into(),
        "CREATE INDEX IF NOT EXISTS records_by_state ON records (state)".into(),
        "CREATE TABLE IF NOT EXISTS imports (
            import_id TEXT PRIMARY KEY,
            resources BIGINT NOT NULL,
            state TEXT NOT NULL,
            started_ms BIGINT NOT NULL,
            finished_ms BIGINT)"
            .into(),
        "CREATE TABLE IF NOT EXISTS events (
            block BIGINT NOT NULL,
            position BIGINT NOT NULL,
            kind TEXT NOT NULL,
            request_id BIGINT,
            grant_id BIGINT,
            patient TEXT,
            counterparty TEXT,
            purpose TEXT,
            record TEXT,
            action TEXT,
            vault TEXT,
            at_ms BIGINT,
            expires_ms BIGINT,
            PRIMARY KEY (block, position))"
            .into(),
        "CREATE TABLE IF NOT EXISTS shared (
            content_id TEXT NOT NULL,
            grant_id BIGINT NOT NULL,
            PRIMARY KEY (content_id, grant_id))"
            .into(),
        "CREATE TABLE IF NOT EXISTS emergencies (
            id BIGINT PRIMARY KEY,
            patient TEXT NOT NULL,
            responder TEXT NOT NULL,
            purpose TEXT NOT NULL,
            expires_ms BIGINT NOT NULL,
            block BIGINT NOT NULL,
            review TEXT NOT NULL,
            reviewer TEXT)"
            .into(),
        // Break-glasses that open full-record access after a veto window:
        // when, and where that stands (`scheduled`, `vetoed`, `shared`).
        "CREATE TABLE IF NOT EXISTS full_access (
            id BIGINT PRIMARY KEY,
            opens_ms BIGINT NOT NULL,
            state TEXT NOT NULL)"
            .into(),
    ]
}

/// A break-glass that concerns the user (as patient, guardian or
/// responder), as indexed.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct EmergencyEntry {
    /// The break-glass id.
    pub id: i64,
    /// The patient (hex account).
    pub patient: String,
    /// The responder (hex account).
    pub responder: String,
    /// `ETREAT` or `BTG`.
    pub purpose: String,
    /// When its grant ends (milliseconds since the Unix epoch).
    pub expires_ms: i64,
    /// The finalized block holding it.
    pub block: i64,
    /// `pending`, `justified` or `flagged`.
    pub review: String,
    /// Who reviewed it (hex account).
    pub reviewer: Option<String>,
    /// When its grant opens every category of the patient's records, unless
    /// vetoed (milliseconds since the Unix epoch); `None` without a veto
    /// window.
    pub full_access_ms: Option<i64>,
    /// Where full-record access stands: `scheduled`, `vetoed` or `shared`
    /// (the patient's gateway wrapped the record keys for the responder).
    pub full_access: Option<String>,
}

/// The most ids one `IN (...)` query binds (both databases take many more).
const IDS_PER_QUERY: usize = 500;

/// Rows per multi-row `INSERT` of staged records (13 parameters each).
const ROWS_PER_INSERT: usize = 64;

/// The order of own records: by when their import started (records not
/// imported, such as authored ones, first), then as in their Bundle.
const OLDEST_IMPORT_FIRST: &str = "COALESCE((SELECT started_ms FROM imports
        WHERE imports.import_id = records.import_id), 0), import_id, seq";

const RECORD_COLUMNS: &str = "content_id, record_id, version, resource_type, resource_id, category, size, owner_wrap, previous, state, import_id";

/// The database file a `sqlite://path` URL names (without its query).
fn sqlite_file(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("sqlite://")?;
    Some(rest.split('?').next().unwrap_or(rest)).filter(|path| !path.is_empty())
}

/// Creates the database file at `path` readable and writable by its owner
/// alone, or narrows an existing one to that: the index holds the user's
/// envelopes, key wraps and what they imported and shared. SQLite gives its
/// journal files the database file's permissions.
fn owner_only(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

impl Index {
    /// Opens (creating if needed, its file readable by its owner alone) the
    /// index at `url`: `sqlite://path` or
    /// `postgres://user@host:port/database`.
    pub async fn open(url: &str) -> Result<Self, GatewayError> {
        sqlx::any::install_default_drivers();
        if let Some(path) = sqlite_file(url) {
            owner_only(Path::new(path)).map_err(sqlx::Error::Io)?;
        }
        let postgres = url.starts_with("postgres");
        let url = if !postgres && !url.contains('?') {
            format!("{url}?mode=rwc")
        } else {
            url.to_string()
        };
        let pool = AnyPoolOptions::new()
            .max_connections(if postgres { 8 } else { 4 })
            .connect(&url)
            .await?;
        if !postgres {
            sqlx::query("PRAGMA journal_mode=WAL")
                .execute(&pool)
                .await?;
        }
        for statement in schema(if postgres { "BYTEA" } else { "BLOB" }) {
            sqlx::query(&statement).execute(&pool).await?;
        }
        Ok(Self { pool })
    }

    /// A setting, if set.
    pub async fn setting(&self, name: &str) -> Result<Option<String>, GatewayError> {
        Ok(sqlx::query("SELECT value FROM settings WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?
            .map(|row| row.get::<String, _>(0)))
    }

    /// Sets a setting.
    pub async fn set_setting(&self, name: &str, value: &str) -> Result<(), GatewayError> {
        sqlx::query(
            "INSERT INTO settings (name, value) VALUES ($1, $2)
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        )
        .bind(name)
        .bind(value)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The state of an import (`staged` or `done`), if it was started.
    pub async fn import_state(&self, import_id: &str) -> Result<Option<String>, GatewayError> {
        Ok(
            sqlx::query("SELECT state FROM imports WHERE import_id = $1")
                .bind(import_id)
                .fetch_optional(&self.pool)
                .await?
                .map(|row| row.get::<String, _>(0)),
        )
    }

    /// Records an import and its staged records in one transaction: after a
    /// crash either all of them are staged or none.
    pub async fn stage_import(
        &self,
        import_id: &str,
        records: &[(OwnRecord, Vec<u8>)],
        now_ms: i64,
    ) -> Result<(), GatewayError> {
        let mut transaction = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO imports (import_id, resources, state, started_ms) VALUES ($1, $2, 'staged', $3)",
        )
        .bind(import_id)
        .bind(records.len() as i64)
        .bind(now_ms)
        .execute(&mut *transaction)
        .await?;
        // Many rows per statement: one round trip per chunk, not per record.
        for (chunk_index, chunk) in records.chunks(ROWS_PER_INSERT).enumerate() {
            let rows = (0..chunk.len())
                .map(|row| {
                    let columns = (1..=13)
                        .map(|column| format!("${}", row * 13 + column))
                        .collect::<Vec<_>>()
                        .join(", ");
                    format!("({columns})")
                })
                .collect::<Vec<_>>()
                .join(", ");
            let statement = format!(
                "INSERT INTO records (content_id, record_id, version, resource_type, resource_id,
                    category, size, owner_wrap, envelope, previous, state, import_id, seq)
                 VALUES {rows}"
            );
            let mut query = sqlx::query(&statement);
            for (offset, (record, envelope)) in chunk.iter().enumerate() {
                let seq = chunk_index * ROWS_PER_INSERT + offset;
                query = query
                    .bind(hex::encode(record.content_id))
                    .bind(hex::encode(record.record_id))
                    .bind(record.version as i64)
                    .bind(record.resource_type.clone())
                    .bind(record.resource_id.clone())
                    .bind(record.category.clone())
                    .bind(record.size as i64)
                    .bind(record.owner_wrap.clone())
                    .bind(envelope.clone())
                    .bind(record.previous.map(hex::encode))
                    .bind(RecordState::Staged.as_str())
                    .bind(import_id.to_string())
                    .bind(seq as i64);
            }
            query.execute(&mut *transaction).await?;
        }
        transaction.commit().await?;
        Ok(())
    }

    /// Moves records to `state`.
    pub async fn set_state(
        &self,
        content_ids: &[[u8; 32]],
        state: RecordState,
    ) -> Result<(), GatewayError> {
        let mut transaction = self.pool.begin().await?;
        for ids in content_ids.chunks(IDS_PER_QUERY) {
            let placeholders = (2..=ids.len() + 1)
                .map(|n| format!("${n}"))
                .collect::<Vec<_>>()
                .join(", ");
            let statement =
                format!("UPDATE records SET state = $1 WHERE content_id IN ({placeholders})");
            let mut query = sqlx::query(&statement).bind(state.as_str());
            for id in ids {
                query = query.bind(hex::encode(id));
            }
            query.execute(&mut *transaction).await?;
        }
        transaction.commit().await?;
        Ok(())
    }

    /// Marks an import done and the versions it replaced superseded.
    pub async fn finish_import(&self, import_id: &str, now_ms: i64) -> Result<(), GatewayError> {
        let mut transaction = self.pool.begin().await?;
        sqlx::query(
            "UPDATE records SET superseded = 1 WHERE content_id IN
                (SELECT previous FROM records WHERE import_id = $1 AND previous IS NOT NULL)",
        )
        .bind(import_id)
        .execute(&mut *transaction)
        .await?;
        sqlx::query("UPDATE imports SET state = 'done', finished_ms = $1 WHERE import_id = $2")
            .bind(now_ms)
            .bind(import_id)
            .execute(&mut *transaction)
            .await?;
        transaction.commit().await?;
        Ok(())
    }

    /// Imports not yet done, oldest first.
    pub async fn unfinished_imports(&self) -> Result<Vec<String>, GatewayError> {
        Ok(
            sqlx::query("SELECT import_id FROM imports WHERE state <> 'done' ORDER BY started_ms")
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(|row| row.get::<String, _>(0))
                .collect(),
        )
    }

    fn record_from_row(row: &sqlx::any::AnyRow) -> Result<OwnRecord, GatewayError> {
        let state = match row.get::<String, _>(9).as_str() {
            "staged" => RecordState::Staged,
            "anchored" => RecordState::Anchored,
            _ => RecordState::Stored,
        };
        Ok(OwnRecord {
            content_id: decode_id(&row.get::<String, _>(0))?,
            record_id: decode_id(&row.get::<String, _>(1))?,
            version: row.get::<i64, _>(2) as u32,
            resource_type: row.get(3),
            resource_id: row.get(4),
            category: row.get(5),
            size: row.get::<i64, _>(6) as u64,
            owner_wrap: row.get(7),
            previous: row
                .get::<Option<String>, _>(8)
                .map(|text| decode_id(&text))
                .transpose()?,
            state,
            import_id: row.get(10),
        })
    }

    /// The records of an import, in Bundle order.
    pub async fn records_of_import(&self, import_id: &str) -> Result<Vec<OwnRecord>, GatewayError> {
        sqlx::query(&format!(
            "SELECT {RECORD_COLUMNS} FROM records WHERE import_id = $1 ORDER BY seq"
        ))
        .bind(import_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(Self::record_from_row)
        .collect()
    }

    /// The user's imported, current records (not superseded), optionally of
    /// one resource type, oldest import first, each import in Bundle order.
    pub async fn own_records(
        &self,
        resource_type: Option<&str>,
    ) -> Result<Vec<OwnRecord>, GatewayError> {
        let rows = match resource_type {
            Some(resource_type) => {
                sqlx::query(&format!(
                    "SELECT {RECORD_COLUMNS} FROM records
                     WHERE state = 'stored' AND superseded = 0 AND resource_type = $1
                     ORDER BY {OLDEST_IMPORT_FIRST}"
                ))
                .bind(resource_type)
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(&format!(
                    "SELECT {RECORD_COLUMNS} FROM records
                     WHERE state = 'stored' AND superseded = 0 ORDER BY {OLDEST_IMPORT_FIRST}"
                ))
                .fetch_all(&self.pool)
                .await?
            }
        };
        rows.iter().map(Self::record_from_row).collect()
    }

    /// [`Index::own_records`] with each record's envelope, in one query
    /// (in the same order).
    pub async fn own_records_sealed(
        &self,
        resource_type: Option<&str>,
    ) -> Result<Vec<(OwnRecord, Vec<u8>)>, GatewayError> {
        let query = format!(
            "SELECT {RECORD_COLUMNS}, envelope FROM records
             WHERE state = 'stored' AND superseded = 0 AND ($1 = '' OR resource_type = $1)
             ORDER BY {OLDEST_IMPORT_FIRST}"
        );
        sqlx::query(&query)
            .bind(resource_type.unwrap_or_default())
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| Ok((Self::record_from_row(row)?, row.get::<Vec<u8>, _>(11))))
            .collect()
    }

    /// The current version of the user's record `resource_type/resource_id`.
    pub async fn own_record(
        &self,
        resource_type: &str,
        resource_id: &str,
    ) -> Result<Option<OwnRecord>, GatewayError> {
        sqlx::query(&format!(
            "SELECT {RECORD_COLUMNS} FROM records
             WHERE resource_type = $1 AND resource_id = $2 AND superseded = 0 AND state = 'stored'"
        ))
        .bind(resource_type)
        .bind(resource_id)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(Self::record_from_row)
        .transpose()
    }

    /// The content id of every record in the index.
    pub async fn known_content_ids(
        &self,
    ) -> Result<std::collections::HashSet<[u8; 32]>, GatewayError> {
        sqlx::query("SELECT content_id FROM records")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| decode_id(&row.get::<String, _>(0)))
            .collect()
    }

    /// Keeps a record someone else wrote into the user's record (already
    /// anchored and stored) as one of the user's records: its own finished
    /// import, named by `record.import_id`.
    pub async fn keep_authored(
        &self,
        record: &OwnRecord,
        envelope: &[u8],
        now_ms: i64,
    ) -> Result<(), GatewayError> {
        self.stage_import(
            &record.import_id,
            &[(record.clone(), envelope.to_vec())],
            now_ms,
        )
        .await?;
        self.set_state(&[record.content_id], RecordState::Stored)
            .await?;
        self.finish_import(&record.import_id, now_ms).await
    }

    /// The user's record whose envelope is `content_id`, in any version or
    /// state.
    pub async fn record_by_content_id(
        &self,
        content_id: &[u8; 32],
    ) -> Result<Option<OwnRecord>, GatewayError> {
        sqlx::query(&format!(
            "SELECT {RECORD_COLUMNS} FROM records WHERE content_id = $1"
        ))
        .bind(hex::encode(content_id))
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(Self::record_from_row)
        .transpose()
    }

    /// The latest version of each of the given resources (type and id) the
    /// user has, keyed by type and id; a few queries for a whole Bundle.
    pub async fn latest_versions(
        &self,
        resources: &[(&str, &str)],
    ) -> Result<std::collections::HashMap<(String, String), OwnRecord>, GatewayError> {
        let mut by_type = std::collections::BTreeMap::<&str, Vec<&str>>::new();
        for (resource_type, resource_id) in resources {
            by_type.entry(resource_type).or_default().push(resource_id);
        }
        let mut latest = std::collections::HashMap::<(String, String), OwnRecord>::new();
        for (resource_type, ids) in by_type {
            for ids in ids.chunks(IDS_PER_QUERY) {
                let placeholders = (2..ids.len() + 2)
                    .map(|n| format!("${n}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let statement = format!(
                    "SELECT {RECORD_COLUMNS} FROM records
                     WHERE resource_type = $1 AND resource_id IN ({placeholders})"
                );
                let mut query = sqlx::query(&statement).bind(resource_type);
                for id in ids {
                    query = query.bind(*id);
                }
                for row in &query.fetch_all(&self.pool).await? {
                    let record = Self::record_from_row(row)?;
                    let key = (record.resource_type.clone(), record.resource_id.clone());
                    match latest.get(&key) {
                        Some(known) if known.version >= record.version => {}
                        _ => {
                            latest.insert(key, record);
                        }
                    }
                }
            }
        }
        Ok(latest)
    }

    /// The envelopes of some of the user's records, in the order asked.
    pub async fn envelopes(&self, content_ids: &[[u8; 32]]) -> Result<Vec<Vec<u8>>, GatewayError> {
        let mut found = std::collections::HashMap::with_capacity(content_ids.len());
        for ids in content_ids.chunks(IDS_PER_QUERY) {
            let placeholders = (1..=ids.len())
                .map(|n| format!("${n}"))
                .collect::<Vec<_>>()
                .join(", ");
            let statement = format!(
                "SELECT content_id, envelope FROM records WHERE content_id IN ({placeholders})"
            );
            let mut query = sqlx::query(&statement);
            for id in ids {
                query = query.bind(hex::encode(id));
            }
            for row in query.fetch_all(&self.pool).await? {
                found.insert(row.get::<String, _>(0), row.get::<Vec<u8>, _>(1));
            }
        }
        content_ids
            .iter()
            .map(|id| {
                let id = hex::encode(id);
                found.get(&id).cloned().ok_or(GatewayError::NotFound(id))
            })
            .collect()
    }

    /// The envelope of one of the user's records.
    pub async fn envelope(&self, content_id: &[u8; 32]) -> Result<Vec<u8>, GatewayError> {
        sqlx::query("SELECT envelope FROM records WHERE content_id = $1")
            .bind(hex::encode(content_id))
            .fetch_optional(&self.pool)
            .await?
            .map(|row| row.get::<Vec<u8>, _>(0))
            .ok_or_else(|| GatewayError::NotFound(hex::encode(content_id)))
    }

    /// Notes that `content_id`'s key was wrapped for `grant`.
    pub async fn mark_shared(
        &self,
        content_ids: &[[u8; 32]],
        grant: u64,
    ) -> Result<(), GatewayError> {
        let mut transaction = self.pool.begin().await?;
        for content_id in content_ids {
            sqlx::query(
                "INSERT INTO shared (content_id, grant_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )
            .bind(hex::encode(content_id))
            .bind(grant as i64)
            .execute(&mut *transaction)
            .await?;
        }
        transaction.commit().await?;
        Ok(())
    }

    /// The records whose key was wrapped for `grant`.
    pub async fn shared_under(&self, grant: u64) -> Result<Vec<[u8; 32]>, GatewayError> {
        sqlx::query("SELECT content_id FROM shared WHERE grant_id = $1")
            .bind(grant as i64)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| decode_id(&row.get::<String, _>(0)))
            .collect()
    }

    /// Stores indexed events (again: an event already indexed is kept).
    pub async fn insert_events(&self, events: &[IndexedEvent]) -> Result<(), GatewayError> {
        let mut transaction = self.pool.begin().await?;
        for event in events {
            sqlx::query(
                "INSERT INTO events (block, position, kind, request_id, grant_id, patient,
                    counterparty, purpose, record, action, vault, at_ms, expires_ms)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
                 ON CONFLICT (block, position) DO NOTHING",
            )
            .bind(event.block)
            .bind(event.position)
            .bind(&event.kind)
            .bind(event.request_id)
            .bind(event.grant_id)
            .bind(&event.patient)
            .bind(&event.counterparty)
            .bind(&event.purpose)
            .bind(&event.record)
            .bind(&event.action)
            .bind(&event.vault)
            .bind(event.at_ms)
            .bind(event.expires_ms)
            .execute(&mut *transaction)
            .await?;
        }
        transaction.commit().await?;
        Ok(())
    }

    /// Indexed events of these kinds, in chain order.
    pub async fn events(&self, kinds: &[&str]) -> Result<Vec<IndexedEvent>, GatewayError> {
        let rows = sqlx::query(
            "SELECT block, position, kind, request_id, grant_id, patient, counterparty, purpose,
                record, action, vault, at_ms, expires_ms FROM events ORDER BY block, position",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|row| IndexedEvent {
                block: row.get(0),
                position: row.get(1),
                kind: row.get(2),
                request_id: row.get(3),
                grant_id: row.get(4),
                patient: row.get(5),
                counterparty: row.get(6),
                purpose: row.get(7),
                record: row.get(8),
                action: row.get(9),
                vault: row.get(10),
                at_ms: row.get(11),
                expires_ms: row.get(12),
            })
            .filter(|event| kinds.is_empty() || kinds.contains(&event.kind.as_str()))
            .collect())
    }

    /// The patients whose consent `me` manages as a delegate or guardian,
    /// as the indexed delegation events say (the latest event of each pair
    /// decides).
    pub async fn wards(&self, me: &str) -> Result<Vec<String>, GatewayError> {
        self.delegations(me, true).await
    }

    /// The delegates and guardians of `me`'s consent.
    pub async fn delegates(&self, me: &str) -> Result<Vec<String>, GatewayError> {
        self.delegations(me, false).await
    }

    async fn delegations(&self, me: &str, as_delegate: bool) -> Result<Vec<String>, GatewayError> {
        let (mine, theirs) = if as_delegate {
            ("counterparty", "patient")
        } else {
            ("patient", "counterparty")
        };
        let rows = sqlx::query(&format!(
            "SELECT {theirs}, kind FROM events
             WHERE kind IN ('delegated', 'undelegated') AND {mine} = $1
             ORDER BY block, position"
        ))
        .bind(me)
        .fetch_all(&self.pool)
        .await?;
        let mut current: Vec<String> = Vec::new();
        for row in &rows {
            let other: String = row.get(0);
            current.retain(|known| *known != other);
            if row.get::<String, _>(1) == "delegated" {
                current.push(other);
            }
        }
        Ok(current)
    }

    /// Whether a request or grant id appears in the index (so that events
    /// naming only the id concern the user).
    pub async fn knows(
        &self,
        request: Option<i64>,
        grant: Option<i64>,
    ) -> Result<bool, GatewayError> {
        let row =
            sqlx::query("SELECT COUNT(*) FROM events WHERE (request_id = $1) OR (grant_id = $2)")
                .bind(request.unwrap_or(-1))
                .bind(grant.unwrap_or(-1))
                .fetch_one(&self.pool)
                .await?;
        Ok(row.get::<i64, _>(0) > 0)
    }
}

impl Index {
    /// Keeps a break-glass (once: a second sighting changes nothing).
    /// Returns whether it was new.
    pub async fn keep_break_glass(&self, entry: &EmergencyEntry) -> Result<bool, GatewayError> {
        let inserted = sqlx::query(
            "INSERT INTO emergencies (id, patient, responder, purpose, expires_ms, block, review, reviewer)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING",
        )
        .bind(entry.id)
        .bind(&entry.patient)
        .bind(&entry.responder)
        .bind(&entry.purpose)
        .bind(entry.expires_ms)
        .bind(entry.block)
        .bind(&entry.review)
        .bind(entry.reviewer.as_deref())
        .execute(&self.pool)
        .await?;
        if let Some(opens_ms) = entry.full_access_ms {
            sqlx::query(
                "INSERT INTO full_access (id, opens_ms, state) VALUES ($1, $2, $3)
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(entry.id)
            .bind(opens_ms)
            .bind(entry.full_access.as_deref().unwrap_or("scheduled"))
            .execute(&self.pool)
            .await?;
        }
        Ok(inserted.rows_affected() > 0)
    }

    /// Records where break-glass `id`'s full-record access stands
    /// (`vetoed`, `shared`); a break-glass without one is left alone.
    pub async fn set_full_access(&self, id: i64, state: &str) -> Result<(), GatewayError> {
        sqlx::query("UPDATE full_access SET state = $1 WHERE id = $2")
            .bind(state)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records the review of break-glass `id`.
    pub async fn review_break_glass(
        &self,
        id: i64,
        review: &str,
        reviewer: &str,
    ) -> Result<(), GatewayError> {
        sqlx::query("UPDATE emergencies SET review = $1, reviewer = $2 WHERE id = $3")
            .bind(review)
            .bind(reviewer)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Whether break-glass `id` is indexed.
    pub async fn knows_break_glass(&self, id: i64) -> Result<bool, GatewayError> {
        Ok(sqlx::query("SELECT id FROM emergencies WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .is_some())
    }

    /// Every break-glass indexed, newest first.
    pub async fn break_glasses(&self) -> Result<Vec<EmergencyEntry>, GatewayError> {
        let rows = sqlx::query(
            "SELECT e.id, e.patient, e.responder, e.purpose, e.expires_ms, e.block, e.review,
                    e.reviewer, f.opens_ms, f.state
             FROM emergencies e LEFT JOIN full_access f ON f.id = e.id ORDER BY e.id DESC",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|row| EmergencyEntry {
                id: row.get(0),
                patient: row.get(1),
                responder: row.get(2),
                purpose: row.get(3),
                expires_ms: row.get(4),
                block: row.get(5),
                review: row.get(6),
                reviewer: row.get(7),
                full_access_ms: row.get(8),
                full_access: row.get(9),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn record(seed: u8, resource_type: &str, id: &str) -> OwnRecord {
        OwnRecord {
            content_id: [seed; 32],
            record_id: [seed.wrapping_add(100); 32],
            version: 1,
            resource_type: resource_type.into(),
            resource_id: id.into(),
            category: "labs".into(),
            size: 10,
            owner_wrap: vec![seed; 86],
            previous: None,
            state: RecordState::Staged,
            import_id: "import-1".into(),
        }
    }

    async fn exercise(index: Index) {
        let records = vec![
            (record(1, "Observation", "a"), vec![1, 2, 3]),
            (record(2, "Condition", "b"), vec![4, 5]),
        ];
        index.stage_import("import-1", &records, 5).await.unwrap();
        assert_eq!(
            index.import_state("import-1").await.unwrap().as_deref(),
            Some("staged")
        );
        assert_eq!(index.unfinished_imports().await.unwrap(), vec!["import-1"]);
        assert!(
            index.own_records(None).await.unwrap().is_empty(),
            "staged is not imported"
        );
        index
            .set_state(&[[1; 32], [2; 32]], RecordState::Stored)
            .await
            .unwrap();
        index.finish_import("import-1", 6).await.unwrap();
        assert!(index.unfinished_imports().await.unwrap().is_empty());
        let own = index.own_records(Some("Observation")).await.unwrap();
        assert_eq!(own.len(), 1);
        assert_eq!(own[0].owner_wrap, vec![1; 86]);
        assert_eq!(own[0].state, RecordState::Stored);
        assert_eq!(index.envelope(&[2; 32]).await.unwrap(), vec![4, 5]);
        assert!(index.own_record("Condition", "b").await.unwrap().is_some());

        // A large import: staged over several multi-row statements, in order.
        let large: Vec<(OwnRecord, Vec<u8>)> = (10..160u8)
            .map(|seed| {
                let mut staged = record(seed, "Observation", &format!("o{seed}"));
                staged.import_id = "import-2".into();
                (staged, vec![seed; 3])
            })
            .collect();
        let mut newer = record(200, "Observation", "a");
        newer.version = 2;
        newer.import_id = "import-2".into();
        let mut large = large;
        large.push((newer, vec![200]));
        index.stage_import("import-2", &large, 7).await.unwrap();
        let staged: Vec<[u8; 32]> = index
            .records_of_import("import-2")
            .await
            .unwrap()
            .iter()
            .map(|record| record.content_id)
            .collect();
        let expected: Vec<[u8; 32]> = large.iter().map(|(record, _)| record.content_id).collect();
        assert_eq!(staged, expected, "Bundle order kept across statements");
        assert_eq!(
            index
                .envelopes(&[[150; 32], [11; 32], [200; 32]])
                .await
                .unwrap(),
            vec![vec![150; 3], vec![11; 3], vec![200]],
            "envelopes in the order asked"
        );
        assert!(matches!(
            index.envelopes(&[[11; 32], [255; 32]]).await,
            Err(GatewayError::NotFound(_))
        ));
        let latest = index
            .latest_versions(&[
                ("Observation", "a"),
                ("Observation", "o12"),
                ("Condition", "b"),
                ("Condition", "a"),
                ("Patient", "none"),
            ])
            .await
            .unwrap();
        assert_eq!(latest.len(), 3);
        let version_of = |resource_type: &str, id: &str| {
            latest
                .get(&(resource_type.to_string(), id.to_string()))
                .map(|record| (record.content_id[0], record.version))
        };
        assert_eq!(version_of("Observation", "a"), Some((200, 2)), "the newest");
        assert_eq!(version_of("Observation", "o12"), Some((12, 1)));
        assert_eq!(version_of("Condition", "b"), Some((2, 1)));
        assert_eq!(version_of("Condition", "a"), None, "ids are per type");

        let event = IndexedEvent {
            block: 3,
            position: 1,
            kind: "granted".into(),
            grant_id: Some(7),
            patient: Some("aa".into()),
            ..Default::default()
        };
        index
            .insert_events(&[event.clone(), event.clone()])
            .await
            .unwrap();
        assert_eq!(index.events(&["granted"]).await.unwrap(), vec![event]);
        assert!(index.knows(None, Some(7)).await.unwrap());
        assert!(!index.knows(Some(7), None).await.unwrap());

        index.mark_shared(&[[1; 32]], 7).await.unwrap();
        index.mark_shared(&[[1; 32]], 7).await.unwrap();
        assert_eq!(index.shared_under(7).await.unwrap(), vec![[1; 32]]);
        let broken = EmergencyEntry {
            id: 3,
            patient: "aa".into(),
            responder: "bb".into(),
            purpose: "ETREAT".into(),
            expires_ms: 10,
            block: 4,
            review: "pending".into(),
            reviewer: None,
            full_access_ms: None,
            full_access: None,
        };
        assert!(index.keep_break_glass(&broken).await.unwrap());
        assert!(!index.keep_break_glass(&broken).await.unwrap());
        assert!(index.knows_break_glass(3).await.unwrap());
        index.review_break_glass(3, "flagged", "aa").await.unwrap();
        let with_full_access = EmergencyEntry {
            id: 4,
            full_access_ms: Some(8),
            ..broken.clone()
        };
        assert!(index.keep_break_glass(&with_full_access).await.unwrap());
        index.set_full_access(3, "shared").await.unwrap();
        let kept = index.break_glasses().await.unwrap();
        assert_eq!(kept.len(), 2);
        assert_eq!(
            (kept[0].full_access_ms, kept[0].full_access.as_deref()),
            (Some(8), Some("scheduled"))
        );
        index.set_full_access(4, "vetoed").await.unwrap();
        let kept = index.break_glasses().await.unwrap();
        assert_eq!(kept[0].full_access.as_deref(), Some("vetoed"));
        let kept = &kept[1..];
        assert_eq!(kept[0].review, "flagged");
        assert_eq!(kept[0].reviewer.as_deref(), Some("aa"));
        assert_eq!(
            (kept[0].full_access_ms, kept[0].full_access.as_deref()),
            (None, None)
        );
        index.set_setting("next_block", "9").await.unwrap();
        index.set_setting("next_block", "10").await.unwrap();
        assert_eq!(
            index.setting("next_block").await.unwrap().as_deref(),
            Some("10")
        );
    }

    #[tokio::test]
    async fn the_sqlite_index_keeps_records_events_and_settings() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("index.db").display());
        exercise(Index::open(&url).await.unwrap()).await;
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn the_sqlite_index_and_its_journal_are_readable_by_their_owner_alone() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index.db");
        // An index left readable by everyone is narrowed when opened.
        std::fs::write(&path, b"").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let index = Index::open(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        index.set_setting("next_block", "1").await.unwrap();
        for name in ["index.db", "index.db-wal", "index.db-shm"] {
            let mode = std::fs::metadata(dir.path().join(name))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{name}");
        }
        let fresh = dir.path().join("fresh.db");
        Index::open(&format!("sqlite://{}", fresh.display()))
            .await
            .unwrap();
        let mode = std::fs::metadata(&fresh).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    /// Runs against the PostgreSQL server the test command starts
    /// (`MEDIGATE_TEST_POSTGRES_URL`); without it, the test says so and
    /// passes only outside CI.
    #[tokio::test]
    async fn the_postgres_index_keeps_records_events_and_settings() {
        let Ok(url) = std::env::var("MEDIGATE_TEST_POSTGRES_URL") else {
            assert!(
                std::env::var_os("MEDIGATE_REQUIRE_POSTGRES").is_none(),
                "MEDIGATE_TEST_POSTGRES_URL is not set"
            );
            eprintln!("MEDIGATE_TEST_POSTGRES_URL is not set: the PostgreSQL index is not tested");
            return;
        };
        let index = Index::open(&url).await.unwrap();
        for table in [
            "records",
            "imports",
            "events",
            "shared",
            "settings",
            "emergencies",
            "full_access",
        ] {
            sqlx::query(&format!("DELETE FROM {table}"))
                .execute(&index.pool)
                .await
                .unwrap();
        }
        exercise(index).await;
    }
}
