//! Gift codes: a per-greeting code the till can recognise (issue 14, part 3).
//!
//! A code is HMAC-SHA256, keyed by the shop's secret (`[gifts]
//! secret_file`, 0600), over the greeting's key (occasion, customer,
//! occurrence): the same greeting always carries the same code, and nobody
//! without the secret can make one. It is written in 29 characters that
//! cannot be taken for one another (digits 2–9 and the letters without I, L,
//! O, S and U), 10 of them (29¹⁰ ≈ 4·10¹⁴ codes) followed by a check
//! character, grouped for reading aloud: `7KQM-2XHR-9DT`.
//!
//! The check character makes the weighted sum Σ (i+1)·vᵢ ≡ 0 (mod 29) over
//! all 11 characters. 29 is prime and the weights 1…11 are distinct and
//! non-zero modulo 29, so changing any one character changes the sum by
//! wᵢ·(a−b) ≢ 0, and swapping two neighbours changes it by (wᵢ−wᵢ₊₁)·(b−a)
//! = −(b−a)·1 ≢ 0: every single-character typo and every adjacent swap is
//! caught.
use std::path::Path;

use chrono::NaiveDate;
use ring::hmac;

use crate::message::GreetingKey;

/// The characters of a code, in value order.
pub const ALPHABET: &[u8; 29] = b"23456789ABCDEFGHJKMNPQRTVWXYZ";
/// Characters of a code before its check character.
pub const DATA_LEN: usize = 10;
/// Characters of a code with its check character.
pub const LEN: usize = DATA_LEN + 1;
const P: u32 = 29;
/// The fewest bytes a secret may have.
pub const MIN_SECRET: usize = 16;

/// The value of a code character (upper case), if it is one.
fn value(c: u8) -> Option<u32> {
    ALPHABET.iter().position(|&a| a == c).map(|i| i as u32)
}

/// Σ (i+1)·vᵢ mod 29 over the values given.
fn weighted(values: &[u32]) -> u32 {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| (i as u32 + 1) * v)
        .sum::<u32>()
        % P
}

/// The check character's value for 10 data values: the one that makes the
/// weighted sum of all 11 zero (its weight, 11, is invertible mod 29).
fn check_value(data: &[u32]) -> u32 {
    let s = weighted(data);
    // 11 · 8 = 88 = 3·29 + 1: 8 is 11's inverse modulo 29.
    ((P - s) % P * 8) % P
}

/// A gift code: 11 characters of [`ALPHABET`], the last the check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Code([u8; LEN]);

impl Code {
    /// The code for the first [`DATA_LEN`] base-29 digits of `n`.
    fn from_number(mut n: u64) -> Code {
        let mut values = [0u32; LEN];
        for v in values.iter_mut().take(DATA_LEN) {
            *v = (n % u64::from(P)) as u32;
            n /= u64::from(P);
        }
        values[DATA_LEN] = check_value(&values[..DATA_LEN]);
        let mut chars = [0u8; LEN];
        for (c, v) in chars.iter_mut().zip(values) {
            *c = ALPHABET[v as usize];
        }
        Code(chars)
    }

    /// The 11 characters without dashes, as the ledger keeps them.
    pub fn compact(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// Read what someone typed: lower case, spaces and dashes are fine.
    pub fn parse(typed: &str) -> Result<Code, CodeError> {
        let mut chars = Vec::with_capacity(LEN);
        for c in typed.chars() {
            if c == '-' || c.is_whitespace() {
                continue;
            }
            let up = c.to_ascii_uppercase();
            if !up.is_ascii() || value(up as u8).is_none() {
                return Err(CodeError::NotACode(format!(
                    "\"{c}\" is not used in gift codes (they use {} only)",
                    std::str::from_utf8(ALPHABET).unwrap_or_default()
                )));
            }
            chars.push(up as u8);
        }
        if chars.len() != LEN {
            return Err(CodeError::NotACode(format!(
                "a gift code has {LEN} characters (XXXX-XXXX-XXX), this has {}",
                chars.len()
            )));
        }
        let values: Vec<u32> = chars.iter().filter_map(|&c| value(c)).collect();
        if weighted(&values) != 0 {
            return Err(CodeError::Mistyped);
        }
        let mut code = [0u8; LEN];
        code.copy_from_slice(&chars);
        Ok(Code(code))
    }
}

impl std::fmt::Display for Code {
    /// `7KQM-2XHR-9DT`: groups of four for reading aloud.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.compact();
        write!(f, "{}-{}-{}", &s[..4], &s[4..8], &s[8..])
    }
}

