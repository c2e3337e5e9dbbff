//! English sentiment, VADER's rules (Hutto & Gilbert 2014) over its MIT lexicon, plus the words
//! of support complaints that a general lexicon misses ("still no", "not received", "delayed",
//! "waiting", "again", "stuck", "refund"). The compound score is VADER's normalisation of the
//! summed valences: `s / sqrt(s² + 15)`, in [-1, 1].

use std::collections::HashMap;

const BOOST: f32 = 0.293;
const CAPS: f32 = 0.733;
const NEGATION: f32 = -0.74;

const NEGATIONS: &[&str] = &[
    "not",
    "no",
    "never",
    "none",
    "nobody",
    "nothing",
    "neither",
    "nor",
    "nowhere",
    "cannot",
    "cant",
    "can't",
    "dont",
    "don't",
    "doesnt",
    "doesn't",
    "didnt",
    "didn't",
    "isnt",
    "isn't",
    "wasnt",
    "wasn't",
    "arent",
    "aren't",
    "werent",
    "weren't",
    "wont",
    "won't",
    "wouldnt",
    "wouldn't",
    "havent",
    "haven't",
    "hasnt",
    "hasn't",
    "hadnt",
    "hadn't",
    "shouldnt",
    "shouldn't",
    "couldnt",
    "couldn't",
    "aint",
    "ain't",
    "without",
];

const BOOSTERS_UP: &[&str] = &[
    "absolutely",
    "amazingly",
    "awfully",
    "completely",
    "considerably",
    "decidedly",
    "deeply",
    "enormously",
    "entirely",
    "especially",
    "exceptionally",
    "extremely",
    "fabulously",
    "greatly",
    "highly",
    "hugely",
    "incredibly",
    "intensely",
    "majorly",
    "more",
    "most",
    "particularly",
    "purely",
    "quite",
    "really",
    "remarkably",
    "so",
    "substantially",
    "thoroughly",
    "totally",
    "tremendously",
    "unbelievably",
    "unusually",
    "utterly",
    "very",
    "super",
    "seriously",
];

const BOOSTERS_DOWN: &[&str] = &[
    "almost",
    "barely",
    "hardly",
    "kind of",
    "kinda",
    "less",
    "little",
    "marginally",
    "occasionally",
    "partly",
    "scarcely",
    "slightly",
    "somewhat",
    "sort of",
];

/// Support-domain words and their valences (VADER scale, -4..4), beside the general lexicon.
const DOMAIN: &[(&str, f32)] = &[
    ("delay", -1.5),
    ("delayed", -1.8),
    ("delays", -1.5),
    ("late", -1.2),
    ("waiting", -1.0),
    ("waited", -1.2),
    ("wait", -0.6),
    ("stuck", -1.8),
    ("again", -0.6),
    ("charged", -0.8),
    ("overcharged", -2.2),
    ("refund", -0.6),
    ("broken", -1.9),
    ("overheating", -2.0),
    ("overheats", -2.0),
    ("flickering", -1.5),
    ("flickers", -1.5),
    ("declined", -1.4),
    ("failed", -2.0),
    ("fails", -1.8),
    ("crash", -1.8),
    ("crashes", -1.8),
    ("locked", -1.2),
    ("lost", -1.5),
    ("missing", -1.4),
    ("cancel", -0.8),
    ("unacceptable", -2.6),
    ("ridiculous", -2.2),
    ("worst", -3.1),
    ("useless", -2.4),
    ("resolved", 1.4),
    ("fixed", 1.4),
    ("received", 0.6),
    ("arrived", 0.8),
    ("arrives", 0.8),
    ("works", 1.2),
    ("thanks", 1.9),
    ("thank", 1.5),
    ("still", -0.8),
    ("twice", -0.8),
    ("runaround", -2.0),
    ("unresolved", -1.8),
    ("incorrect", -1.2),
    ("laziness", -1.5),
    ("arrive", 0.8),
    ("work", 0.6),
    ("working", 0.6),
    // words of requests and of the support trade, not of feeling, in a message to support
    // ("please help", "customer support", "would you like", "sure, DM sent", "free upgrade")
    ("please", 0.0),
    ("help", 0.0),
    ("like", 0.0),
    ("support", 0.0),
    ("care", 0.0),
    ("united", 0.0),
    ("sure", 0.0),
    ("yes", 0.0),
    ("ok", 0.0),
    ("okay", 0.0),
    ("free", 0.0),
    ("save", 0.0),
    ("ready", 0.0),
    ("pretty", 0.0),
    ("assurance", 0.0),
];

