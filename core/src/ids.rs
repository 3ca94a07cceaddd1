//! Identifiers: a readable type prefix and 26 characters of Crockford base32 holding 48 bits of
//! millisecond time and 80 random bits, so ids sort by creation time (ULID layout). Within one
//! process ids are strictly increasing, even inside one millisecond.

use std::sync::Mutex;
use time::OffsetDateTime;

static LAST: Mutex<u128> = Mutex::new(0);

thread_local! {
    /// xoshiro256** state, seeded from the OS once per thread.
    static ID_RNG: std::cell::Cell<[u64; 4]> = std::cell::Cell::new(seed());
}

fn seed() -> [u64; 4] {
    let mut bytes = [0u8; 32];
    crate::secret::fill_random(&mut bytes);
    let mut state = [0u64; 4];
    for (word, chunk) in state.iter_mut().zip(bytes.chunks_exact(8)) {
        let mut eight = [0u8; 8];
        eight.copy_from_slice(chunk);
        *word = u64::from_le_bytes(eight) | 1;
    }
    state
}

/// Random bytes for identifiers (ids, request ids): unique and hard to guess, but not secrets,
/// so a per-thread generator seeded from the OS replaces a system call per id. Secrets use the
/// OS CSPRNG directly ([`crate::secret`]).
pub fn fill_id_random(buf: &mut [u8]) {
    ID_RNG.with(|cell| {
        let mut s = cell.get();
        for chunk in buf.chunks_mut(8) {
            let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
            let t = s[1] << 17;
            s[2] ^= s[0];
            s[3] ^= s[1];
            s[1] ^= s[2];
            s[0] ^= s[3];
            s[2] ^= t;
            s[3] = s[3].rotate_left(45);
            chunk.copy_from_slice(&result.to_le_bytes()[..chunk.len()]);
        }
        cell.set(s);
    });
}

const CROCKFORD: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// A new time-ordered id such as `prt_01jd8x…`.
pub fn new_id(prefix: &str) -> String {
    let millis = u128::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000)
        .unwrap_or_default()
        & ((1 << 48) - 1);
    let mut random = [0u8; 10];
    fill_id_random(&mut random);
    let mut value = millis << 80;
    for (i, byte) in random.iter().enumerate() {
        value |= u128::from(*byte) << (8 * (9 - i));
    }
    // A poisoned lock only means another thread panicked mid-update; the value is still usable.
    let mut last = LAST
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if value <= *last {
        value = *last + 1;
    }
    *last = value;
    drop(last);
    let mut out = String::with_capacity(prefix.len() + 27);
    out.push_str(prefix);
    out.push('_');
    for i in (0..26).rev() {
        let index = ((value >> (5 * i)) & 0x1f) as usize;
        out.push(char::from(CROCKFORD[index]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_prefix_fixed_length_and_are_unique() {
        let a = new_id("prt");
        let b = new_id("prt");
        assert!(a.starts_with("prt_"));
        assert_eq!(a.len(), 4 + 26);
        assert_ne!(a, b);
        assert!(a[4..].bytes().all(|c| CROCKFORD.contains(&c)));
    }

    #[test]
    fn ids_sort_by_creation_time_even_within_a_millisecond() {
        let ids: Vec<String> = (0..1000).map(|_| new_id("x")).collect();
        assert!(
            ids.windows(2).all(|w| w[0] < w[1]),
            "ids must strictly increase"
        );
    }
}