/// Why typed text is not a code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeError {
    /// Well formed, but the check character does not match: a typo.
    Mistyped,
    /// Not even the shape of a code.
    NotACode(String),
}

/// The shop's gift secret, read from its file.
#[derive(Clone)]
pub struct Secret(hmac::Key);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

impl Secret {
    pub fn new(bytes: &[u8]) -> Secret {
        Secret(hmac::Key::new(hmac::HMAC_SHA256, bytes))
    }

    /// Read the secret file: 0600, at least [`MIN_SECRET`] bytes (used as
    /// they are, a trailing newline included).
    pub fn read(path: &Path) -> Result<Secret, String> {
        crate::config::secret_file_access_problem(path)?;
        let bytes =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if bytes.len() < MIN_SECRET {
            return Err(format!(
                "{} holds {} bytes; a gift secret needs at least {MIN_SECRET} (make one with `head -c 32 /dev/urandom > {} && chmod 600 {}`)",
                path.display(),
                bytes.len(),
                path.display(),
                path.display()
            ));
        }
        Ok(Secret::new(&bytes))
    }

    /// The code of a greeting: the same key and secret, the same code.
    pub fn code(&self, key: &GreetingKey) -> Code {
        let mut ctx = hmac::Context::with_key(&self.0);
        ctx.update(b"greet-gift\0");
        for part in [&key.occasion, &key.customer, &key.occurrence] {
            ctx.update(part.as_bytes());
            ctx.update(&[0]);
        }
        let tag = ctx.sign();
        let mut first = [0u8; 8];
        first.copy_from_slice(&tag.as_ref()[..8]);
        Code::from_number(u64::from_be_bytes(first))
    }
}

/// A gift as one greeting carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gift {
    pub code: Code,
    /// The last day it can be redeemed.
    pub valid_until: NaiveDate,
    /// The offer, in the greeting's language.
    pub offer: String,
}

impl Gift {
    /// What the ledger keeps of it.
    pub fn record(&self) -> crate::ledger::GiftRecord {
        crate::ledger::GiftRecord {
            code: self.code.compact().to_string(),
            valid_until: self.valid_until.to_string(),
        }
    }
}

