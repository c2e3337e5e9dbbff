//! Chinese sentiment rules over words (jieba-rs segmentation): a customer-service lexicon of
//! complaint and praise words (written for ticketpulse, valences on VADER's -4..4 scale),
//! negation ("不", "没", "没有", "无法": a sentiment word within the three words after one flips
//! and dampens; so does a negator the segmenter kept in the word, "不好"), degree words ("很", "非常", "太", "有点"), contrast ("但是": what follows weighs
//! 1.5×, what precedes 0.5×), exclamation and question marks, and emoji. The score is VADER's
//! normalisation `s / sqrt(s² + 15)`; `None` when no sentiment word was found.

use jieba_rs::Jieba;
use std::collections::HashMap;
use std::sync::OnceLock;

const LEXICON: &[(&str, f32)] = &[
    // complaints
    ("差", -2.0),
    ("太差", -2.6),
    ("很差", -2.4),
    ("慢", -1.5),
    ("太慢", -2.2),
    ("坏", -2.0),
    ("坏了", -2.0),
    ("破", -1.5),
    ("破了", -1.8),
    ("失败", -2.0),
    ("错误", -1.5),
    ("问题", -0.8),
    ("投诉", -2.5),
    ("骗", -3.0),
    ("骗子", -3.2),
    ("垃圾", -3.0),
    ("失望", -2.5),
    ("生气", -2.5),
    ("愤怒", -3.0),
    ("着急", -1.5),
    ("焦急", -1.5),
    ("烦", -2.0),
    ("麻烦", -1.2),
    ("不满", -2.5),
    ("不满意", -2.6),
    ("发热", -1.5),
    ("发烫", -2.0),
    ("烫", -1.5),
    ("闪屏", -1.8),
    ("闪烁", -1.5),
    ("卡顿", -1.8),
    ("死机", -2.0),
    ("黑屏", -2.0),
    ("扣钱", -1.8),
    ("扣款", -1.2),
    ("锁定", -1.2),
    ("过期", -1.0),
    ("拒绝", -1.5),
    ("严重", -1.5),
    ("无语", -2.0),
    ("离谱", -2.5),
    ("恶心", -3.0),
    ("难用", -2.5),
    ("糟糕", -2.5),
    ("不行", -2.0),
    ("不了", -1.2),
    ("没到", -1.5),
    ("催", -1.2),
    ("等了", -1.0),
    ("一直", -0.6),
    ("又", -0.6),
    ("还是", -0.4),
    ("故障", -2.0),
    ("损坏", -2.2),
    ("丢失", -2.0),
    ("乱扣", -2.5),
    ("态度", -0.3),
    ("敷衍", -2.5),
    ("退货", -0.8),
    ("不能", -1.0),
    ("不到", -1.2),
    ("没用", -2.0),
    ("用不了", -2.0),
    ("不理", -1.8),
    // praise and thanks
    ("好", 1.5),
    ("很好", 2.0),
    ("满意", 2.5),
    ("谢谢", 2.0),
    ("感谢", 2.2),
    ("太好了", 3.0),
    ("解决", 1.8),
    ("解决了", 2.2),
    ("快", 1.2),
    ("及时", 1.5),
    ("专业", 1.8),
    ("耐心", 1.8),
    ("不错", 2.0),
    ("棒", 2.5),
    ("赞", 2.5),
    ("喜欢", 2.0),
    ("干净", 1.5),
    ("方便", 1.5),
    ("顺利", 1.5),
    ("好的", 0.8),
    ("辛苦", 0.8),
    ("放心", 1.5),
    ("给力", 2.5),
    ("完美", 3.0),
    ("开心", 2.5),
    ("高兴", 2.5),
    // progress a customer expects: negated, they are complaints ("没更新", "没收到")
    ("更新", 1.5),
    ("收到", 1.5),
    ("到账", 1.5),
    ("回复", 1.5),
    ("发货", 1.5),
    ("处理", 1.2),
    ("联系", 1.0),
    ("生效", 1.5),
    ("开机", 1.5),
    ("登录", 1.2),
    ("退回", 1.0),
];

const NEGATORS: &[&str] =
    &["不", "没", "没有", "无法", "未", "别", "不能", "不会", "没法", "无", "难以", "还没", "并不"];

const DEGREE: &[(&str, f32)] = &[
    ("很", 1.3),
    ("非常", 1.5),
    ("太", 1.5),
    ("特别", 1.5),
    ("极其", 1.8),
    ("十分", 1.5),
    ("超", 1.5),
    ("超级", 1.6),
    ("最", 1.6),
    ("更", 1.2),
    ("有点", 0.7),
    ("有些", 0.7),
    ("稍微", 0.6),
    ("比较", 0.9),
    ("一点", 0.7),
    ("真", 1.3),
    ("好几", 1.2),
];

const CONTRAST: &[&str] = &["但是", "可是", "不过", "然而", "但", "却"];

struct Rules {
    jieba: Jieba,
    lexicon: HashMap<&'static str, f32>,
}

fn rules() -> &'static Rules {
    static RULES: OnceLock<Rules> = OnceLock::new();
    RULES.get_or_init(|| Rules { jieba: Jieba::new(), lexicon: LEXICON.iter().copied().collect() })
}

/// Loads the segmenter's dictionary now (it takes ~0.1 s) rather than on the first message.
pub fn warm_up() {
    let _ = rules();
}

/// The rules' score of `text` in [-1, 1], or `None` without any sentiment word or emoji.
pub fn score(text: &str) -> Option<f32> {
    let r = rules();
    let words: Vec<&str> = r.jieba.cut(text, true).into_iter().map(|t| t.word).collect();
    let mut sentiments: Vec<f32> = vec![0.0; words.len()];
    let mut found = false;
    for (i, w) in words.iter().enumerate() {
        // a word the segmenter keeps whole with its negator ("不好", "没用"): the negated valence
        let negated =
            ["不", "没", "无"].iter().find_map(|n| w.strip_prefix(n)).and_then(|rest| r.lexicon.get(rest));
        let Some(base) = r.lexicon.get(w).copied().or(negated.map(|v| -0.74 * v)) else { continue };
        found = true;
        let mut v = base;
        for back in 1..=3 {
            let Some(prev) = i.checked_sub(back).map(|j| words[j]) else { break };
            if CONTRAST.contains(&prev) || prev.chars().all(|c| "，,。.！!？?；;".contains(c)) {
                break; // a clause boundary ends the reach of negation and degree words
            }
            if NEGATORS.contains(&prev) {
                v *= -0.74;
            } else if let Some(&(_, k)) = DEGREE.iter().find(|(d, _)| *d == prev) {
                v *= k;
            }
        }
        sentiments[i] = v;
    }
    if let Some(c) = words.iter().rposition(|w| CONTRAST.contains(w)) {
        for (j, s) in sentiments.iter_mut().enumerate() {
            *s *= if j < c { 0.5 } else { 1.5 };
        }
    }
    let mut sum: f32 = sentiments.iter().sum();
    for ch in text.chars() {
        if let Some(v) = super::emoji_valence(ch) {
            sum += v;
            found = true;
        }
    }
    if !found {
        return None;
    }
    if sum != 0.0 {
        let bangs = text.chars().filter(|c| *c == '！' || *c == '!').count().min(4) as f32 * 0.292;
        let questions = text.chars().filter(|c| *c == '？' || *c == '?').count();
        let q = if questions > 1 { (questions.min(3) as f32) * 0.18 } else { 0.0 };
        sum += (bangs + q) * sum.signum();
    }
    Some(sum / (sum * sum + 15.0).sqrt())
}
