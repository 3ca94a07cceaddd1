//! The two archive formats the packages ship in, written in memory: a gzipped ustar tar (npm
//! tarballs, Python sdists) and a zip with deflate (Python wheels). Entries carry a fixed
//! modification time, so the same model always gives byte-identical files (and SHA-256s).

use flate2::Compression;
use flate2::write::{DeflateEncoder, GzEncoder};
use std::io::Write;

/// 2000-01-01T00:00:00Z: a fixed time for every entry (zip cannot store times before 1980).
const FIXED_MTIME: u64 = 946_684_800;

/// One file of an archive: a `/`-separated relative path and its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub path: String,
    pub bytes: Vec<u8>,
}

impl Entry {
    pub fn new(path: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Self {
        Entry {
            path: path.into(),
            bytes: bytes.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("archive path {0:?} is longer than a tar header can hold (100 + 155 bytes)")]
    PathTooLong(String),
    #[error("archive write failed: {0}")]
    Io(#[from] std::io::Error),
}

/// A `.tar.gz` of regular files (mode 0644), in the given order.
pub fn tar_gz(entries: &[Entry]) -> Result<Vec<u8>, ArchiveError> {
    let mut tar = Vec::new();
    for entry in entries {
        tar.extend_from_slice(&ustar_header(&entry.path, entry.bytes.len() as u64)?);
        tar.extend_from_slice(&entry.bytes);
        let padding = (512 - entry.bytes.len() % 512) % 512;
        tar.resize(tar.len() + padding, 0);
    }
    // Two zero blocks end the archive.
    tar.resize(tar.len() + 1024, 0);
    let mut gzip = GzEncoder::new(Vec::new(), Compression::best());
    gzip.write_all(&tar)?;
    Ok(gzip.finish()?)
}

fn ustar_header(path: &str, size: u64) -> Result<[u8; 512], ArchiveError> {
    let mut header = [0u8; 512];
    // Paths over 100 bytes go into the prefix field, split at a `/`.
    let (prefix, name) = if path.len() <= 100 {
        ("", path)
    } else {
        let split = path
            .char_indices()
            .filter(|&(i, c)| c == '/' && i <= 155 && path.len() - i - 1 <= 100)
            .map(|(i, _)| i)
            .next()
            .ok_or_else(|| ArchiveError::PathTooLong(path.to_owned()))?;
        (&path[..split], &path[split + 1..])
    };
    header[..name.len()].copy_from_slice(name.as_bytes());
    octal(&mut header[100..108], 0o644);
    octal(&mut header[108..116], 0);
    octal(&mut header[116..124], 0);
    octal(&mut header[124..136], size);
    octal(&mut header[136..148], FIXED_MTIME);
    header[156] = b'0';
    header[257..263].copy_from_slice(b"ustar\0");
    header[263..265].copy_from_slice(b"00");
    header[345..345 + prefix.len()].copy_from_slice(prefix.as_bytes());
    // The checksum is computed with its own field as spaces.
    header[148..156].copy_from_slice(b"        ");
    let sum: u32 = header.iter().map(|&b| u32::from(b)).sum();
    let digits = format!("{sum:06o}\0 ");
    header[148..156].copy_from_slice(digits.as_bytes());
    Ok(header)
}

/// Zero-padded octal digits and a NUL terminator filling `field`.
fn octal(field: &mut [u8], value: u64) {
    let digits = format!("{value:0width$o}\0", width = field.len() - 1);
    field.copy_from_slice(digits.as_bytes());
}

/// A `.zip` with every entry deflated, in the given order.
pub fn zip(entries: &[Entry]) -> Result<Vec<u8>, ArchiveError> {
    // MS-DOS time and date of FIXED_MTIME: 2000-01-01 00:00:00.
    const DOS_TIME: u16 = 0;
    const DOS_DATE: u16 = ((2000 - 1980) << 9) | (1 << 5) | 1;
    let mut out = Vec::new();
    let mut central = Vec::new();
    for entry in entries {
        let mut deflate = DeflateEncoder::new(Vec::new(), Compression::best());
        deflate.write_all(&entry.bytes)?;
        let compressed = deflate.finish()?;
        let crc = crc32fast::hash(&entry.bytes);
        let offset = u32_field(out.len())?;
        let name = entry.path.as_bytes();
        let (compressed_len, len, name_len) = (
            u32_field(compressed.len())?,
            u32_field(entry.bytes.len())?,
            u16_field(name.len())?,
        );

        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        out.extend_from_slice(&20u16.to_le_bytes()); // version needed: 2.0
        out.extend_from_slice(&0u16.to_le_bytes()); // flags
        out.extend_from_slice(&8u16.to_le_bytes()); // deflate
        out.extend_from_slice(&DOS_TIME.to_le_bytes());
        out.extend_from_slice(&DOS_DATE.to_le_bytes());
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&compressed_len.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&name_len.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes()); // extra length
        out.extend_from_slice(name);
        out.extend_from_slice(&compressed);

        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&((3u16 << 8) | 20).to_le_bytes()); // made by: Unix, 2.0
        central.extend_from_slice(&20u16.to_le_bytes());
        central.extend_from_slice(&0u16.to_le_bytes());
        central.extend_from_slice(&8u16.to_le_bytes());
        central.extend_from_slice(&DOS_TIME.to_le_bytes());
        central.extend_from_slice(&DOS_DATE.to_le_bytes());
        central.extend_from_slice(&crc.to_le_bytes());
        central.extend_from_slice(&compressed_len.to_le_bytes());
        central.extend_from_slice(&len.to_le_bytes());
        central.extend_from_slice(&name_len.to_le_bytes());
        central.extend_from_slice(&0u16.to_le_bytes()); // extra
        central.extend_from_slice(&0u16.to_le_bytes()); // comment
        central.extend_from_slice(&0u16.to_le_bytes()); // disk
        central.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
        central.extend_from_slice(&((0o100_644u32) << 16).to_le_bytes()); // -rw-r--r--
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name);
    }
    let central_offset = u32_field(out.len())?;
    let central_len = u32_field(central.len())?;
    let count = u16_field(entries.len())?;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&central_len.to_le_bytes());
    out.extend_from_slice(&central_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    Ok(out)
}

