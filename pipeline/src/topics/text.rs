//! The words of a ticket: Chinese runs segmented by jieba-rs, other text split into Unicode words
//! (unicode-segmentation), lower-cased; stop words of both languages dropped; numbers, order ids
//! and amounts normalised to one token (`<num>`) so that "order 12345" and "order 67890" share
//! their words; English words reduced to their Snowball stems (rust-stemmers: "transferred",
//! "transfers" -> "transfer"); optionally the character bigrams of Chinese runs, which help short Chinese texts
//! whose words the segmenter splits inconsistently.

use unicode_segmentation::UnicodeSegmentation;

/// The token numbers and ids become.
pub const NUMBER: &str = "<num>";

/// English stop words: function words and the greetings and fillers of messages to support.
const EN_STOP: &[&str] = &[
    "a",
    "about",
    "above",
    "after",
    "again",
    "all",
    "also",
    "am",
    "an",
    "and",
    "any",
    "are",
    "as",
    "at",
    "be",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "by",
    "can",
    "could",
    "did",
    "do",
    "does",
    "doing",
    "down",
    "during",
    "each",
    "few",
    "for",
    "from",
    "further",
    "had",
    "has",
    "have",
    "having",
    "he",
    "her",
    "here",
    "hers",
    "herself",
    "him",
    "himself",
    "his",
    "how",
    "i",
    "if",
    "in",
    "into",
    "is",
    "it",
    "its",
    "itself",
    "just",
    "me",
    "more",
    "most",
    "my",
    "myself",
    "now",
    "of",
    "off",
    "on",
    "once",
    "only",
    "or",
    "other",
    "our",
    "ours",
    "ourselves",
    "out",
    "over",
    "own",
    "same",
    "she",
    "should",
    "so",
    "some",
    "such",
    "than",
    "that",
    "the",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "through",
    "to",
    "too",
    "under",
    "until",
    "up",
    "very",
    "was",
    "we",
    "were",
    "what",
    "when",
    "where",
    "which",
    "while",
    "who",
    "whom",
    "why",
    "will",
    "with",
    "would",
    "you",
    "your",
    "yours",
    "yourself",
    "yourselves",
    "im",
    "ive",
    "id",
    "dont",
    "cant",
    "m",
    "s",
    "t",
    "ll",
    "ve",
    "re",
    "d",
    "hi",
    "hello",
    "hey",
    "please",
    "thanks",
    "thank",
    "thx",
    "pls",
    "ok",
    "okay",
    "yes",
    "yeah",
    "get",
    "got",
    "one",
    "still",
    "already",
    "yet",
    "ever",
    "us",
    "let",
    "may",
    "might",
    "must",
    "shall",
    "via",
    "etc",
    "wa",
];

/// Chinese stop words: particles, pronouns, conjunctions and the politeness of support messages.
const ZH_STOP: &[&str] = &[
    "的",
    "了",
    "是",
    "在",
    "我",
    "你",
    "您",
    "他",
    "她",
    "它",
    "我们",
    "你们",
    "他们",
    "这",
    "那",
    "这个",
    "那个",
    "就",
    "也",
    "都",
    "还",
    "又",
    "和",
    "与",
    "及",
    "或",
    "而",
    "吗",
    "呢",
    "吧",
    "啊",
    "呀",
    "哦",
    "嗯",
    "哈",
    "么",
    "啦",
    "嘛",
    "着",
    "过",
    "把",
    "被",
    "给",
    "让",
    "对",
    "从",
    "向",
    "跟",
    "为",
    "为了",
    "什么",
    "怎么",
    "怎么办",
    "怎样",
    "如何",
    "为什么",
    "哪",
    "哪里",
    "谁",
    "多少",
    "几",
    "一个",
    "一下",
    "有",
    "没有",
    "没",
    "不",
    "很",
    "太",
    "请",
    "请问",
    "麻烦",
    "谢谢",
    "您好",
    "你好",
    "一直",
    "已经",
    "现在",
    "可以",
    "能",
    "能不能",
    "会",
    "要",
    "想",
    "说",
    "到",
    "上",
    "下",
    "里",
    "中",
    "个",
    "之",
    "其",
    "等",
    "但是",
    "但",
    "因为",
    "所以",
    "如果",
    "然后",
    "还是",
    "就是",
    "这样",
    "那么",
    "自己",
    "时候",
];

use crate::sentiment::lang::is_han;

/// True for numbers, amounts and ids: a token with a digit ("12345", "a1b2c3", "3.5") or made of
/// two or more Chinese numerals ("三十").
fn is_numberish(token: &str) -> bool {
    const NUMERALS: &str = "〇零一二三四五六七八九十百千万两";
    token.chars().any(|c| c.is_ascii_digit())
        || (token.chars().count() > 1 && token.chars().all(|c| NUMERALS.contains(c)))
}

