//! Spill files (docs/persistence.md, Graceful shutdown): what a final flush could not write
//! because the database was down, kept on local disk until the next start applies it.
//!
//! Format, all text: the line `spacewars-spill v1`, the SHA-256 of the rest (hex), then
//! one JSON document naming the database it belongs to and holding the batch. It is
//! written to a temporary file, fsynced, renamed into place and the directory fsynced, so
//! the file is either absent or complete. Applying it is one fenced transaction of
//! idempotent writes (upserts, deletions), so a crash before the file is removed only means
//! it is applied again.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use game_domain::space_object::{ObjectId, SpaceObject};
use game_domain::tech_tree::TechTree;
use game_domain::user::User;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::database::Database;
use crate::error::StoreError;
use crate::store::{Batch, Store};

/// The spill file's name, in the spill directory.
pub const SPILL_FILE_NAME: &str = "spacewars.spill";

const MAGIC: &str = "spacewars-spill v1";

/// Why a spill file could not be written, read or applied.
#[derive(Debug, Error)]
pub enum SpillError {
    /// Writing or removing the file failed.
    #[error("spill file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not a complete spill file (truncated, altered, another format).
    #[error(
        "spill file {path} is corrupt ({reason}); it holds changes that were never written \
         to the database: move it aside to start without them"
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The file belongs to another database.
    #[error(
        "spill file {path} belongs to database {found}, not to this one ({expected}); start \
         the server on the database it came from, or move the file aside"
    )]
    Foreign {
        /// The file.
        path: PathBuf,
        /// This database's identity.
        expected: String,
        /// The identity in the file.
        found: String,
    },
    /// The database refused the batch; the file is kept.
    #[error("applying spill file {path} failed (the file is kept): {source}")]
    Apply {
        /// The file.
        path: PathBuf,
        /// The database's error.
        source: StoreError,
    },
}

/// A user as spilled (the domain type has no serde of its own).
#[derive(Debug, Serialize, Deserialize)]
struct SpilledUser {
    id: i64,
    username: String,
    password_hash: String,
    iron: f64,
    last_updated: i64,
    tech_tree: TechTree,
    ship_id: ObjectId,
}

/// The JSON document of a spill file.
#[derive(Debug, Serialize, Deserialize)]
struct Document {
    database_id: String,
    users: Vec<SpilledUser>,
    upserted_objects: Vec<SpaceObject>,
    deleted_objects: Vec<ObjectId>,
}

/// The spill file's path in `dir`.
pub fn path_in(dir: &Path) -> PathBuf {
    dir.join(SPILL_FILE_NAME)
}

/// Writes `batch` of the database `database_id` to `path` durably (temporary file, fsync,
/// rename, directory fsync). An existing spill file is replaced: it was applied at start,
/// or the start would have stopped.
pub fn write(path: &Path, database_id: &str, batch: &Batch) -> Result<(), SpillError> {
    let io = |source| SpillError::Io {
        path: path.to_owned(),
        source,
    };
    let document = Document {
        database_id: database_id.to_owned(),
        users: batch.users.iter().map(spilled_user).collect(),
        upserted_objects: batch.upserted_objects.clone(),
        deleted_objects: batch.deleted_objects.clone(),
    };
    let json = serde_json::to_string(&document).map_err(|e| io(std::io::Error::other(e)))?;
    let text = format!("{MAGIC}\n{}\n{json}\n", digest(&json));
    let temporary = path.with_extension("spill.tmp");
    let mut file = File::create(&temporary).map_err(io)?;
    file.write_all(text.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)?;
    drop(file);
    fs::rename(&temporary, path).map_err(io)?;
    sync_dir(path).map_err(io)
}

/// Reads the spill file at `path`: `None` if there is none; the batch if it is complete
/// and belongs to `database_id`.
pub fn read(path: &Path, database_id: &str) -> Result<Option<Batch>, SpillError> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) if error.kind() == std::io::ErrorKind::InvalidData => {
            return Err(corrupt(path, "not UTF-8 text"));
        }
        Err(source) => {
            return Err(SpillError::Io {
                path: path.to_owned(),
                source,
            });
        }
    };
    let mut lines = text.splitn(3, '\n');
    let (Some(magic), Some(sum), Some(json)) = (lines.next(), lines.next(), lines.next()) else {
        return Err(corrupt(path, "incomplete"));
    };
    if magic != MAGIC {
        return Err(corrupt(path, "not a spacewars spill file"));
    }
    let json = json.strip_suffix('\n').unwrap_or(json);
    if digest(json) != sum {
        return Err(corrupt(path, "checksum mismatch"));
    }
    let document: Document =
        serde_json::from_str(json).map_err(|e| corrupt(path, &e.to_string()))?;
    if document.database_id != database_id {
        return Err(SpillError::Foreign {
            path: path.to_owned(),
            expected: database_id.to_owned(),
            found: document.database_id,
        });
    }
    Ok(Some(Batch {
        users: document.users.into_iter().map(user).collect(),
        upserted_objects: document.upserted_objects,
        deleted_objects: document.deleted_objects,
    }))
}

/// What [`replay`] applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Replayed {
    /// User rows written.
    pub users: usize,
    /// Object rows inserted or updated.
    pub upserted_objects: usize,
    /// Object rows deleted.
    pub deleted_objects: usize,
}

/// Applies the spill file at `path`, if any, to `db` in one fenced transaction, then removes
/// it; `None` when there was none. Call it with the lease held and before serving. A
/// corrupt or foreign file is an error and is left in place.
pub async fn replay(db: &Database, path: &Path) -> Result<Option<Replayed>, SpillError> {
    let apply = |source| SpillError::Apply {
        path: path.to_owned(),
        source,
    };
    if !path.exists() {
        return Ok(None);
    }
    let database_id = db.identity().await.map_err(apply)?;
    let Some(batch) = read(path, &database_id)? else {
        return Ok(None);
    };
    let replayed = Replayed {
        users: batch.users.len(),
        upserted_objects: batch.upserted_objects.len(),
        deleted_objects: batch.deleted_objects.len(),
    };
    db.apply_batch(batch).await.map_err(apply)?;
    // Applied: a crash before this line only means applying it again (idempotent).
    fs::remove_file(path)
        .and_then(|()| sync_dir(path))
        .map_err(|source| SpillError::Io {
            path: path.to_owned(),
            source,
        })?;
    Ok(Some(replayed))
}

fn digest(json: &str) -> String {
    Sha256::digest(json.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn corrupt(path: &Path, reason: &str) -> SpillError {
    SpillError::Corrupt {
        path: path.to_owned(),
        reason: reason.to_owned(),
    }
}

/// Makes a rename or removal in `path`'s directory durable.
fn sync_dir(path: &Path) -> std::io::Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => File::open(dir)?.sync_all(),
        _ => File::open(".")?.sync_all(),
    }
}

fn spilled_user(user: &User) -> SpilledUser {
    SpilledUser {
        id: user.id,
        username: user.username.clone(),
        password_hash: user.password_hash.clone(),
        iron: user.iron,
        last_updated: user.last_updated,
        tech_tree: user.tech_tree,
        ship_id: user.ship_id,
    }
}

fn user(spilled: SpilledUser) -> User {
    User {
        id: spilled.id,
        username: spilled.username,
        password_hash: spilled.password_hash,
        iron: spilled.iron,
        last_updated: spilled.last_updated,
        tech_tree: spilled.tech_tree,
        ship_id: spilled.ship_id,
    }
}
