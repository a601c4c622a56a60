//! Bytes as spreadsheets save them → UTF-8, streamed.
//!
//! A BOM decides (UTF-8, UTF-16 LE/BE); without one, the encoding named in
//! greet.toml (windows-1253, windows-1255, …) decodes the file; without
//! either, the file must be UTF-8 and every cell is checked. There is no
//! guessing: windows-1253 and ISO-8859-7 differ exactly on "Ά", so a guess
//! can turn Άννα into ’ννα. Decoding is strict — a byte that is not valid in
//! the encoding stops the read with its line — and streamed, so memory does
//! not grow with the file.
use std::io::{self, BufRead, Read};

use encoding_rs::{DecoderResult, Encoding, UTF_8, UTF_16BE, UTF_16LE};

/// What the start of the file said about its encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detected {
    /// UTF-8 (with or without BOM): read as is, checked cell by cell.
    Utf8 { bom: bool },
    /// Decoded through encoding_rs: UTF-16 with BOM, or the configured encoding.
    Decoded(&'static Encoding),
}

/// Look at the first bytes (consuming a BOM) and decide how to read the rest.
pub fn detect(
    input: &mut impl BufRead,
    configured: Option<&'static Encoding>,
) -> io::Result<Detected> {
    let head = input.fill_buf()?;
    let (detected, bom_len) = if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
        (Detected::Utf8 { bom: true }, 3)
    } else if head.starts_with(&[0xFF, 0xFE]) {
        (Detected::Decoded(UTF_16LE), 2)
    } else if head.starts_with(&[0xFE, 0xFF]) {
        (Detected::Decoded(UTF_16BE), 2)
    } else {
        match configured {
            Some(enc) if enc != UTF_8 => (Detected::Decoded(enc), 0),
            _ => (Detected::Utf8 { bom: false }, 0),
        }
    };
    input.consume(bom_len);
    Ok(detected)
}

/// A `Read` that decodes its input to UTF-8, refusing malformed bytes.
pub struct Decoding<R> {
    inner: R,
    decoder: encoding_rs::Decoder,
    encoding: &'static Encoding,
    /// Decoded bytes not yet handed out.
    out: Vec<u8>,
    pos: usize,
    /// Lines decoded so far (for the error message).
    lines: u64,
    done: bool,
}

impl<R: BufRead> Decoding<R> {
    pub fn new(inner: R, encoding: &'static Encoding) -> Self {
        Decoding {
            inner,
            // The BOM was consumed by `detect`; decode without sniffing again.
            decoder: encoding.new_decoder_without_bom_handling(),
            encoding,
            out: Vec::with_capacity(1 << 16),
            pos: 0,
            lines: 1,
            done: false,
        }
    }

