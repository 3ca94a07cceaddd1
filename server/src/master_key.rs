//! The master key that seals signing keys at rest: `PORTICO_MASTER_KEY`, or a key file kept
//! beside the SQLite database (`portico.key`, mode 0600), created on first use. Replicas
//! sharing a PostgreSQL database must all be given the same `PORTICO_MASTER_KEY`.

use crate::config::Config;
use anyhow::Context as _;
use portico_core::tokens::keys::KeySealer;
use std::io::Write as _;
use std::path::PathBuf;

pub fn load_sealer(config: &Config) -> anyhow::Result<KeySealer> {
    if let Some(key) = &config.master_key {
        return Ok(KeySealer::from_base64(&key.0)?);
    }
    let path = key_file_path(config);
    match std::fs::read_to_string(&path) {
        Ok(text) => KeySealer::from_base64(&text)
            .with_context(|| format!("invalid master key file {}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let encoded = KeySealer::generate_base64();
            write_new_key_file(&path, &encoded)
                .with_context(|| format!("cannot create the master key file {}", path.display()))?;
            tracing::info!(path = %path.display(), "created the master key file; back it up with the database");
            Ok(KeySealer::from_base64(&encoded)?)
        }
        Err(e) => {
            Err(e).with_context(|| format!("cannot read the master key file {}", path.display()))
        }
    }
}

/// Beside the SQLite file, or `./data/portico.key` for PostgreSQL.
fn key_file_path(config: &Config) -> PathBuf {
    let dir = config
        .database_url
        .sqlite_path()
        .and_then(|p| p.parent().map(std::path::Path::to_path_buf))
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| PathBuf::from("data"));
    dir.join("portico.key")
}

fn write_new_key_file(path: &std::path::Path, encoded: &str) -> std::io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(encoded.as_bytes())?;
    file.sync_all()
}
