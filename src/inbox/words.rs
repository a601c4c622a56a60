//! The words of the inbox: requests to stop in four languages, the quote
//! that follows a reply's new text, reply prefixes, the subjects of
//! auto-replies and bounce notices.
//!
//! Text is compared [`normalise`]d: decomposed, without accents, Greek
//! tonos and dialytika or Hebrew points, lower-cased, and cut into words at
//! anything that is not a letter or a digit.
use icu_normalizer::{DecomposingNormalizer, DecomposingNormalizerBorrowed};

const NFD: DecomposingNormalizerBorrowed<'static> = DecomposingNormalizer::new_nfd();

/// `Διαγραφή` → `διαγραφη`, `STOP` → `stop`, `הֲסָרָה` → `הסרה`.
pub fn normalise(text: &str) -> String {
    NFD.normalize(text)
        .chars()
        .filter(|c| !is_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Combining accents (Latin, Greek tonos and dialytika) and Hebrew points
/// and cantillation; Hebrew punctuation (maqaf, sof pasuq) stays.
fn is_mark(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036F}' | '\u{0591}'..='\u{05BD}' | '\u{05BF}' | '\u{05C1}' | '\u{05C2}' | '\u{05C4}' | '\u{05C5}' | '\u{05C7}')
}

/// The words of normalised text.
pub fn tokens(text: &str) -> Vec<String> {
    normalise(text)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// Phrases that ask to stop wherever they stand in a short message (as
/// normalised words).
const STRONG: &[&[&str]] = &[
    // English
    &["unsubscribe"],
    &["unsubscribed"],
    &["remove", "me"],
    &["opt", "out"],
    &["optout"],
    &["take", "me", "off"],
    &["stop", "sending"],
    &["stop", "emailing"],
    &["stop", "writing"],
    &["no", "more", "emails"],
    // Greek
    &["διαγραφη"],
    &["απεγγραφη"],
    &["σταματηστε"],
    &["διαγραψτε", "με"],
    &["διαγραψτε", "μας"],
    &["αφαιρεστε", "με"],
    &["αφαιρεστε", "μας"],
    // Hebrew
    &["הסר"],
    &["הסרה"],
    &["להסיר"],
    &["להסרה"],
    &["הסירו"],
    &["תסירו"],
    // Armenian
    &["ապաբաժանորդագրվել"],
    &["ապաբաժանորդագրեք"],
    &["հեռացրեք"],
];

/// Words that ask to stop only when they are (nearly) the whole message:
/// "STOP", "stop please" — not "I couldn't stop smiling".
const WEAK: &[&str] = &["stop", "σταματα", "στοπ", "די", "կանգ"];

/// A word just before the request that turns it around: "don't
/// unsubscribe me", "μη με διαγράψετε", "אל תסירו", "մի հեռացրեք".
const NEGATIONS: &[&str] = &[
    "not", "don", "dont", "never", "t", "cannot", "cant", "won", "wont", "μη", "μην", "δεν", "אל",
    "לא", "մի", "ոչ", "չեմ",
];

/// The longest new text (in words) a request to stop is looked for in: a
/// longer letter is a conversation for the owner to read.
const MAX_WORDS: usize = 30;
/// The longest message a lone weak word ("stop") counts in.
const MAX_WORDS_WEAK: usize = 4;

/// Polite words that do not make a message longer: "stop please", "STOP, thanks".
const FILLER: &[&str] = &[
    "please",
    "pls",
    "thanks",
    "thank",
    "you",
    "παρακαλω",
    "ευχαριστω",
    "בבקשה",
    "תודה",
    "խնդրում",
    "եմ",
    "շնորհակալություն",
];

/// Whether `text` (a subject without its reply prefixes, or the new text
/// of a reply) asks to stop.
pub fn asks_to_stop(text: &str) -> bool {
    let words: Vec<String> = text
        .lines()
        .filter(|l| !is_link_line(l))
        .flat_map(tokens)
        .collect();
    if words.is_empty() || words.len() > MAX_WORDS {
        return false;
    }
    let negated = |at: usize| {
        words[at.saturating_sub(2)..at]
            .iter()
            .any(|w| NEGATIONS.contains(&w.as_str()))
    };
    for phrase in STRONG {
        let n = phrase.len();
        for at in 0..words.len().saturating_sub(n - 1) {
            if words[at..at + n]
                .iter()
                .zip(phrase.iter())
                .all(|(w, p)| w == p)
                && !negated(at)
            {
                return true;
            }
        }
    }
    let meaningful = words
        .iter()
        .filter(|w| !FILLER.contains(&w.as_str()))
        .count();
    // "stop by", "stop in": a visit, not a request.
    let visit = |at: usize| {
        words
            .get(at + 1)
            .is_some_and(|n| ["by", "in", "over", "at", "for"].contains(&n.as_str()))
    };
    meaningful <= MAX_WORDS_WEAK
        && words
            .iter()
            .enumerate()
            .any(|(at, w)| WEAK.contains(&w.as_str()) && !negated(at) && !visit(at))
}

/// A line that is a link (our footer's unsubscribe link quoted or pasted
/// without a quote marker): never read as the customer's words.
fn is_link_line(line: &str) -> bool {
    let l = line.to_ascii_lowercase();
    l.contains("mailto:") || l.contains("://") || l.contains("list-unsubscribe")
}

/// The new text of a reply: its lines without what it quotes — `>`-quoted
/// lines (above or below the new text) and the "On … wrote:" line that
/// introduces them (in any of our languages) — up to a quote that is not
/// marked (an "Original Message" rule, a forwarded header block, an
/// attribution not followed by `>` lines) or a signature.
pub fn new_text(body: &str) -> String {
    let lines: Vec<&str> = body.lines().collect();
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim();
        if t.starts_with('>') {
            continue;
        }
        if t == "--" || *line == "-- " || is_rule(t) {
            break;
        }
        if is_attribution(t) {
            let next = lines[i + 1..]
                .iter()
                .map(|l| l.trim())
                .find(|l| !l.is_empty());
            if next.is_some_and(|n| n.starts_with('>')) {
                continue;
            }
            break;
        }
        if is_header_line(t) && lines.get(i + 1).is_some_and(|n| is_header_line(n.trim())) {
            break;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// `-----Original Message-----`, `________________________________`, `-------- Αρχικό μήνυμα --------`.
fn is_rule(t: &str) -> bool {
    t.starts_with("-----") || t.starts_with("_____") || t.starts_with("=====")
}

/// "On Mon, 1 Dec 2026 at 09:00, Shop <shop@x> wrote:" and its Greek,
/// Hebrew and Armenian forms (also split over two lines: the second half
/// ends the same way).
fn is_attribution(t: &str) -> bool {
    if !t.ends_with(':') && !t.ends_with(":\u{200f}") {
        return false;
    }
    let n = normalise(t);
    [
        "wrote",
        "writes",
        "εγραψε",
        "γραφει",
        "כתב",
        "כתבה",
        "כתב/ה",
        "գրել",
        "գրեց",
        "schrieb",
        "a ecrit",
        "escribio",
        "scrisse",
        "yazdi",
    ]
    .iter()
    .any(|w| n.contains(w))
}

/// `From: …`, `Sent: …`, `Από: …`, `מאת: …`, `Ումից: …`: the header block of a forwarded or Outlook-quoted message.
fn is_header_line(t: &str) -> bool {
    let Some((name, _)) = t.split_once(':') else {
        return false;
    };
    let n = normalise(name.trim_start_matches('*').trim_end_matches('*'));
    [
        "from",
        "sent",
        "to",
        "date",
        "subject",
        "cc",
        "απο",
        "σταλθηκε",
        "προς",
        "θεμα",
        "ημερομηνια",
        "מאת",
        "נשלח",
        "אל",
        "נושא",
        "תאריך",
        "ումից",
        "ում",
        "թեմա",
        "ուղարկված",
        "ամսաթիվ",
        "von",
        "gesendet",
        "an",
        "betreff",
        "de",
        "envoye",
        "objet",
    ]
    .contains(&n.trim())
}

/// HTML cut before its quote (Gmail's `gmail_quote`, `<blockquote>`,
/// Outlook's reply header), so that only the new text is read.
pub fn html_before_quote(html: &str) -> &str {
    let lower = html.to_ascii_lowercase();
    let cut = [
        "<blockquote",
        "class=\"gmail_quote",
        "id=\"divrplyfwdmsg\"",
        "id=\"appendonsend\"",
        "class=\"moz-cite-prefix\"",
        "<hr",
    ]
    .iter()
    .filter_map(|m| lower.find(m))
    .min()
    .unwrap_or(html.len());
    // `lower` has the same byte offsets as `html` (ASCII lower-casing).
    html.get(..cut).unwrap_or(html)
}

/// A subject without its reply and forward prefixes in any of our
/// languages: `Re: Fwd: ΑΠ: תגובה: Պատ.: …` → `…`.
pub fn strip_reply_prefixes(subject: &str) -> &str {
    const PREFIXES: &[&str] = &[
        "re",
        "fw",
        "fwd",
        "aw",
        "wg",
        "sv",
        "vs",
        "tr",
        "ref",
        "απ",
        "σχετ",
        "προώθ",
        "πρθ",
        "תגובה",
        "הועבר",
        "השב",
        "Պատ",
        "պատ",
        "Պատասխան",
        "re[2]",
        "re[3]",
    ];
    let mut s = subject.trim();
    loop {
        let Some((head, rest)) = s.split_once(':') else {
            return s;
        };
        let head = head.trim().trim_end_matches('.');
        if head.chars().count() <= 10 && PREFIXES.iter().any(|p| normalise(p) == normalise(head)) {
            s = rest.trim();
        } else {
            return s;
        }
    }
}

/// The token of an `unsubscribe TOKEN` subject (what our List-Unsubscribe
/// mailto asks the mail program to write; `%20` when a program did not
/// decode it).
pub fn token_in_subject(subject: &str) -> Option<String> {
    let s = strip_reply_prefixes(subject).replace("%20", " ");
    let mut parts = s.split_whitespace();
    let word = parts.next()?;
    if !word.eq_ignore_ascii_case("unsubscribe") {
        return None;
    }
    let token = parts.next()?;
    if parts.next().is_some() || !is_token(token) {
        return None;
    }
    Some(token.to_string())
}

/// The shape of a greeting's token: `HEX.occasion.occurrence`.
fn is_token(t: &str) -> bool {
    let mut pieces = t.split('.');
    let hex = pieces.next().unwrap_or("");
    hex.len() >= 8
        && hex.bytes().all(|b| b.is_ascii_hexdigit())
        && pieces.clone().count() >= 2
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
}

/// An out-of-office or automatic-reply subject in one of our languages.
pub fn is_auto_reply_subject(subject: &str) -> bool {
    let n = normalise(subject);
    [
        "automatic reply",
        "auto reply",
        "auto-reply",
        "autoreply",
        "auto:",
        "out of office",
        "out of the office",
        "away from the office",
        "on vacation",
        "αυτοματη απαντηση",
        "εκτος γραφειου",
        "תשובה אוטומטית",
        "מענה אוטומטי",
        "מחוץ למשרד",
        "ավտոմատ պատասխան",
        "ինքնաշխատ պատասխան",
        "գրասենյակից դուրս",
    ]
    .iter()
    .any(|p| n.contains(p))
}

/// The subject of a delivery failure notice, as the big providers and MTAs write it.
pub fn is_bounce_subject(subject: &str) -> bool {
    let n = normalise(subject);
    [
        "undeliverable",
        "undelivered mail",
        "delivery status notification",
        "mail delivery failed",
        "failure notice",
        "delivery failure",
        "returned mail",
        "delivery has failed",
        "could not be delivered",
        "couldn't be delivered",
        "non-delivery",
        "nondeliverable",
        "mail delivery system",
        "delivery notification",
        "message not delivered",
        "delivery delayed",
        "delayed mail",
        "warning: could not send message",
    ]
    .iter()
    .any(|p| n.contains(p))
}

/// A notice that speaks of a delay, not a failure ("will retry", "has been delayed").
pub fn says_delayed(text: &str) -> bool {
    let n = normalise(text);
    [
        "has been delayed",
        "is delayed",
        "delivery delayed",
        "delivery is delayed",
        "will retry",
        "will keep trying",
        "will continue to try",
        "still trying",
        "not yet been delivered",
        "delivery incomplete",
        "this is a temporary",
        "temporary problem",
        "no action is required on your part",
    ]
    .iter()
    .any(|p| n.contains(p))
}

/// A notice that speaks of a failure.
pub fn says_failed(text: &str) -> bool {
    let n = normalise(text);
    [
        "permanent",
        "failed",
        "could not be delivered",
        "couldn't be delivered",
        "wasn't delivered",
        "was not delivered",
        "undeliverable",
        "not found",
        "does not exist",
        "doesn't exist",
        "unknown",
        "rejected",
        "given up",
        "giving up",
        "unable to deliver",
    ]
    .iter()
    .any(|p| n.contains(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalising_drops_accents_tonos_and_points_and_lowers_case() {
        for (text, want) in [
            ("Διαγραφή", "διαγραφη"),
            ("ΔΙΑΓΡΑΦΗ", "διαγραφη"),
            ("Απεγγραφή", "απεγγραφη"),
            ("ΣΤΑΜΑΤΉΣΤΕ", "σταματηστε"),
            ("STOP", "stop"),
            ("הֲסָרָה", "הסרה"),
            ("ԱՊԱԲԱԺԱՆՈՐԴԱԳՐՎԵԼ", "ապաբաժանորդագրվել"),
            ("Unsubscribe", "unsubscribe"),
            ("Ϊ", "ι"),
        ] {
            assert_eq!(normalise(text), want, "{text}");
        }
    }

    #[test]
    fn short_requests_to_stop_in_four_languages_are_understood() {
        for text in [
            "unsubscribe",
            "UNSUBSCRIBE",
            "Unsubscribe me please",
            "Please remove me from your list.",
            "remove me",
            "STOP",
            "Stop.",
            "stop please",
            "Stop, thank you",
            "Please stop sending me these emails",
            "I'd like to opt out, thanks",
            "Διαγραφή",
            "διαγραφη",
            "ΔΙΑΓΡΑΦΉ",
            "Παρακαλώ διαγραφή από τη λίστα σας",
            "Απεγγραφή",
            "Σταματήστε να μου στέλνετε μηνύματα",
            "Διαγράψτε με παρακαλώ",
            "הסר",
            "הסרה",
            "נא להסיר אותי מהרשימה",
            "בבקשה להסיר",
            "הסירו אותי בבקשה",
            "להסרה",
            "ապաբաժանորդագրվել",
            "Ապաբաժանորդագրվել",
            "Խնդրում եմ հեռացրեք ինձ ցուցակից",
            "Hi,\n\nplease unsubscribe me.\n\nMaria",
        ] {
            assert!(asks_to_stop(text), "{text:?}");
        }
    }

    #[test]
    fn replies_that_only_mention_stopping_or_say_the_opposite_are_not_requests() {
        for text in [
            "",
            "Thank you so much!",
            "Ευχαριστώ πολύ!",
            "תודה רבה!",
            "Շնորհակալություն",
            "Please don't unsubscribe me, I love these",
            "Do not remove me, thanks",
            "I couldn't stop smiling when I read this, thank you",
            "Μη σταματήστε ποτέ!",
            "לא להסיר בבקשה",
            "Մի հեռացրեք ինձ",
            "Can I stop by the shop on Saturday to pick up my order?",
            "Stop by tomorrow?",
            "stop in for coffee",
            // A long letter that happens to use the word: a conversation for the owner.
            "Thank you for the lovely wishes. My mother asked me how she could unsubscribe \
             her old address because she has a new one now, it is written on the card we \
             gave you in the shop last week when we bought the cake for my father's name day",
            // Our footer's link, pasted without a quote marker.
            "Thanks!\nTo stop receiving these: mailto:shop@example.gr?subject=unsubscribe%20abc",
        ] {
            assert!(!asks_to_stop(text), "{text:?}");
        }
    }

    #[test]
    fn the_new_text_ends_where_the_quote_begins() {
        let cases = [
            (
                "Thank you!\n\nOn Mon, 1 Dec 2026 at 09:00, Fournos <shop@fournos.gr> wrote:\n> Happy birthday\n> To unsubscribe reply unsubscribe\n",
                "Thank you!\n\n",
            ),
            (
                "Ευχαριστώ!\n\nΣτις Δευ 1 Δεκ 2026, 09:00 ο/η Fournos έγραψε:\n> Χρόνια πολλά\n",
                "Ευχαριστώ!\n\n",
            ),
            (
                "תודה!\n\nב-1 בדצמ׳ 2026, 09:00, Fournos כתב:\n> יום הולדת שמח\n",
                "תודה!\n\n",
            ),
            (
                "Շնորհակալություն\n\nFournos-ը գրել է:\n> Ծնունդդ շնորհավոր\n",
                "Շնորհակալություն\n\n",
            ),
            (
                "Thanks\n\n-----Original Message-----\nFrom: Fournos\nunsubscribe\n",
                "Thanks\n\n",
            ),
            (
                "Thanks\n________________________________\nFrom: Fournos <shop@fournos.gr>\nSent: Monday\n",
                "Thanks\n",
            ),
            (
                "Thanks\n\nFrom: Fournos <shop@fournos.gr>\nSent: Monday, December 1, 2026\nTo: maria@example.gr\n",
                "Thanks\n\n",
            ),
            ("Thanks\n-- \nMaria\n", "Thanks\n"),
            ("> quoted first\nnew", "new\n"),
            // Bottom-posted: the answer below the quote.
            (
                "On Mon, 1 Dec 2026, Fournos <shop@fournos.gr> wrote:\n> Happy birthday\n> To unsubscribe reply unsubscribe\n\nPlease remove me\n",
                "\nPlease remove me\n",
            ),
            // An attribution with an unmarked quote after it: the quote is not read.
            ("Thanks\nFournos wrote:\nunsubscribe\n", "Thanks\n"),
        ];
        for (body, want) in cases {
            assert_eq!(new_text(body), want, "{body:?}");
        }
    }

    #[test]
    fn reply_prefixes_are_stripped_in_every_language() {
        for (subject, want) in [
            ("Re: Happy birthday", "Happy birthday"),
            ("RE: Fwd: Happy birthday", "Happy birthday"),
            ("ΑΠ: Χρόνια πολλά", "Χρόνια πολλά"),
            ("Απ: Σχετ: Χρόνια πολλά", "Χρόνια πολλά"),
            ("תגובה: יום הולדת שמח", "יום הולדת שמח"),
            ("Պատ.: Շնորհավոր", "Շնորհավոր"),
            ("AW: Alles Gute", "Alles Gute"),
            ("Note: not a prefix", "Note: not a prefix"),
            ("unsubscribe", "unsubscribe"),
        ] {
            assert_eq!(strip_reply_prefixes(subject), want, "{subject}");
        }
    }

    #[test]
    fn only_a_token_shaped_word_after_unsubscribe_is_a_token() {
        let tok = "0123456789abcdef0123456789abcdef.birthday.2026-03-14";
        for (subject, want) in [
            (format!("unsubscribe {tok}"), Some(tok)),
            (format!("Unsubscribe  {tok} "), Some(tok)),
            (format!("unsubscribe%20{tok}"), Some(tok)),
            (format!("Re: unsubscribe {tok}"), Some(tok)),
            ("unsubscribe".to_string(), None),
            ("unsubscribe me".to_string(), None),
            ("unsubscribe me please".to_string(), None),
            (format!("unsubscribe {tok} now"), None),
            ("unsubscribe zzzz.birthday.2026".to_string(), None),
        ] {
            assert_eq!(token_in_subject(&subject).as_deref(), want, "{subject}");
        }
    }
}
