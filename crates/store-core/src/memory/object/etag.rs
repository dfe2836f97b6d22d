//! Content etags: a quoted 128-bit hex digest that is stable across runs and platforms.

/// The etag of a body: two independent 64-bit hashes of the content, quoted like S3's.
pub(super) fn of(body: &[u8]) -> String {
    format!("\"{:016x}{:016x}\"", fnv1a(body), mix(body))
}

/// FNV-1a, 64 bits, a byte at a time.
fn fnv1a(body: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in body {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// A word-at-a-time multiply-rotate hash, finished with the length and an avalanche step.
fn mix(body: &[u8]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut h: u64 = 0x243f_6a88_85a3_08d3;
    let mut words = body.chunks_exact(8);
    for word in &mut words {
        let mut w = [0u8; 8];
        w.copy_from_slice(word);
        h = (h ^ u64::from_le_bytes(w)).wrapping_mul(K).rotate_left(29);
    }
    let mut tail = [0u8; 8];
    tail[..words.remainder().len()].copy_from_slice(words.remainder());
    h = (h ^ u64::from_le_bytes(tail))
        .wrapping_mul(K)
        .rotate_left(29);
    h ^= body.len() as u64;
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

#[cfg(test)]
mod tests {
    use super::of;

    #[test]
    fn etag_is_quoted_hex_and_stable() {
        let etag = of(b"hello");
        assert_eq!(etag.len(), 34, "32 hex digits between quotes: {etag}");
        assert!(etag.starts_with('"') && etag.ends_with('"'));
        assert!(etag[1..33].bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(etag, of(b"hello"), "same content, same etag");
    }

    #[test]
    fn etag_differs_for_close_contents() {
        let samples: [&[u8]; 6] = [b"", b"\0", b"a", b"b", b"ab", b"ba"];
        for (i, a) in samples.iter().enumerate() {
            for b in &samples[i + 1..] {
                assert_ne!(of(a), of(b), "{a:?} and {b:?} must differ");
            }
        }
        let mut long = vec![7u8; 1000];
        let before = of(&long);
        long[999] = 8;
        assert_ne!(before, of(&long));
    }
}
