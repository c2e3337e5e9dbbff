//! Personal data masking: every text that leaves the pipeline (the `messages` table, topic
//! terms and samples, Kafka outputs, dead letters, logs) passes through [`Masker`] first.
//!
//! What is found and what replaces it:
//!
//! | kind | token | found by |
//! |---|---|---|
//! | `email` | `<EMAIL>` | `local@domain.tld` |
//! | `id_number` | `<ID>` | 18-character PRC resident identity number whose ISO 7064 MOD 11-2 check character is right (`110101199003074514`, also split `110101 19900307 4514`) |
//! | `bank_card` | `<CARD>` | 13 to 19 digits, optionally in groups, passing the Luhn check |
//! | `phone` | `<PHONE>` | mainland-China mobile numbers (`1[3-9]` + 9 digits, optionally `+86`/`86`), numbers written with a leading `+` (8 to 15 digits), and grouped numbers such as `(415) 555-0134`, `010-6552 8888` (10 to 13 digits in at least two groups) |
//! | configured | `pii.patterns[].token` | a regular expression per pattern |
//!
//! Digits are scanned as runs of digit groups separated by one space, `-`, `.` or parentheses;
//! within a run the longest sub-run that is a known kind wins, left to right, so "call
//! 13812345678 2026-11-21" masks the phone and keeps the date. Plain digit runs that are none of
//! the kinds (order numbers, amounts, dates) are kept: they carry meaning and identify no one.

#[cfg(test)]
mod tests;

use crate::{Error, Result};
use regex::bytes::Regex;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// `[pii]`: masking settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PiiConfig {
    /// Mask personal data (default true). Turning it off stores texts exactly as received.
    pub enabled: bool,
    /// Extra patterns, masked before the built-in kinds: `[[pii.patterns]] name = "passport",
    /// pattern = "\\b[EG]\\d{8}\\b", token = "<PASSPORT>"`.
    pub patterns: Vec<PatternConfig>,
}

impl Default for PiiConfig {
    fn default() -> Self {
        PiiConfig { enabled: true, patterns: Vec::new() }
    }
}

/// One configured pattern.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatternConfig {
    /// Its name: the `kind` label of `ticketpulse_pii_masked_total`; lower-case letters, digits
    /// and `_`.
    pub name: String,
    /// A regular expression (Rust `regex` syntax).
    pub pattern: String,
    /// What replaces a match; default `<NAME>` (the name in upper case).
    #[serde(default)]
    pub token: Option<String>,
}

impl PiiConfig {
    /// Checks the settings; errors name the field.
    pub fn validate(&self) -> Result<()> {
        Masker::new(self).map(|_| ())
    }
}

/// A built-in kind of personal data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A phone number.
    Phone,
    /// An e-mail address.
    Email,
    /// A resident identity number.
    IdNumber,
    /// A bank card number.
    BankCard,
}

impl Kind {
    /// Every built-in kind.
    pub const ALL: [Kind; 4] = [Kind::Phone, Kind::Email, Kind::IdNumber, Kind::BankCard];

    /// The metric label.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Phone => "phone",
            Kind::Email => "email",
            Kind::IdNumber => "id_number",
            Kind::BankCard => "bank_card",
        }
    }

    /// The token that replaces it.
    pub fn token(self) -> &'static str {
        match self {
            Kind::Phone => "<PHONE>",
            Kind::Email => "<EMAIL>",
            Kind::IdNumber => "<ID>",
            Kind::BankCard => "<CARD>",
        }
    }
}

/// Spans masked, per kind: the built-in kinds in [`Kind::ALL`] order, then the configured
/// patterns in their order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts(pub Vec<u64>);

impl Counts {
    fn add(&mut self, slot: usize) {
        if self.0.len() <= slot {
            self.0.resize(slot + 1, 0);
        }
        self.0[slot] += 1;
    }

    /// Spans masked in all.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }
}

#[derive(Debug, Clone)]
struct Custom {
    name: String,
    regex: Regex,
    token: String,
}

/// Finds and replaces personal data. Cheap to clone (compiled automata are shared).
#[derive(Debug, Clone)]
pub struct Masker {
    email: Regex,
    id: Regex,
    digits: Regex,
    custom: Vec<Custom>,
}

/// Fewer ASCII digits than this and no `@`: nothing built-in can match (the shortest kind,
/// `+` and 8 digits).
const MIN_DIGITS: usize = 8;
/// Digit groups looked at together at most (bounds the work on hostile input: a run of
/// thousands of groups is scanned in windows of this many).
const MAX_GROUPS: usize = 12;