/// Thanks that is courtesy rather than praise when the message also complains or asks
/// ("still broken. thanks", "any update? thanks"): it then weighs this much.
const COURTESY: &[&str] = &["thanks", "thank", "thx", "ty"];
const COURTESY_WEIGHT: f32 = 0.3;

/// Two-word complaints: (first, second, valence) replacing the words' own valences.
const PHRASES: &[(&str, &str, f32)] = &[
    ("still", "no", -2.0),
    ("still", "not", -2.0),
    ("still", "waiting", -2.2),
    ("not", "received", -2.0),
    ("never", "received", -2.4),
    ("never", "arrived", -2.4),
    ("not", "arrived", -1.9),
    ("no", "update", -1.6),
    ("no", "response", -1.9),
    ("no", "reply", -1.9),
    ("keeps", "crashing", -2.2),
    ("doesn't", "work", -1.9),
    ("not", "working", -1.9),
    ("won't", "turn", -1.6),
    ("money", "back", -0.8),
    ("can't", "log", -1.6),
    ("cannot", "log", -1.6),
    ("fed", "up", -2.2),
    ("won't", "let", -1.4),
    ("didn't", "arrive", -1.8),
    ("not", "delivered", -1.8),
    ("no", "help", -1.8),
    ("zero", "stars", -2.5),
];

/// The English scorer.
#[derive(Debug, Clone)]
pub struct Vader {
    lexicon: HashMap<String, f32>,
}

/// Lower-cased token with surrounding punctuation removed (emoticons like `:)` are kept whole
/// when they are in the lexicon).
fn clean(token: &str) -> &str {
    token.trim_matches(|c: char| !c.is_alphanumeric() && c != '\'')
}

impl Vader {
    /// From lexicon lines `token<TAB>valence[<TAB>...]` (the VADER file or its shipped subset).
    pub fn from_lexicon(text: &str) -> Vader {
        let mut lexicon: HashMap<String, f32> = text
            .lines()
            .filter_map(|l| {
                let mut parts = l.split('\t');
                let token = parts.next()?;
                let valence = parts.next()?.trim().parse().ok()?;
                Some((token.to_string(), valence))
            })
            .collect();
        for (w, v) in DOMAIN {
            lexicon.insert((*w).to_string(), *v);
        }
        Vader { lexicon }
    }

    /// Words in the lexicon.
    pub fn len(&self) -> usize {
        self.lexicon.len()
    }

    /// True without any word.
    pub fn is_empty(&self) -> bool {
        self.lexicon.is_empty()
    }

