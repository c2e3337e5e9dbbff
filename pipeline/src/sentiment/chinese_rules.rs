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
    ("没人管", -2.2),
    ("打不通", -2.0),
    ("占线", -1.5),
    ("掉线", -2.0),
    ("弄丢", -2.5),
    ("丢", -1.5),
    ("发错", -2.5),
    ("错", -1.2),
    ("到现在", -1.5),
    ("至今", -1.5),
    ("耗", -1.5),
    ("排队", -1.0),
    ("凭什么", -2.8),
    ("到底", -1.5),
    ("抢钱", -3.0),
    ("杀熟", -3.0),
    ("坑", -2.5),
    ("什么鬼", -2.5),
    ("呵呵", -3.0),
    ("浪费", -2.5),
    ("答非所问", -2.8),
    ("莫名其妙", -2.2),
    ("永远", -1.0),
    ("重复", -1.0),
    ("干嘛", -1.2),
    ("停机", -1.0),
    ("封号", -1.5),
    ("还要", -0.8),
    ("土豆", -1.0),
    ("崩溃", -2.5),
    ("服了", -2.0),
    ("绝了", -1.5),
    ("气死", -3.0),
    ("受不了", -2.5),
    ("忍无可忍", -3.2),
    ("扯皮", -2.5),
    ("推脱", -2.2),
    ("踢皮球", -2.5),
    ("石沉大海", -2.5),
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
    ("感动", 2.2),
    ("惊喜", 2.5),
    ("好评", 2.5),
    ("用心", 2.0),
    ("没得说", 2.5),
    ("yyds", 2.5),
    ("表扬", 2.5),
    ("点赞", 2.5),
    ("靠谱", 2.5),
    ("贴心", 2.5),
    ("热情", 2.0),
    ("周到", 2.0),
    ("松了一口气", 2.0),
    ("终于", 0.8),
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
    ("修好", 1.5),
    ("通知", 1.0),
    ("进展", 1.2),
    ("消息", 0.8),
    ("理解", 1.0),
];

/// Words that open a polite request ("麻烦帮我查一下", "请问"): at the start of a clause
/// "麻烦" asks a favour rather than complains.
const REQUEST_OPENERS: &[&str] = &["麻烦", "请", "请问", "您好", "你好"];

/// Time units: a number of them before "了" (or after "已经", "等了") is a complaint about
/// waiting ("三天了", "已经等了40分钟", "两周了").
const TIME_UNITS: &[&str] = &["分钟", "小时", "钟头", "天", "周", "星期", "礼拜", "个月", "月", "年"];
const WAITED: f32 = -1.6;

fn is_number(w: &str) -> bool {
    let w = w.trim_end_matches('个');
    !w.is_empty() && w.chars().all(|c| c.is_ascii_digit() || "一二两三四五六七八九十几半百多".contains(c))
}

/// Repeated asking ("五遍", "三次", "第二次"): two or more times.
const REPEATED: f32 = -1.0;

/// A waiting complaint (a number of time units before "了", "还", "都", "也", or after "已经",
/// "等了": "三天了", "已经等了40分钟", "第十天了") or repeated asking at word `i`.
fn waited_or_repeated(words: &[&str], i: usize) -> Option<f32> {
    let w = words[i];
    let next = words.get(i + 1).copied().unwrap_or("");
    let before = &words[i.saturating_sub(4)..i];
    let complains = || {
        matches!(next, "了" | "还" | "都" | "也")
            || before.iter().any(|b| matches!(*b, "已经" | "等了" | "等" | "以经" | "又"))
    };
    let counted_in = |w: &str, units: &[&str]| {
        let unit = units.iter().find(|u| w.ends_with(**u))?;
        let n = w.strip_suffix(unit)?.trim_start_matches('第');
        Some(n.is_empty() || is_number(n)).filter(|_| !matches!(n, "一" | "1" | "一个"))
    };
    if counted_in(w, &["次", "遍", "回"]) == Some(true) && !w.starts_with(['次', '遍', '回']) {
        return Some(REPEATED);
    }
    // the unit with its number in one word ("第十天", "两周") or after it ("两个 / 小时")
    let unit = TIME_UNITS.iter().find(|u| w.ends_with(**u))?;
    let number = w.strip_suffix(unit).map(|n| n.trim_start_matches('第')).filter(|n| !n.is_empty());
    let counted = match number {
        Some(n) => is_number(n),
        None => i > 0 && is_number(words[i - 1]),
    };
    (counted && complains()).then_some(WAITED)
}

/// A plain inquiry ("电池发热正常吗？", "请问怎么联系商家"): asked once, without "为什么",
/// "到底", "还要" or exclamation; its score is damped toward neutral (`ZH_INQUIRY`).
pub fn is_inquiry(text: &str) -> bool {
    let t = text.trim_end();
    let marks = t.chars().filter(|c| matches!(c, '？' | '?')).count();
    let asks = ["请问", "怎么", "如何", "是否", "能否", "什么时候", "多久", "哪里", "哪个", "可以", "能不能"]
        .iter()
        .any(|w| t.contains(w))
        || t.trim_end_matches(['？', '?', '。']).ends_with(['吗', '呢']);
    let heated = ["为什么", "凭什么", "到底", "还要", "难道"].iter().any(|w| t.contains(w))
        || t.contains(['！', '!'])
        || t.contains("？？")
        || t.contains("??");
    asks && marks <= 1 && !heated
}

const NEGATORS: &[&str] =
    &["不", "没", "没有", "无法", "未", "别", "不能", "不会", "没法", "无", "难以", "还没", "并不", "没人"];

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
    RULES.get_or_init(|| {
        let mut jieba = Jieba::new();
        // the lexicon's phrases are kept whole by the segmenter ("到现在", "没得说", "什么鬼")
        for (w, _) in LEXICON.iter().filter(|(w, _)| w.chars().count() >= 2) {
            jieba.add_word(w, None, None);
        }
        Rules { jieba, lexicon: LEXICON.iter().copied().collect() }
    })
}

/// The segmenter (jieba's dictionary plus the lexicon's phrases), shared with the topics.
pub fn jieba() -> &'static Jieba {
    &rules().jieba
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
        let clause_start = i == 0 || words[i - 1].chars().all(|c| "，,。.！!？?；; ".contains(c));
        if REQUEST_OPENERS.contains(w) && clause_start {
            continue;
        }
        if let Some(v) = waited_or_repeated(&words, i) {
            sentiments[i] = v;
            found = true;
            continue;
        }
        // a word the segmenter keeps whole with its negator ("不好", "没用"): the negated valence
        let negated =
            ["不", "没", "无"].iter().find_map(|n| w.strip_prefix(n)).and_then(|rest| r.lexicon.get(rest));
        // a word glued to what follows ("谢谢你们"): its longest lexicon prefix of 2+ characters
        let prefix = || {
            // character boundaries from the right, down to the end of the second character
            let shortest = w.char_indices().nth(2).map_or(w.len(), |(k, _)| k);
            let ends = w.char_indices().rev().map(|(k, _)| k).take_while(|&k| k >= shortest);
            ends.map(|end| &w[..end]).find_map(|p| r.lexicon.get(p).copied())
        };
        let base = r.lexicon.get(w).copied().or(negated.map(|v| -0.74 * v));
        let Some(base) = base.or_else(|| (w.chars().count() > 2).then(prefix).flatten()) else { continue };
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
