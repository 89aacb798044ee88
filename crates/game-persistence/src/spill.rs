//! Spill files (docs/persistence.md, Graceful shutdown and Spill files): what a final
//! flush could not write because the database was down, kept on local disk until the next
//! start applies it.
//!
//! Format, all text: the line `spacewars-spill v2`, the HMAC-SHA256 of the rest (hex)
//! under the database's `spill` server key, then one JSON document naming the database it
//! belongs to, the write-behind position it continues from ([`WritePosition`]) and the
//! batch. Only a process that can read the database's keys can make one the database
//! accepts: a file altered by hand (a checksum recomputed) fails its MAC and stops the
//! start. It is written with mode 0600 to a temporary file, fsynced, renamed into place
//! and the directory fsynced, so the file is either absent or complete.
//!
//! It is applied only if no batch was written since the one it continues from (nor any
//! other than its own batches whose outcome it could not learn): otherwise another process
//! took over and played on, and applying it would roll that play back; the start stops
//! and says so. Not applied row by row "where newer": a row carries no version another
//! process's rows can be compared with, and a unit of work (iron spent and the research
//! it bought, an object collected and its iron) spans rows that must stay together.
//! Applying it is one fenced transaction of idempotent writes numbered after the file,
//! so a crash before the file is removed only means it is applied again.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use game_domain::space_object::{ObjectId, SpaceObject};
use game_domain::tech_tree::TechTree;
use game_domain::user::User;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use thiserror::Error;

use crate::database::Database;
use crate::error::StoreError;
use crate::position::WritePosition;
use crate::store::Batch;

/// The spill file's name, in the spill directory.
pub const SPILL_FILE_NAME: &str = "spacewars.spill";

/// The name of the server key that signs spill files ([`Database::server_key`]).
pub const SPILL_KEY_NAME: &str = "spill";

const MAGIC: &str = "spacewars-spill v2";

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
    /// The file is not a complete spill file (truncated, another format).
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
    /// The file's MAC does not verify under this database's spill key: it was altered
    /// (or forged), or signed for another database.
    #[error(
        "spill file {path} fails its MAC under this database's spill key: it was altered \
         after it was written, or belongs to another database. It was not applied; move it \
         aside to start without it"
    )]
    Forged {
        /// The file.
        path: PathBuf,
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
    /// The database has moved past the position the file continues from: another process
    /// wrote newer state since, which the file would roll back.
    #[error(
        "spill file {path} is stale: it continues from write-behind batch {spilled:?}, but \
         the database has had newer batches written since (now {batches} in all, the last \
         {current:?}), by a process that took over. Applying it would roll that play back, \
         so it was not applied; move it aside to start (its changes are lost)"
    )]
    Stale {
        /// The file.
        path: PathBuf,
        /// The batch the file continues from.
        spilled: String,
        /// The database's last batch.
        current: String,
        /// Batches the database has had written in all.
        batches: i64,
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
    /// The last batch written before the changes it holds.
    continues_from: String,
    /// Batches of the spilling process whose outcome it did not learn.
    in_doubt: Vec<String>,
    users: Vec<SpilledUser>,
    upserted_objects: Vec<SpaceObject>,
    deleted_objects: Vec<ObjectId>,
}

/// A spill file's contents, once verified.
#[derive(Debug, Clone, PartialEq)]
pub struct Spill {
    /// The name its batch gets when applied (`spill-` and the start of its MAC), so that a
    /// database whose last batch is this one had it applied already.
    pub id: String,
    /// The position it continues from.
    pub position: WritePosition,
    /// The changes.
    pub batch: Batch,
}

/// The spill file's path in `dir`.
pub fn path_in(dir: &Path) -> PathBuf {
    dir.join(SPILL_FILE_NAME)
}

/// Writes `batch` of the database `database_id`, continuing from `position`, to `path`
/// durably (mode 0600, temporary file, fsync, rename, directory fsync), signed with `key`
/// (the database's [`SPILL_KEY_NAME`] key). An existing spill file is replaced: it was
/// applied at start, or the start would have stopped.
pub fn write(
    path: &Path,
    database_id: &str,
    key: &[u8],
    position: &WritePosition,
    batch: &Batch,
) -> Result<(), SpillError> {
    let io = |source| SpillError::Io {
        path: path.to_owned(),
        source,
    };
    let document = Document {
        database_id: database_id.to_owned(),
        continues_from: position.id.clone(),
        in_doubt: position.in_doubt.clone(),
        users: batch.users.iter().map(spilled_user).collect(),
        upserted_objects: batch.upserted_objects.clone(),
        deleted_objects: batch.deleted_objects.clone(),
    };
    let json = serde_json::to_string(&document).map_err(|e| io(std::io::Error::other(e)))?;
    let text = format!("{MAGIC}\n{}\n{json}\n", hex(&mac(key, &json)));
    let temporary = path.with_extension("spill.tmp");
    // A left-over temporary file may have other permissions: start from none.
    match fs::remove_file(&temporary) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => return Err(io(error)),
        _ => {}
    }
    let mut file = private_file(&temporary).map_err(io)?;
    file.write_all(text.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)?;
    drop(file);
    fs::rename(&temporary, path).map_err(io)?;
    sync_dir(path).map_err(io)
}