/// The text before the first mask token (`<` + lower-case letters and `_` + `>`, what
/// [`crate::pii`] writes), the token, and the text after it.
fn split_mask_token(text: &str) -> Option<(&str, &str, &str)> {
    let mut from = 0;
    while let Some(open) = text[from..].find('<').map(|i| i + from) {
        let inner_end = text[open + 1..].find(|c: char| !(c.is_ascii_lowercase() || c == '_'));
        if let Some(len) = inner_end
            && len > 0
            && text[open + 1 + len..].starts_with('>')
        {
            let close = open + 1 + len;
            return Some((&text[..open], &text[open..=close], &text[close + 1..]));
        }
        from = open + 1;
    }
    None
}

fn stemmer() -> &'static rust_stemmers::Stemmer {
    static STEMMER: std::sync::OnceLock<rust_stemmers::Stemmer> = std::sync::OnceLock::new();
    STEMMER.get_or_init(|| rust_stemmers::Stemmer::create(rust_stemmers::Algorithm::English))
}

/// Splits ticket texts into tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Tokenizer {
    /// Also emit the character bigrams of Chinese runs.
    pub char_bigrams: bool,
}

impl Tokenizer {
    /// The tokens of `text`.
    pub fn tokens(&self, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        self.visit(text, &mut |token, _| out.push(token));
        out
    }

    /// The tokens of `text`, each with the word it came from (a stem's surface form, for labels).
    pub fn tokens_with_surface(&self, text: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        self.visit(text, &mut |token, surface| out.push((token, surface.to_string())));
        out
    }

    /// Calls `emit(token, surface)` for each token of `text`, in order.
    fn visit(&self, text: &str, emit: &mut dyn FnMut(String, &str)) {
        let lower = text.to_lowercase();
        let mut start = 0;
        let mut han = None;
        for (i, c) in lower.char_indices() {
            let is = is_han(c);
            match han {
                Some(h) if h != is => {
                    self.run(&lower[start..i], h, emit);
                    start = i;
                    han = Some(is);
                }
                None => han = Some(is),
                _ => {}
            }
        }
        if let Some(h) = han {
            self.run(&lower[start..], h, emit);
        }
    }

    fn run(&self, text: &str, han: bool, emit: &mut dyn FnMut(String, &str)) {
        if han { self.han(text, emit) } else { self.words(text, emit) }
    }

    fn words(&self, text: &str, emit: &mut dyn FnMut(String, &str)) {
        // a masked span (`<phone>`, `<email>`, lower-cased here) is an id like an order number
        let mut rest = text;
        while let Some((before, token, after)) = split_mask_token(rest) {
            self.plain_words(before, emit);
            emit(NUMBER.to_string(), token);
            rest = after;
        }
        self.plain_words(rest, emit);
    }

    fn plain_words(&self, text: &str, emit: &mut dyn FnMut(String, &str)) {
        for w in text.unicode_words() {
            let w = w.trim_end_matches("'s").trim_end_matches("\u{2019}s");
            if is_numberish(w) {
                emit(NUMBER.to_string(), w);
            } else if w.chars().count() >= 2 && !EN_STOP.contains(&w) && !w.contains(['\'', '\u{2019}']) {
                emit(stemmer().stem(w).into_owned(), w);
            }
        }
    }

    fn han(&self, run: &str, emit: &mut dyn FnMut(String, &str)) {
        for w in crate::sentiment::chinese_rules::jieba().cut(run, true) {
            let w = w.word;
            if is_numberish(w) {
                emit(NUMBER.to_string(), w);
            } else if w.chars().count() >= 2 && !ZH_STOP.contains(&w) {
                // single characters ("月", "图", "称") are mostly function words and units in
                // Chinese; their meaning is carried by the words and bigrams around them
                emit(w.to_string(), w);
            }
        }
        if self.char_bigrams {
            let chars: Vec<(usize, char)> = run.char_indices().collect();
            for pair in chars.windows(2) {
                let ((i, _), (j, d)) = (pair[0], pair[1]);
                let bigram = &run[i..j + d.len_utf8()];
                emit(bigram.to_string(), bigram);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_spans_are_numbers_not_words() {
        let t = Tokenizer::default();
        assert_eq!(t.tokens("call <PHONE> about the refund"), ["call", NUMBER, "refund"]);
        assert_eq!(t.tokens("x<y and <EMAIL>, <ID>"), [NUMBER, NUMBER]);
        let zh = t.tokens("我的手机号<PHONE>收不到验证码");
        assert!(zh.contains(&NUMBER.to_string()) && !zh.contains(&"phone".to_string()), "{zh:?}");
    }

    #[test]
    fn words_of_both_languages_without_stop_words_and_with_numbers_normalised() {
        let t = Tokenizer::default();
        assert_eq!(
            t.tokens("Where is my order #12345? It's late, cards arrived"),
            ["order", NUMBER, "late", "card", "arriv"]
        );
        let zh = t.tokens("我的手机电池发热很严重，订单号A1234");
        assert!(zh.iter().any(|w| w.contains("电池")) && zh.contains(&"发热".to_string()), "{zh:?}");
        assert!(!zh.contains(&"的".to_string()) && zh.contains(&NUMBER.to_string()), "{zh:?}");
        let bigrams = Tokenizer { char_bigrams: true }.tokens("电池发热");
        assert!(bigrams.contains(&"池发".to_string()), "{bigrams:?}");
    }
}