impl Masker {
    /// A masker for `config` (its patterns compiled; a bad one is an error naming it).
    pub fn new(config: &PiiConfig) -> Result<Self> {
        let mut custom = Vec::new();
        for (i, p) in config.patterns.iter().enumerate() {
            let field = |f: &str| format!("pii.patterns[{i}].{f}");
            if p.name.is_empty()
                || !p.name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            {
                return Err(Error::config(field("name"), "must be lower-case letters, digits and `_`"));
            }
            if Kind::ALL.iter().any(|k| k.label() == p.name) {
                return Err(Error::config(field("name"), format!("`{}` is a built-in kind", p.name)));
            }
            let regex = regex::bytes::RegexBuilder::new(&p.pattern)
                .size_limit(1 << 20)
                .build()
                .map_err(|e| Error::config(field("pattern"), e.to_string()))?;
            if regex.is_match(b"") {
                return Err(Error::config(field("pattern"), "matches the empty string"));
            }
            let token = p.token.clone().unwrap_or_else(|| format!("<{}>", p.name.to_uppercase()));
            custom.push(Custom { name: p.name.clone(), regex, token });
        }
        let built = |re: &str| Regex::new(re).map_err(|e| Error::Runtime(format!("PII pattern {re}: {e}")));
        Ok(Masker {
            email: built(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,24}")?,
            id: built(r"\d{6} ?\d{8} ?\d{3}[\dXx]")?,
            // a run of digit groups joined by one separator; a leading + or ( belongs to it
            digits: built(r"[+(]?\d+(?:(?:[ .\-]|\) ?| ?\()\d+)*\)?")?,
            custom,
        })
    }

    /// The `kind` labels of the counts' slots.
    pub fn labels(&self) -> Vec<String> {
        let builtin = Kind::ALL.iter().map(|k| k.label().to_string());
        builtin.chain(self.custom.iter().map(|c| c.name.clone())).collect()
    }

    /// `text` with personal data masked (borrowed when nothing was found).
    pub fn mask<'a>(&self, text: &'a str, counts: &mut Counts) -> Cow<'a, str> {
        match self.mask_bytes(text.as_bytes(), counts) {
            Cow::Borrowed(_) => Cow::Borrowed(text),
            // spans start and end at ASCII bytes or at whole UTF-8 sequences (regex in Unicode
            // mode), so the result stays UTF-8; lossy only as a guard
            Cow::Owned(bytes) => Cow::Owned(match String::from_utf8(bytes) {
                Ok(s) => s,
                Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
            }),
        }
    }

    /// Masks `text` in place; true when something was masked.
    pub fn mask_string(&self, text: &mut String, counts: &mut Counts) -> bool {
        match self.mask(text, counts) {
            Cow::Borrowed(_) => false,
            Cow::Owned(masked) => {
                *text = masked;
                true
            }
        }
    }

    /// `bytes` (any bytes: a raw record may not be UTF-8) with personal data masked.
    pub fn mask_bytes<'a>(&self, bytes: &'a [u8], counts: &mut Counts) -> Cow<'a, [u8]> {
        let mut out = Cow::Borrowed(bytes);
        let keep = |out: &mut Cow<'a, [u8]>, masked: Option<Vec<u8>>| {
            if let Some(m) = masked {
                *out = Cow::Owned(m);
            }
        };
        for (i, c) in self.custom.iter().enumerate() {
            let masked = replace(&out, &c.regex, c.token.as_bytes(), Kind::ALL.len() + i, counts);
            keep(&mut out, masked);
        }
        let digits = out.iter().filter(|b| b.is_ascii_digit()).count();
        if out.contains(&b'@') {
            let masked =
                replace(&out, &self.email, Kind::Email.token().as_bytes(), slot(Kind::Email), counts);
            keep(&mut out, masked);
        }
        if digits >= 17 {
            let masked = self.mask_ids(&out, counts);
            keep(&mut out, masked);
        }
        if digits >= MIN_DIGITS {
            let masked = self.mask_digits(&out, counts);
            keep(&mut out, masked);
        }
        out
    }

    /// Resident identity numbers: 18 characters (optionally 6-8-4 with spaces), not glued to
    /// other digits, with a valid check character and a plausible birth date.
    fn mask_ids(&self, bytes: &[u8], counts: &mut Counts) -> Option<Vec<u8>> {
        let spans = self.id.find_iter(bytes).filter_map(|m| {
            let glued = (m.start() > 0 && bytes[m.start() - 1].is_ascii_digit())
                || bytes.get(m.end()).is_some_and(u8::is_ascii_digit);
            let chars: Vec<u8> = m.as_bytes().iter().copied().filter(|b| *b != b' ').collect();
            (!glued && id_checksum_ok(&chars)).then_some((m.start(), m.end(), Kind::IdNumber))
        });
        splice(bytes, spans, counts)
    }

    /// Phones and cards among the runs of digit groups.
    fn mask_digits(&self, bytes: &[u8], counts: &mut Counts) -> Option<Vec<u8>> {
        let spans = self.digits.find_iter(bytes).flat_map(|m| {
            classify_run(m.as_bytes())
                .into_iter()
                .map(move |(start, end, kind)| (m.start() + start, m.start() + end, kind))
        });
        splice(bytes, spans, counts)
    }
}

