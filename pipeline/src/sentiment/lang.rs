//! Language of a message from its characters: Chinese (Han), English (Latin letters), or mixed.

use serde::{Deserialize, Serialize};

/// The language of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Lang {
    /// Chinese.
    Zh,
    /// English (and other Latin-script text).
    En,
    /// Both, each with at least a fifth of the letters.
    Mixed,
}

impl Lang {
    /// `zh`, `en`, `mixed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
            Lang::Mixed => "mixed",
        }
    }

    /// The language named by an event's `lang` hint (`zh`, `zh-CN`, `en-US`, ...), if known.
    pub fn from_hint(hint: &str) -> Option<Lang> {
        let primary = hint.split(['-', '_']).next().unwrap_or("").to_ascii_lowercase();
        match primary.as_str() {
            "zh" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }
}

/// A Han character (CJK unified ideographs and extension A, compatibility ideographs).
pub fn is_han(c: char) -> bool {
    matches!(c, '\u{4e00}'..='\u{9fff}' | '\u{3400}'..='\u{4dbf}' | '\u{f900}'..='\u{faff}')
}

/// Detects the language: Han characters count one each, Latin words one each; mixed when the
/// smaller side has at least a fifth of the total. Text with neither is English.
pub fn detect(text: &str) -> Lang {
    let han = text.chars().filter(|&c| is_han(c)).count();
    let words = text.split(|c: char| !c.is_ascii_alphabetic()).filter(|w| w.len() >= 2).count();
    let total = han + words;
    if han == 0 {
        return Lang::En;
    }
    if words * 5 >= total {
        return Lang::Mixed;
    }
    Lang::Zh
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_chinese_english_and_mixed() {
        assert_eq!(detect("我的包裹到哪了？已经三天没更新了"), Lang::Zh);
        assert_eq!(detect("Where is my package? No update for 3 days"), Lang::En);
        assert_eq!(detect("订单123还没到"), Lang::Zh);
        assert_eq!(detect("我的iPhone charging port坏了"), Lang::Mixed);
        assert_eq!(detect(":)"), Lang::En);
        assert_eq!(Lang::from_hint("zh-CN"), Some(Lang::Zh));
        assert_eq!(Lang::from_hint("fr"), None);
    }
}
