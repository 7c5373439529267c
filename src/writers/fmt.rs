//! Allocation-free number formatting for the per-sample path, matching the
//! printf conversions perf uses (`%16lx`, `%5d`, `%10lu`, `%03d`, `%06lu`).

/// Appends `v` in lowercase hex, right-aligned in `width` with spaces.
pub fn hex_padded(out: &mut Vec<u8>, v: u64, width: usize) {
    // Two digits a step from the low byte up, right-aligned in a field of
    // 16 (every u64 fits), so perf's common `%16lx` is one fixed-size copy.
    let mut tmp = [b' '; 16];
    let mut i = tmp.len();
    let mut x = v;
    while x >= 0x10 {
        i -= 2;
        tmp[i..i + 2].copy_from_slice(&HEX_PAIRS[(x & 0xff) as usize]);
        x >>= 8;
    }
    if x != 0 || i == tmp.len() {
        i -= 1;
        tmp[i] = HEX_PAIRS[x as usize][1];
    }
    if width == tmp.len() {
        out.extend_from_slice(&tmp);
        return;
    }
    pad(out, width, tmp.len() - i, b' ');
    out.extend_from_slice(&tmp[i..]);
}

/// The two lowercase hex digits of every byte.
const HEX_PAIRS: [[u8; 2]; 256] = {
    let digits = b"0123456789abcdef";
    let mut pairs = [[0u8; 2]; 256];
    let mut b = 0;
    while b < 256 {
        pairs[b] = [digits[b >> 4], digits[b & 15]];
        b += 1;
    }
    pairs
};

/// Appends `v` in lowercase hex without padding.
pub fn hex(out: &mut Vec<u8>, v: u64) {
    hex_padded(out, v, 0)
}

/// Appends the unsigned decimal `v`, right-aligned in `width` with `fill`.
pub fn dec_padded(out: &mut Vec<u8>, v: u64, width: usize, fill: u8) {
    aligned(out, itoa::Buffer::new().format(v).as_bytes(), width, fill);
}

/// Appends `v` (below a million) as six decimal digits, zero-padded
/// (printf `%06lu` of a timestamp's microseconds), two digits a step.
pub fn dec6(out: &mut Vec<u8>, v: u64) {
    debug_assert!(v < 1_000_000);
    let pair = |p: u64| DEC_PAIRS[(p % 100) as usize];
    let (a, b, c) = (pair(v / 10_000), pair(v / 100), pair(v));
    out.extend_from_slice(&[a[0], a[1], b[0], b[1], c[0], c[1]]);
}

/// The two decimal digits of every number below 100.
const DEC_PAIRS: [[u8; 2]; 100] = {
    let mut pairs = [[0u8; 2]; 100];
    let mut n = 0;
    while n < 100 {
        pairs[n] = [b'0' + (n / 10) as u8, b'0' + (n % 10) as u8];
        n += 1;
    }
    pairs
};

/// Appends the signed decimal `v` right-aligned in `width` (printf `%5d`).
pub fn signed_padded(out: &mut Vec<u8>, v: i64, width: usize) {
    aligned(out, itoa::Buffer::new().format(v).as_bytes(), width, b' ');
}

/// Appends `s` right-aligned in `width` (printf `%16s`).
pub fn str_padded(out: &mut Vec<u8>, s: &[u8], width: usize) {
    aligned(out, s, width, b' ');
}

/// `s` after as many `fill` bytes as it is short of `width`.
fn aligned(out: &mut Vec<u8>, s: &[u8], width: usize, fill: u8) {
    pad(out, width, s.len(), fill);
    out.extend_from_slice(s);
}

fn pad(out: &mut Vec<u8>, width: usize, len: usize, fill: u8) {
    if width > len {
        out.resize(out.len() + (width - len), fill);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_printf() {
        let mut b = Vec::new();
        hex_padded(&mut b, 0x11d7, 16);
        assert_eq!(b, b"            11d7");
        b.clear();
        hex_padded(&mut b, 0xffffffff821f5b65, 16);
        assert_eq!(b, b"ffffffff821f5b65");
        b.clear();
        hex_padded(&mut b, 0, 16);
        hex_padded(&mut b, 0, 0);
        hex_padded(&mut b, 0x10, 1);
        hex_padded(&mut b, 0xabc, 20);
        assert_eq!(b, b"               0010                 abc");
        b.clear();
        dec_padded(&mut b, 57, 5, b' ');
        dec_padded(&mut b, 79503, 6, b'0');
        assert_eq!(b, b"   57079503");
        b.clear();
        signed_padded(&mut b, -1, 5);
        assert_eq!(b, b"   -1");
        b.clear();
        str_padded(&mut b, b"a", 3);
        assert_eq!(b, b"  a");
    }

    #[test]
    fn six_digits_as_printf_06() {
        let mut b = Vec::new();
        for v in (0..1_000_000).step_by(7).chain([0, 9, 10, 99, 100, 999_999]) {
            b.clear();
            dec6(&mut b, v);
            assert_eq!(b, format!("{v:06}").into_bytes(), "{v}");
        }
    }
}
