//! JSON lines, written directly: `preview --format json` spends most of its
//! time escaping subjects, texts and HTML, so strings are escaped eight bytes
//! at a time (output identical to serde_json's, which a test checks).

/// Append `s` as a JSON string literal.
pub fn string(out: &mut Vec<u8>, s: &str) {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut start = 0; // first byte not yet copied
    let mut i = 0;
    while i < bytes.len() {
        if i + 8 <= bytes.len() {
            let mut chunk = [0u8; 8];
            chunk.copy_from_slice(&bytes[i..i + 8]);
            let x = u64::from_le_bytes(chunk);
            // Any byte < 0x20, == '"' or == '\\' in these eight? (exact "any" tests)
            let control = x.wrapping_sub(ONES * 0x20) & !x & HIGH;
            let q = x ^ (ONES * u64::from(b'"'));
            let quote = q.wrapping_sub(ONES) & !q & HIGH;
            let b = x ^ (ONES * u64::from(b'\\'));
            let backslash = b.wrapping_sub(ONES) & !b & HIGH;
            let hits = control | quote | backslash;
            if hits == 0 {
                i += 8;
                continue;
            }
            // The lowest flagged byte is exact (false flags only appear above a true one).
            i += (hits.trailing_zeros() / 8) as usize;
        }
        let byte = bytes[i];
        let escaped: Option<&[u8]> = match byte {
            b'"' => Some(b"\\\""),
            b'\\' => Some(b"\\\\"),
            b'\n' => Some(b"\\n"),
            b'\r' => Some(b"\\r"),
            b'\t' => Some(b"\\t"),
            0x08 => Some(b"\\b"),
            0x0c => Some(b"\\f"),
            0..=0x1f => None,
            _ => {
                i += 1;
                continue;
            }
        };
        out.extend_from_slice(&bytes[start..i]);
        match escaped {
            Some(e) => out.extend_from_slice(e),
            None => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(byte >> 4)]);
                out.push(HEX[usize::from(byte & 15)]);
            }
        }
        i += 1;
        start = i;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// One JSON object, field by field.
pub struct Object<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> Object<'a> {
    pub fn new(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        Object { out, first: true }
    }

    fn key(&mut self, key: &str) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        string(self.out, key);
        self.out.push(b':');
    }

    pub fn str(mut self, key: &str, value: &str) -> Self {
        self.key(key);
        string(self.out, value);
        self
    }

    /// A string, or `null`.
    pub fn opt(mut self, key: &str, value: Option<&str>) -> Self {
        self.key(key);
        match value {
            Some(v) => string(self.out, v),
            None => self.out.extend_from_slice(b"null"),
        }
        self
    }

    /// Close the object and end the line.
    pub fn end(self) {
        self.out.extend_from_slice(b"}\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ours(s: &str) -> String {
        let mut out = Vec::new();
        string(&mut out, s);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn strings_match_serde_json_exactly() {
        let cases = [
            "",
            "plain ascii that is long enough for several chunks",
            "Αγαπητέ Σταμάτη,\nχρόνια πολλά!",
            "שרה היקרה \"quoted\" \\ back\\slash",
            "<p style=\"margin:0\">Սիրելի Արամ</p>\r\n\t",
            "\u{0}\u{1}\u{1f}\u{7f}\u{8}\u{c} emoji 🎂 and \u{2028}",
            "12345678\"",
            "\"2345678",
        ];
        for s in cases {
            assert_eq!(ours(s), serde_json::to_string(s).unwrap(), "{s:?}");
        }
        // Every single byte value in every position of a chunk.
        for c in (0u8..=0x7f).map(char::from) {
            for pos in 0..10 {
                let s: String = (0..10).map(|i| if i == pos { c } else { 'x' }).collect();
                assert_eq!(ours(&s), serde_json::to_string(&s).unwrap(), "{s:?}");
            }
        }
    }

    #[test]
    fn objects_are_valid_json_lines() {
        let mut out = Vec::new();
        Object::new(&mut out)
            .str("a", "x\"y")
            .opt("b", None)
            .opt("c", Some("ζ"))
            .end();
        let line = String::from_utf8(out).unwrap();
        assert!(line.ends_with('\n'));
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["a"], "x\"y");
        assert!(v["b"].is_null());
        assert_eq!(v["c"], "ζ");
    }
}