fn slot(kind: Kind) -> usize {
    Kind::ALL.iter().position(|k| *k == kind).unwrap_or(0)
}

/// Replaces every match of `re` in `bytes` with `token` (counted in `slot`); `None` when there
/// is none.
fn replace(bytes: &[u8], re: &Regex, token: &[u8], slot: usize, counts: &mut Counts) -> Option<Vec<u8>> {
    splice_tokens(bytes, re.find_iter(bytes).map(|m| (m.start(), m.end(), token, slot)), counts)
}

/// `bytes` with the built-in kinds' spans (ascending, not overlapping) replaced by their tokens.
fn splice(
    bytes: &[u8],
    spans: impl Iterator<Item = (usize, usize, Kind)>,
    counts: &mut Counts,
) -> Option<Vec<u8>> {
    splice_tokens(
        bytes,
        spans.map(|(start, end, kind)| (start, end, kind.token().as_bytes(), slot(kind))),
        counts,
    )
}

/// `bytes` with each span (ascending, not overlapping) replaced by its token and counted in its
/// slot; `None` when there is no span.
fn splice_tokens<'t>(
    bytes: &[u8],
    spans: impl Iterator<Item = (usize, usize, &'t [u8], usize)>,
    counts: &mut Counts,
) -> Option<Vec<u8>> {
    let mut out: Option<Vec<u8>> = None;
    let mut last = 0;
    for (start, end, token, slot) in spans {
        let buf = out.get_or_insert_with(|| Vec::with_capacity(bytes.len()));
        buf.extend_from_slice(&bytes[last..start]);
        buf.extend_from_slice(token);
        last = end;
        counts.add(slot);
    }
    let mut buf = out?;
    buf.extend_from_slice(&bytes[last..]);
    Some(buf)
}

/// One digit group of a run: its byte span (digits only, with a `+` or `(` just before it
/// included in `lead`).
#[derive(Debug, Clone, Copy)]
struct Group {
    /// Start of the group's digits.
    start: usize,
    /// End of its digits.
    end: usize,
    /// A `+` directly before it.
    plus: bool,
    /// A `(` directly before it or a `)` directly after it.
    paren: bool,
}

/// The masked spans of one run (byte offsets in `run`) and their kinds, left to right.
fn classify_run(run: &[u8]) -> Vec<(usize, usize, Kind)> {
    let groups = groups(run);
    let mut found = Vec::new();
    let mut i = 0;
    while i < groups.len() {
        let mut hit = None;
        let longest = (i + MAX_GROUPS).min(groups.len());
        for j in (i + 1..=longest).rev() {
            if let Some(kind) = classify(run, &groups[i..j]) {
                hit = Some((j, kind));
                break;
            }
        }
        match hit {
            Some((j, kind)) => {
                let first = groups[i];
                let last = groups[j - 1];
                let start = if first.plus || (first.paren && first.start > 0 && run[first.start - 1] == b'(')
                {
                    first.start - 1
                } else {
                    first.start
                };
                let end = if last.end < run.len() && run[last.end] == b')' { last.end + 1 } else { last.end };
                found.push((start, end, kind));
                i = j;
            }
            None => i += 1,
        }
    }
    found
}

fn groups(run: &[u8]) -> Vec<Group> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < run.len() {
        if run[i].is_ascii_digit() {
            let start = i;
            while i < run.len() && run[i].is_ascii_digit() {
                i += 1;
            }
            let before = (start > 0).then(|| run[start - 1]);
            out.push(Group {
                start,
                end: i,
                plus: before == Some(b'+'),
                paren: before == Some(b'(') || run.get(i) == Some(&b')'),
            });
        } else {
            i += 1;
        }
    }
    out
}

