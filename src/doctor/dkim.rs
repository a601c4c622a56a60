//! A DKIM key record (RFC 6376 §3.6.1) at `SELECTOR._domainkey.DOMAIN`:
//! `v=DKIM1; k=rsa; p=BASE64`. What matters for delivery: the record is
//! there, `p=` holds a key a verifier can use (an RSA key of at least 1024
//! bits, RFC 8301; 2048 recommended; or an Ed25519 key, RFC 8463), and it
//! is not revoked (`p=` empty).
use base64::Engine as _;

/// What the key record says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    Rsa {
        bits: usize,
    },
    Ed25519,
    /// `p=` is empty: the key was withdrawn.
    Revoked,
}

/// Read the tag list; the error says what is wrong, in words.
pub fn parse(record: &str) -> Result<Key, String> {
    let mut tags: Vec<(String, String)> = Vec::new();
    for part in record.split(';') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let Some((name, value)) = part.split_once('=') else {
            return Err(format!("\"{part}\" is not a tag=value pair"));
        };
        let name = name.trim().to_ascii_lowercase();
        if value
            .split_whitespace()
            .skip(1)
            .any(|w| w.contains('=') && !w.starts_with('='))
        {
            return Err(format!("\"{part}\": a ; is missing between two tags"));
        }
        if tags.iter().any(|(n, _)| *n == name) {
            return Err(format!("the tag {name}= appears twice"));
        }
        // Values may be folded with white space (§3.2); keys never contain any.
        tags.push((name, value.split_whitespace().collect()));
    }
    let get = |n: &str| {
        tags.iter()
            .find(|(name, _)| name == n)
            .map(|(_, v)| v.as_str())
    };
    if let Some(v) = get("v") {
        if tags[0].0 != "v" {
            return Err("v=DKIM1 must come first".into());
        }
        if v != "DKIM1" {
            return Err(format!("v={v}: the version must be DKIM1"));
        }
    }
    let Some(p) = get("p") else {
        return Err("there is no p= (the public key)".into());
    };
    if p.is_empty() {
        return Ok(Key::Revoked);
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(p)
        .map_err(|_| "p= is not valid base64".to_string())?;
    match get("k").unwrap_or("rsa").to_ascii_lowercase().as_str() {
        "rsa" => rsa_bits(&bytes)
            .map(|bits| Key::Rsa { bits })
            .ok_or_else(|| "p= is not an RSA public key".to_string()),
        "ed25519" if bytes.len() == 32 => Ok(Key::Ed25519),
        "ed25519" => Err(format!(
            "p= holds {} bytes, and an Ed25519 key is 32",
            bytes.len()
        )),
        other => Err(format!("k={other}: the key type must be rsa or ed25519")),
    }
}

/// The modulus size of an RSA public key in DER: SubjectPublicKeyInfo (what
/// DKIM records carry) or a bare RSAPublicKey (PKCS#1, which some tools
/// publish and verifiers accept).
pub fn rsa_bits(der: &[u8]) -> Option<usize> {
    let (body, rest) = der_take(der, 0x30)?;
    if !rest.is_empty() {
        return None;
    }
    // SubjectPublicKeyInfo: SEQUENCE { AlgorithmIdentifier, BIT STRING }.
    if let Some((alg, after)) = der_take(body, 0x30) {
        const RSA_OID: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
        let (oid, _) = der_take(alg, 0x06)?;
        if oid != RSA_OID {
            return None;
        }
        let (bits, _) = der_take(after, 0x03)?;
        // The first byte of a BIT STRING counts the unused bits (0 here).
        let (&0, key) = bits.split_first()? else {
            return None;
        };
        return rsa_bits(key);
    }
    // RSAPublicKey: SEQUENCE { INTEGER modulus, INTEGER exponent }.
    let (modulus, after) = der_take(body, 0x02)?;
    der_take(after, 0x02)?;
    let significant: &[u8] = {
        let start = modulus.iter().position(|&b| b != 0)?;
        &modulus[start..]
    };
    Some(significant.len() * 8 - significant[0].leading_zeros() as usize)
}

/// One DER element of type `tag`: (its contents, what follows).
fn der_take(der: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&t, rest) = der.split_first()?;
    if t != tag {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| rest.split_at(len))
}

#[cfg(test)]
pub mod tests {
    use super::*;

    fn der(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let len = body.len();
        if len < 0x80 {
            out.push(len as u8);
        } else if len < 0x100 {
            out.extend([0x81, len as u8]);
        } else {
            out.extend([0x82, (len >> 8) as u8, len as u8]);
        }
        out.extend_from_slice(body);
        out
    }