fn u32_field(n: usize) -> Result<u32, ArchiveError> {
    u32::try_from(n).map_err(|_| std::io::Error::other("zip entry over 4 GiB").into())
}

fn u16_field(n: usize) -> Result<u16, ArchiveError> {
    u16::try_from(n).map_err(|_| std::io::Error::other("zip field over 65535").into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::{DeflateDecoder, GzDecoder};
    use std::io::Read;

    #[test]
    fn tar_gz_round_trips_through_a_reader_and_has_valid_checksums() {
        let long = format!("package/{}/index.js", "d".repeat(120));
        let entries = [
            Entry::new("package/package.json", b"{}".to_vec()),
            Entry::new(long.clone(), vec![b'x'; 600]),
        ];
        let mut tar = Vec::new();
        GzDecoder::new(&tar_gz(&entries).unwrap()[..])
            .read_to_end(&mut tar)
            .unwrap();
        assert_eq!(tar.len() % 512, 0);
        // First header: name, size, checksum.
        assert_eq!(&tar[..20], b"package/package.json");
        let header = &tar[..512];
        let stored =
            u32::from_str_radix(std::str::from_utf8(&header[148..154]).unwrap().trim(), 8).unwrap();
        let mut blank = header.to_vec();
        blank[148..156].copy_from_slice(b"        ");
        assert_eq!(stored, blank.iter().map(|&b| u32::from(b)).sum::<u32>());
        // Second header at 1024 (2 bytes of data pad to one block): the long path is split.
        let second = &tar[1024..1536];
        let name = String::from_utf8_lossy(&second[..100])
            .trim_end_matches('\0')
            .to_string();
        let prefix = String::from_utf8_lossy(&second[345..500])
            .trim_end_matches('\0')
            .to_string();
        assert_eq!(format!("{prefix}/{name}"), long);
        assert_eq!(&tar[1536..1536 + 600], &[b'x'; 600][..]);
        // Deterministic.
        assert_eq!(tar_gz(&entries).unwrap(), tar_gz(&entries).unwrap());
    }

    #[test]
    fn a_path_that_cannot_be_split_is_refused() {
        let path = "x".repeat(300);
        assert!(matches!(
            tar_gz(&[Entry::new(path, Vec::new())]),
            Err(ArchiveError::PathTooLong(_))
        ));
    }

    #[test]
    fn zip_entries_inflate_back_with_their_crc() {
        let entries = [
            Entry::new("a/__init__.py", b"print('hello')\n".repeat(40)),
            Entry::new("a-1.0.dist-info/RECORD", b"".to_vec()),
        ];
        let zip = zip(&entries).unwrap();
        // Walk the local headers.
        let mut at = 0;
        for entry in &entries {
            assert_eq!(&zip[at..at + 4], &0x0403_4b50u32.to_le_bytes());
            let field = |o: usize| u32::from_le_bytes(zip[at + o..at + o + 4].try_into().unwrap());
            let (crc, compressed, len) = (field(14), field(18) as usize, field(22) as usize);
            let name_len = u16::from_le_bytes([zip[at + 26], zip[at + 27]]) as usize;
            assert_eq!(&zip[at + 30..at + 30 + name_len], entry.path.as_bytes());
            let data = &zip[at + 30 + name_len..at + 30 + name_len + compressed];
            let mut inflated = Vec::new();
            DeflateDecoder::new(data)
                .read_to_end(&mut inflated)
                .unwrap();
            assert_eq!(inflated, entry.bytes);
            assert_eq!(len, entry.bytes.len());
            assert_eq!(crc, crc32fast::hash(&entry.bytes));
            at += 30 + name_len + compressed;
        }
        // Then the central directory and its end record naming two entries.
        assert_eq!(&zip[at..at + 4], &0x0201_4b50u32.to_le_bytes());
        let end = zip.len() - 22;
        assert_eq!(&zip[end..end + 4], &0x0605_4b50u32.to_le_bytes());
        assert_eq!(u16::from_le_bytes([zip[end + 10], zip[end + 11]]), 2);
    }
}