    fn refill(&mut self) -> io::Result<()> {
        self.out.clear();
        self.pos = 0;
        while self.out.is_empty() && !self.done {
            let src = self.inner.fill_buf()?;
            let last = src.is_empty();
            let cap = self
                .decoder
                .max_utf8_buffer_length_without_replacement(src.len())
                .unwrap_or(src.len() * 3 + 16);
            self.out.resize(cap, 0);
            let (result, read, written) =
                self.decoder
                    .decode_to_utf8_without_replacement(src, &mut self.out, last);
            self.out.truncate(written);
            self.lines += self.out.iter().filter(|b| **b == b'\n').count() as u64;
            self.inner.consume(read);
            match result {
                DecoderResult::InputEmpty => self.done = last,
                DecoderResult::OutputFull => {}
                DecoderResult::Malformed(_, _) => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "line {}: bytes that are not valid {}",
                            self.lines,
                            self.encoding.name()
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}

impl<R: BufRead> Read for Decoding<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.out.len() {
            self.refill()?;
        }
        let n = buf.len().min(self.out.len() - self.pos);
        buf[..n].copy_from_slice(&self.out[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Turns CRLF line ends into LF, so that line numbers count the way an
/// editor shows them (the CSV reader otherwise counts a CRLF row's line
/// from the line before). A lone CR is left as it is.
pub struct CrlfToLf<R> {
    inner: R,
    /// A CR read at the end of the last chunk, not yet known to precede an LF.
    pending_cr: bool,
}

impl<R: Read> CrlfToLf<R> {
    pub fn new(inner: R) -> Self {
        CrlfToLf {
            inner,
            pending_cr: false,
        }
    }
}

impl<R: Read> Read for CrlfToLf<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.len() < 2 {
            return self.inner.read(buf);
        }
        loop {
            // A CR held from the last chunk goes first, tentatively.
            let start = usize::from(self.pending_cr);
            if self.pending_cr {
                buf[0] = b'\r';
            }
            let n = self.inner.read(&mut buf[start..])?;
            let held = std::mem::replace(&mut self.pending_cr, false);
            if n == 0 {
                return Ok(usize::from(held));
            }
            let end = start + n;
            // Most files have no CR at all: the chunk passes through untouched
            // (`contains` on bytes is a fast memchr).
            if !buf[..end].contains(&b'\r') {
                return Ok(end);
            }
            let first_cr = buf[..end].iter().position(|&b| b == b'\r').unwrap_or(end);
            let (mut r, mut w) = (first_cr, first_cr);
            while r < end {
                let b = buf[r];
                if b == b'\r' {
                    if r + 1 == end {
                        self.pending_cr = true; // decide with the next chunk
                        r += 1;
                        continue;
                    }
                    if buf[r + 1] == b'\n' {
                        r += 1;
                        continue;
                    }
                }
                buf[w] = b;
                w += 1;
                r += 1;
            }
            if w > 0 {
                return Ok(w);
            }
        }
    }
}

/// The delimiter of a CSV file, from its header line: `,` `;` or tab,
/// whichever occurs most outside quotes (a comma on a tie).
pub fn sniff_delimiter(header_line: &[u8]) -> u8 {
    let mut counts = [0usize; 3];
    let mut quoted = false;
    for &b in header_line {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => break,
            b',' if !quoted => counts[0] += 1,
            b';' if !quoted => counts[1] += 1,
            b'\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let best = (0..3)
        .max_by_key(|&i| (counts[i], std::cmp::Reverse(i)))
        .unwrap_or(0);
    if counts[best] == 0 {
        b','
    } else {
        [b',', b';', b'\t'][best]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(bytes: &[u8], configured: Option<&'static Encoding>) -> io::Result<String> {
        let mut input = io::BufReader::new(bytes);
        let mut out = String::new();
        match detect(&mut input, configured)? {
            Detected::Utf8 { .. } => input.read_to_string(&mut out)?,
            Detected::Decoded(enc) => Decoding::new(input, enc).read_to_string(&mut out)?,
        };
        Ok(out)
    }

    #[test]
    fn a_bom_decides_the_encoding() {
        let mut le = vec![0xFF, 0xFE];
        for u in "Άννα,שרה".encode_utf16() {
            le.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(decode_all(&le, None).unwrap(), "Άννα,שרה");
        let mut be = vec![0xFE, 0xFF];
        for u in "Արամ".encode_utf16() {
            be.extend_from_slice(&u.to_be_bytes());
        }
        assert_eq!(decode_all(&be, None).unwrap(), "Արամ");
        assert_eq!(decode_all("\u{feff}Άννα".as_bytes(), None).unwrap(), "Άννα");
    }

    #[test]
    fn windows_1253_keeps_the_accented_capital_alpha() {
        // 0xA2 is "Ά" in windows-1253 (and "’" would be the ISO-8859-7 reading).
        let bytes = [0xA2, 0xED, 0xED, 0xE1];
        let enc = Encoding::for_label(b"windows-1253");
        assert_eq!(decode_all(&bytes, enc).unwrap(), "Άννα");
    }

    #[test]
    fn malformed_bytes_stop_the_read_with_their_line() {
        // windows-1255 has no character at 0xFF.
        let bytes = b"a\nb\n\xFF\n";
        let err = decode_all(bytes, Encoding::for_label(b"windows-1255")).unwrap_err();
        assert!(err.to_string().contains("line 3"), "{err}");
    }

    #[test]
    fn crlf_becomes_lf_across_any_chunking() {
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = self.0.len().min(1).min(buf.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let input = b"a\r\nb\rc\r\r\nd\r";
        let mut out = String::new();
        CrlfToLf::new(Trickle(input))
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, "a\nb\rc\r\nd\r");
        let mut out = String::new();
        CrlfToLf::new(&input[..]).read_to_string(&mut out).unwrap();
        assert_eq!(out, "a\nb\rc\r\nd\r");
    }

    #[test]
    fn the_delimiter_comes_from_the_header_line() {
        assert_eq!(sniff_delimiter(b"email,first_name,birthday\n"), b',');
        assert_eq!(sniff_delimiter(b"email;first_name;\"a,b\"\n"), b';');
        assert_eq!(sniff_delimiter(b"email\tfirst_name\n"), b'\t');
        assert_eq!(sniff_delimiter(b"email\n"), b',');
    }
}
