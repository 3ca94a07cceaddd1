//! The id that ties one request's log lines, audit record and error body together.

use std::fmt;

/// A request id, either accepted from the caller's `x-request-id` or newly made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestId(String);

impl RequestId {
    pub fn new() -> Self {
        let mut bytes = [0u8; 16];
        crate::ids::fill_id_random(&mut bytes);
        // UUID v4 layout so log tooling recognises it.
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = String::with_capacity(36);
        for (i, b) in bytes.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                out.push('-');
            }
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
        Self(out)
    }

    /// Accepts a caller-supplied id only if it is short and made of safe characters, so it can
    /// go into logs and headers without escaping. Anything else gets a fresh id.
    pub fn from_caller(value: &str) -> Option<Self> {
        let ok = (1..=128).contains(&value.len())
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
        ok.then(|| Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl Default for RequestId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_look_like_uuid_v4() {
        let id = RequestId::new();
        let s = id.as_str();
        assert_eq!(s.len(), 36);
        assert_eq!(&s[14..15], "4");
        assert_ne!(RequestId::new(), id);
    }

    #[test]
    fn caller_ids_are_accepted_only_when_safe() {
        assert!(RequestId::from_caller("abc-123_x.y:z").is_some());
        assert!(RequestId::from_caller("").is_none());
        assert!(RequestId::from_caller("has space").is_none());
        assert!(RequestId::from_caller("new\nline").is_none());
        assert!(RequestId::from_caller(&"a".repeat(129)).is_none());
    }
}