/// A new file only its owner may read or write: it holds password hashes.
fn private_file(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Reads the spill file at `path`: `None` if there is none; its contents if it is
/// complete, its MAC verifies under `key` and it belongs to `database_id`.
pub fn read(path: &Path, database_id: &str, key: &[u8]) -> Result<Option<Spill>, SpillError> {
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
    let (Some(magic), Some(tag), Some(json)) = (lines.next(), lines.next(), lines.next()) else {
        return Err(corrupt(path, "incomplete"));
    };
    if magic == "spacewars-spill v1" {
        return Err(corrupt(
            path,
            "an unsigned version 1 file, which cannot be verified",
        ));
    }
    if magic != MAGIC {
        return Err(corrupt(path, "not a spacewars spill file"));
    }
    let json = json.strip_suffix('\n').unwrap_or(json);
    let Some(tag) = unhex(tag).filter(|tag| tag.len() == 32) else {
        return Err(corrupt(path, "the MAC line is not 32 bytes of hex"));
    };
    verify(key, json, &tag).map_err(|_| SpillError::Forged {
        path: path.to_owned(),
    })?;
    let document: Document =
        serde_json::from_str(json).map_err(|e| corrupt(path, &e.to_string()))?;
    if document.database_id != database_id {
        return Err(SpillError::Foreign {
            path: path.to_owned(),
            expected: database_id.to_owned(),
            found: document.database_id,
        });
    }
    Ok(Some(Spill {
        id: format!("spill-{}", hex(&tag[..16])),
        position: WritePosition {
            id: document.continues_from,
            in_doubt: document.in_doubt,
        },
        batch: Batch {
            users: document.users.into_iter().map(user).collect(),
            upserted_objects: document.upserted_objects,
            deleted_objects: document.deleted_objects,
        },
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
/// corrupt, forged, foreign or stale file is an error and is left in place.
pub async fn replay(db: &Database, path: &Path) -> Result<Option<Replayed>, SpillError> {
    let apply = |source| SpillError::Apply {
        path: path.to_owned(),
        source,
    };
    if !path.exists() {
        return Ok(None);
    }
    let database_id = db.identity().await.map_err(apply)?;
    let key = db.server_key(SPILL_KEY_NAME).await.map_err(apply)?;
    let Some(spill) = read(path, &database_id, key.as_bytes())? else {
        return Ok(None);
    };
    // The batch that applies the file is named after it: after a crash before the file
    // was removed, the database's last batch is this one, and it is applied again.
    let (batches, current) = db.read_flush_position().await.map_err(apply)?;
    if current != spill.id && !spill.position.is_current(&current) {
        return Err(SpillError::Stale {
            path: path.to_owned(),
            spilled: spill.position.id,
            current,
            batches,
        });
    }
    let batch = spill.batch;
    let replayed = Replayed {
        users: batch.users.len(),
        upserted_objects: batch.upserted_objects.len(),
        deleted_objects: batch.deleted_objects.len(),
    };
    db.write_numbered_batch(batch, spill.id)
        .await
        .map_err(apply)?;
    // Applied: a crash before this line only means applying it again (idempotent).
    fs::remove_file(path)
        .and_then(|()| sync_dir(path))
        .map_err(|source| SpillError::Io {
            path: path.to_owned(),
            source,
        })?;
    Ok(Some(replayed))
}

fn mac(key: &[u8], text: &str) -> Vec<u8> {
    keyed(key, text).finalize().into_bytes().to_vec()
}

/// Constant-time comparison of `tag` with the MAC of `text`.
fn verify(key: &[u8], text: &str, tag: &[u8]) -> Result<(), hmac::digest::MacError> {
    keyed(key, text).verify_slice(tag)
}

fn keyed(key: &[u8], text: &str) -> Hmac<Sha256> {
    // HMAC takes keys of any length: `new_from_slice` cannot fail for it.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(text.as_bytes());
    mac
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
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