    /// The compound score of `text`, in [-1, 1].
    pub fn compound(&self, text: &str) -> f32 {
        // account handles and links name things, they carry no feeling ("@united", "@AmazonHelp");
        // "fixed.thanks" is two words
        // typographic apostrophes ("don’t") are the ASCII one for negations
        let text: std::borrow::Cow<'_, str> =
            if text.contains('\u{2019}') { text.replace('\u{2019}', "'").into() } else { text.into() };
        let text: &str = &text;
        let raw: Vec<&str> = text
            .split_whitespace()
            .filter(|t| !t.starts_with('@') && !t.starts_with("http"))
            .flat_map(split_glued)
            .collect();
        let tokens: Vec<String> = raw
            .iter()
            .map(|t| if self.lexicon.contains_key(*t) { (*t).to_string() } else { clean(t).to_lowercase() })
            .collect();
        let shouting = raw.iter().any(|t| is_caps(t)) && raw.iter().any(|t| !is_caps(t));
        let mut sentiments: Vec<f32> = vec![0.0; tokens.len()];
        let mut i = 0;
        while i < tokens.len() {
            let t = tokens[i].as_str();
            if let Some(next) = tokens.get(i + 1)
                && let Some(&(_, _, v)) = PHRASES.iter().find(|(a, b, _)| *a == t && b == next)
            {
                sentiments[i] = v;
                i += 2;
                continue;
            }
            let Some(&base) = self.lexicon.get(t) else {
                i += 1;
                continue;
            };
            if BOOSTERS_UP.contains(&t) || BOOSTERS_DOWN.contains(&t) {
                i += 1;
                continue;
            }
            let mut v = base;
            if shouting && is_caps(raw[i]) {
                v += CAPS * v.signum();
            }
            for back in 1..=3 {
                let Some(j) = i.checked_sub(back) else { break };
                let prev = &tokens[j];
                if raw[j].ends_with(['.', ',', '!', '?', ';', ':']) && !self.lexicon.contains_key(raw[j]) {
                    break; // negation and boosters do not reach across a clause ("didn't work. How rude")
                }
                let damp = [1.0, 0.95, 0.9][back - 1];
                if BOOSTERS_UP.contains(&prev.as_str()) {
                    v += BOOST * damp * v.signum();
                } else if BOOSTERS_DOWN.contains(&prev.as_str()) {
                    v -= BOOST * damp * v.signum();
                }
                // "no" negates the next two words only, as in VADER ("no its still broken")
                let no_reach = prev != "no" || back <= 2;
                if (NEGATIONS.contains(&prev.as_str()) || prev.ends_with("n't")) && no_reach {
                    v *= NEGATION;
                }
            }
            sentiments[i] = v;
            i += 1;
        }
        // "but": what comes after it counts more than what came before
        if let Some(b) = tokens.iter().position(|t| t == "but" || t == "however") {
            for (j, s) in sentiments.iter_mut().enumerate() {
                *s *= if j < b { 0.5 } else { 1.5 };
            }
        }
        let complains = sentiments.iter().any(|&v| v < 0.0) || text.contains('?');
        if complains {
            for (t, s) in tokens.iter().zip(sentiments.iter_mut()) {
                if COURTESY.contains(&t.as_str()) {
                    *s *= COURTESY_WEIGHT;
                }
            }
        }
        let mut sum: f32 =
            sentiments.iter().sum::<f32>() + text.chars().filter_map(super::emoji_valence).sum::<f32>();
        if sum != 0.0 {
            let bangs = text.matches('!').count().min(4) as f32 * 0.292;
            let questions = match text.matches('?').count() {
                0 | 1 => 0.0,
                n if n <= 3 => n as f32 * 0.18,
                _ => 0.96,
            };
            sum += (bangs + questions) * sum.signum();
        }
        sum / (sum * sum + 15.0).sqrt()
    }
}

/// Splits a token at sentence punctuation glued between letters ("fixed.thanks", "it??I'm"),
/// keeping the punctuation on the left part (it closes a clause).
fn split_glued(token: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let chars: Vec<(usize, char)> = token.char_indices().collect();
    for w in chars.windows(2) {
        let ((_, a), (j, b)) = (w[0], w[1]);
        if matches!(a, '.' | '?' | '!' | ',')
            && b.is_alphabetic()
            && token[start..j].chars().any(char::is_alphabetic)
        {
            parts.push(&token[start..j]);
            start = j;
        }
    }
    parts.push(&token[start..]);
    parts
}

fn is_caps(token: &str) -> bool {
    let letters: Vec<char> = token.chars().filter(|c| c.is_alphabetic()).collect();
    letters.len() >= 2 && letters.iter().all(|c| c.is_uppercase())
}