/// The gift a greeting carries: its occasion has one and the shop has a
/// secret. Valid through the greeting's day plus the occasion's `gift_days`;
/// the offer in the greeting's language, else in the default language.
pub fn for_greeting(
    config: &crate::config::Config,
    occasion: &crate::config::Occasion,
    key: &GreetingKey,
    date: NaiveDate,
    lang: &str,
) -> Option<Gift> {
    let (g, secret) = (occasion.gift.as_ref()?, config.gift_secret.as_ref()?);
    Some(Gift {
        code: secret.code(key),
        valid_until: date
            .checked_add_days(chrono::Days::new(u64::from(g.days)))
            .unwrap_or(NaiveDate::MAX),
        offer: g.offer_for(lang, &config.default_language).to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SplitMix64: reproducible random numbers without another crate.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
    }

    fn key(i: u64) -> GreetingKey {
        GreetingKey {
            occasion: "birthday".into(),
            customer: format!("C{i}"),
            occurrence: "2026-03-14".into(),
        }
    }

    fn random_code(rng: &mut Rng) -> Code {
        Code::from_number(rng.next())
    }

    #[test]
    fn the_alphabet_has_a_prime_number_of_characters_none_of_them_lookalikes() {
        assert_eq!(ALPHABET.len() as u32, P);
        assert!((2..P).all(|d| !P.is_multiple_of(d)));
        for c in b"01ILOSU" {
            assert!(!ALPHABET.contains(c), "{}", *c as char);
        }
        let mut sorted = ALPHABET.to_vec();
        sorted.dedup();
        assert_eq!(sorted.len(), ALPHABET.len());
        assert_eq!((11 * 8) % P, 1, "8 is the inverse of the check weight");
    }

    #[test]
    fn every_code_made_reads_back_as_itself_however_it_is_typed() {
        let mut rng = Rng(14);
        for _ in 0..2000 {
            let code = random_code(&mut rng);
            let shown = code.to_string();
            assert_eq!(shown.len(), LEN + 2);
            for typed in [
                shown.clone(),
                shown.to_lowercase(),
                code.compact().to_string(),
                shown.replace('-', " "),
                format!("  {}  ", code.compact().to_lowercase()),
            ] {
                assert_eq!(Code::parse(&typed), Ok(code), "{typed}");
            }
        }
    }

    #[test]
    fn the_check_character_catches_every_single_typo_and_every_adjacent_swap() {
        let mut rng = Rng(3);
        let mut checked = 0u64;
        for _ in 0..3000 {
            let code = random_code(&mut rng);
            let chars = code.0;
            for i in 0..LEN {
                for &other in ALPHABET.iter().filter(|&&c| c != chars[i]) {
                    let mut typo = chars;
                    typo[i] = other;
                    let typed = std::str::from_utf8(&typo).unwrap();
                    assert_eq!(
                        Code::parse(typed),
                        Err(CodeError::Mistyped),
                        "{code} → {typed}"
                    );
                    checked += 1;
                }
                if i + 1 < LEN && chars[i] != chars[i + 1] {
                    let mut swap = chars;
                    swap.swap(i, i + 1);
                    let typed = std::str::from_utf8(&swap).unwrap();
                    assert_eq!(
                        Code::parse(typed),
                        Err(CodeError::Mistyped),
                        "{code} → {typed}"
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked > 3000 * LEN as u64 * 28, "{checked}");
    }

    #[test]
    fn text_that_is_not_a_code_is_told_apart_from_a_typo() {
        for typed in [
            "",
            "7KQM-2XHR",
            "7KQM-2XHR-9DTT9",
            "OKQM-2XHR-9DT",
            "7KQM-2XHR-9D!",
            "ΑΒΓΔ-2XHR-9DT",
        ] {
            assert!(
                matches!(Code::parse(typed), Err(CodeError::NotACode(_))),
                "{typed}: {:?}",
                Code::parse(typed)
            );
        }
    }

    #[test]
    fn the_same_secret_and_greeting_give_the_same_code_and_another_secret_another() {
        let a = Secret::new(b"0123456789abcdef0123456789abcdef");
        let again = Secret::new(b"0123456789abcdef0123456789abcdef");
        let b = Secret::new(b"0123456789abcdef0123456789abcdeF");
        for i in 0..500 {
            let k = key(i);
            assert_eq!(a.code(&k), again.code(&k));
            assert_ne!(a.code(&k), b.code(&k), "{k:?}");
            for other in [
                GreetingKey {
                    occasion: "nameday".into(),
                    ..k.clone()
                },
                GreetingKey {
                    occurrence: "2027-03-14".into(),
                    ..k.clone()
                },
            ] {
                assert_ne!(a.code(&k), a.code(&other));
            }
            assert!(Code::parse(&a.code(&k).to_string()).is_ok());
        }
        // Parts run together differently are different keys.
        let ab = GreetingKey {
            occasion: "ab".into(),
            customer: "c".into(),
            occurrence: "1".into(),
        };
        let a_bc = GreetingKey {
            occasion: "a".into(),
            customer: "bc".into(),
            occurrence: "1".into(),
        };
        assert_ne!(a.code(&ab), a.code(&a_bc));
    }

    #[test]
    fn a_million_greetings_get_a_million_different_codes() {
        let secret = Secret::new(b"the shop's gift secret, 32 bytes");
        let n = 1_000_000;
        let mut seen = std::collections::HashSet::with_capacity(n);
        let mut k = key(0);
        let started = std::time::Instant::now();
        for i in 0..n {
            k.customer.clear();
            k.customer.push('C');
            k.customer.push_str(&i.to_string());
            let code = secret.code(&k);
            assert!(seen.insert(code), "a collision at {i}: {code}");
        }
        assert_eq!(seen.len(), n);
        eprintln!("{n} codes in {:?}", started.elapsed());
    }
}