    /// An RSA public key (SubjectPublicKeyInfo, DER) whose modulus has
    /// exactly `bits` bits, in base64: the shape `openssl rsa -pubout` writes.
    pub fn rsa_key(bits: usize) -> String {
        let mut modulus = vec![0xa5u8; bits.div_ceil(8)];
        let top = bits % 8;
        modulus[0] = if top == 0 { 0x80 } else { 1 << (top - 1) } | 0x01;
        // A leading zero keeps the INTEGER positive.
        let mut int = vec![0u8];
        int.extend(modulus);
        let rsa = der(0x30, &[der(0x02, &int), der(0x02, &[1, 0, 1])].concat());
        let alg = der(
            0x30,
            &[
                der(
                    0x06,
                    &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01],
                ),
                vec![0x05, 0x00],
            ]
            .concat(),
        );
        let bitstring = der(0x03, &[&[0u8][..], &rsa].concat());
        base64::engine::general_purpose::STANDARD.encode(der(0x30, &[alg, bitstring].concat()))
    }

    #[test]
    fn rsa_key_sizes_are_read_from_the_modulus_for_every_size() {
        for bits in [512, 768, 1023, 1024, 1025, 1536, 2047, 2048, 3072, 4096] {
            let record = format!("v=DKIM1; k=rsa; p={}", rsa_key(bits));
            assert_eq!(parse(&record), Ok(Key::Rsa { bits }), "{bits}");
        }
    }

    /// A real key, as `openssl genrsa 2048 | openssl rsa -pubout` writes it.
    const OPENSSL_2048: &str = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAvKdjnykbB/NDgZlmmwKnJp4HkbVJetYp4hPni59ItFwwN4HackGSpXRVlB02t+Qv1Q5iH+mArtStmycFDh9R9IGPP40gbVmXXNMSg11OFWmAIPfMdKzBargvu4T9ufFutLu2QhR1tOvyZycwXtkmMprJIBmg+vvlJ1f+ENZqaAoeSBtjCRKsA3Z69d2wAzbgQYJR62ZwblqmAjin3qNEteUFLiQCYk9n/In6DMhw++dqHaoMhlEG3vZjHGgOarzK6yIhqCirggIvgQ+lQQrIU3mwu58FuCtkvkUU0ir9+1t9br1f3saQ+Cniw3ZMJUnA8ORzxU8KQ+7bMgyIlN3SLQIDAQAB";

    #[test]
    fn a_key_as_openssl_writes_it_is_read() {
        assert_eq!(
            parse(&format!("v=DKIM1; k=rsa; p={OPENSSL_2048}")),
            Ok(Key::Rsa { bits: 2048 })
        );
        // Folded over several strings and lines, as long records are.
        let folded = format!(
            "v=DKIM1;\tk=rsa;\r\n p={} {}",
            &OPENSSL_2048[..100],
            &OPENSSL_2048[100..]
        );
        assert_eq!(parse(&folded), Ok(Key::Rsa { bits: 2048 }));
    }

    #[test]
    fn broken_and_revoked_records_are_told_apart() {
        let ed = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        let ed_short = base64::engine::general_purpose::STANDARD.encode([7u8; 31]);
        for (record, want) in [
            ("v=DKIM1; p=".to_string(), Ok(Key::Revoked)),
            ("v=DKIM1; k=rsa; p= ".to_string(), Ok(Key::Revoked)),
            (format!("v=DKIM1; k=ed25519; p={ed}"), Ok(Key::Ed25519)),
            (
                format!("k=ed25519; p={ed_short}"),
                Err("p= holds 31 bytes, and an Ed25519 key is 32".to_string()),
            ),
            (
                "v=DKIM1; k=rsa".to_string(),
                Err("there is no p= (the public key)".to_string()),
            ),
            (
                "v=DKIM1; p=!!notbase64".to_string(),
                Err("p= is not valid base64".to_string()),
            ),
            (
                format!(
                    "v=DKIM1; p={}",
                    base64::engine::general_purpose::STANDARD.encode(b"hello")
                ),
                Err("p= is not an RSA public key".to_string()),
            ),
            (
                format!("v=DKIM2; p={}", rsa_key(2048)),
                Err("v=DKIM2: the version must be DKIM1".to_string()),
            ),
            (
                format!("k=rsa; v=DKIM1; p={}", rsa_key(2048)),
                Err("v=DKIM1 must come first".to_string()),
            ),
            (
                format!("v=DKIM1; k=dsa; p={}", rsa_key(2048)),
                Err("k=dsa: the key type must be rsa or ed25519".to_string()),
            ),
            (
                format!("v=DKIM1; p=x; p={}", rsa_key(2048)),
                Err("the tag p= appears twice".to_string()),
            ),
            (
                "v=DKIM1 p=abc".to_string(),
                Err("\"v=DKIM1 p=abc\": a ; is missing between two tags".to_string()),
            ),
        ] {
            assert_eq!(parse(&record), want, "{record}");
        }
    }
}
