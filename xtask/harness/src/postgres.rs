//! A throwaway PostgreSQL schema on a local server, for load runs with `--postgres`.
//!
//! Created and dropped with `psql`; the server connects with `search_path` set to it (the
//! same isolation game-persistence's tests use).

use std::process::Command;

use anyhow::{Context, bail};

/// A schema that is dropped (with everything in it) when this value is dropped.
pub struct Schema {
    admin_url: String,
    name: String,
}

impl Schema {
    /// Creates schema `name` on the server of `admin_url`, which must be on loopback.
    pub fn create(admin_url: &str, name: &str) -> anyhow::Result<Schema> {
        anyhow::ensure!(
            is_loopback_url(admin_url),
            "--postgres must point at 127.0.0.1 or localhost (got {admin_url})"
        );
        psql(admin_url, &format!("CREATE SCHEMA {name}"))?;
        Ok(Schema {
            admin_url: admin_url.to_owned(),
            name: name.to_owned(),
        })
    }

    /// The URL a server uses to work inside this schema.
    pub fn url(&self) -> String {
        let separator = if self.admin_url.contains('?') {
            '&'
        } else {
            '?'
        };
        format!(
            "{}{separator}options=-csearch_path%3D{}",
            self.admin_url, self.name
        )
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        if let Err(error) = psql(
            &self.admin_url,
            &format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name),
        ) {
            eprintln!("could not drop schema {}: {error:#}", self.name);
        }
    }
}

fn psql(url: &str, sql: &str) -> anyhow::Result<()> {
    psql_output(url, sql).map(drop)
}

/// Runs `sql` with `psql` on `url` (stopping at the first error) and returns what it
/// printed, unaligned and without headers (`-At`), trimmed.
pub fn psql_output(url: &str, sql: &str) -> anyhow::Result<String> {
    let output = Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-q", "-At", "-c", sql])
        .output()
        .context("running psql (is the PostgreSQL client installed?)")?;
    if !output.status.success() {
        bail!(
            "psql -c {sql:?} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// True if the URL's host is `127.0.0.1`, `localhost` or `[::1]`.
fn is_loopback_url(url: &str) -> bool {
    let Some(rest) = url.split_once("://").map(|(_, rest)| rest) else {
        return false;
    };
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        host_port.split(':').next().unwrap_or_default()
    };
    matches!(host, "127.0.0.1" | "localhost" | "::1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_servers_are_accepted() {
        assert!(is_loopback_url("postgres://postgres@127.0.0.1:5432/test"));
        assert!(is_loopback_url(
            "postgres://u:p@localhost/db?sslmode=disable"
        ));
        assert!(is_loopback_url("postgres://[::1]:5432/db"));
        assert!(!is_loopback_url("postgres://postgres@db.example:5432/test"));
        assert!(!is_loopback_url("postgres://10.0.0.5/test"));
        assert!(!is_loopback_url("not a url"));
    }
}