/// What the digit groups `gs` of `run` are, if anything.
fn classify(run: &[u8], gs: &[Group]) -> Option<Kind> {
    let mut digits = Vec::with_capacity(24);
    for g in gs {
        digits.extend_from_slice(&run[g.start..g.end]);
    }
    let n = digits.len();
    let plus = gs[0].plus;
    if !plus && (13..=19).contains(&n) && luhn_ok(&digits) && card_grouping(gs) {
        return Some(Kind::BankCard);
    }
    if is_china_mobile(&digits, gs) {
        return Some(Kind::Phone);
    }
    if plus && (8..=15).contains(&n) {
        return Some(Kind::Phone);
    }
    if grouped_phone(gs) && (10..=12).contains(&n) && !looks_like_date(run, gs) {
        return Some(Kind::Phone);
    }
    None
}

/// The shape of a phone number written in groups: an area code of 2 to 4 digits (or one in
/// parentheses), 2 to 4 groups of at most 8 digits, the last of at least 4; not 4-4-4 (a card's
/// shape).
fn grouped_phone(gs: &[Group]) -> bool {
    let lens: Vec<usize> = gs.iter().map(|g| g.end - g.start).collect();
    let area = (2..=4).contains(&lens[0]);
    let paren = gs.iter().any(|g| g.paren);
    (gs.len() >= 2 || paren)
        && gs.len() <= 4
        && area
        && lens.iter().all(|&l| (2..=8).contains(&l))
        && lens.last().is_some_and(|&l| l >= 4)
        && !(lens.len() >= 3 && lens.iter().all(|&l| l == 4))
}

/// 11 digits `1[3-9]…`, optionally after a country code 86 (own group or glued after +).
fn is_china_mobile(digits: &[u8], gs: &[Group]) -> bool {
    let mobile = |d: &[u8]| d.len() == 11 && d[0] == b'1' && (b'3'..=b'9').contains(&d[1]);
    if mobile(digits) {
        return gs.len() <= 3;
    }
    digits.len() == 13 && digits.starts_with(b"86") && mobile(&digits[2..]) && gs.len() <= 4
}

/// Card numbers are written whole or in groups of 4 (the last 1–7 digits), or 4-6-5 (Amex).
fn card_grouping(gs: &[Group]) -> bool {
    if gs.len() == 1 {
        return true;
    }
    let lens: Vec<usize> = gs.iter().map(|g| g.end - g.start).collect();
    let (last, head) = lens.split_last().map_or((0, &[][..]), |(l, h)| (*l, h));
    (head.iter().all(|&l| l == 4) && (1..=7).contains(&last)) || lens == [4, 6, 5]
}

/// `2026-11-21 1030`-like runs (a 4-digit year, then month and day) are dates, not phones.
fn looks_like_date(run: &[u8], gs: &[Group]) -> bool {
    let len = |g: &Group| g.end - g.start;
    gs.len() >= 3
        && len(&gs[0]) == 4
        && len(&gs[1]) <= 2
        && len(&gs[2]) <= 2
        && matches!(&run[gs[0].start..gs[0].start + 2], b"19" | b"20")
}

/// ISO 7064 MOD 11-2 check of an 18-character resident identity number, and a month and day
/// that can be a birth date.
fn id_checksum_ok(d: &[u8]) -> bool {
    if d.len() != 18 || !d[..17].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let month = (d[10] - b'0') * 10 + (d[11] - b'0');
    let day = (d[12] - b'0') * 10 + (d[13] - b'0');
    id_check_char(&d[..17]) == d[17].to_ascii_uppercase()
        && (1..=12).contains(&month)
        && (1..=31).contains(&day)
}

/// The check character (`0`-`9` or `X`) of the 17 ASCII digits of a resident identity number's
/// body (ISO 7064 MOD 11-2).
pub fn id_check_char(body: &[u8]) -> u8 {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body.iter().zip(WEIGHTS).map(|(c, w)| u32::from(c - b'0') * w).sum();
    b"10X98765432"[(sum % 11) as usize]
}

/// The Luhn check of a card number.
fn luhn_ok(d: &[u8]) -> bool {
    d.split_last().is_some_and(|(last, body)| luhn_check_digit(body) == *last)
}

/// The digit (ASCII) that, appended to the ASCII digits `body`, passes the Luhn check.
pub fn luhn_check_digit(body: &[u8]) -> u8 {
    // the check digit will sit at position 0 from the right, so the body's last digit is doubled
    let sum: u32 = body
        .iter()
        .rev()
        .enumerate()
        .map(|(i, c)| {
            let v = u32::from(c - b'0');
            if i % 2 == 0 { if v * 2 > 9 { v * 2 - 9 } else { v * 2 } } else { v }
        })
        .sum();
    b'0' + ((10 - sum % 10) % 10) as u8
}
