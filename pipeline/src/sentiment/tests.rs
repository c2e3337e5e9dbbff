use super::*;

#[test]
fn the_shipped_scorer_reads_customer_service_messages_in_both_languages() {
    let s = Scorer::shipped().unwrap();
    let neg = [
        ("我的包裹到哪了？已经三天没更新了", Lang::Zh),
        ("退款申请提交五天了还没到账", Lang::Zh),
        ("手机充电时电池发热很严重", Lang::Zh),
        ("Where is my package? Still no update after 5 days", Lang::En),
        ("I was charged twice and still waiting for my refund!!", Lang::En),
        ("The battery overheats and drains fast", Lang::En),
    ];
    for (text, lang) in neg {
        let r = s.score(text, None);
        assert_eq!(r.lang, lang, "{text}");
        assert_eq!(r.label, Label::Negative, "{text}: {r:?}");
    }
    let pos = [("太好了，谢谢！问题解决了", Lang::Zh), ("Thanks, that fixed it, great support!", Lang::En)];
    for (text, lang) in pos {
        let r = s.score(text, None);
        assert_eq!((r.lang, r.label), (lang, Label::Positive), "{text}: {r:?}");
    }
    assert_eq!(s.score("Where is order 123", None).label, Label::Neutral);
}

#[test]
fn negation_boosters_and_but_follow_vader() {
    let s = Scorer::shipped().unwrap();
    let good = s.en_score("the service is good");
    assert!(s.en_score("the service is not good") < 0.0);
    assert!(s.en_score("the service is very good") > good);
    assert!(s.en_score("the service is good!!!") > good);
    assert!(s.en_score("the app is good but the delivery is terrible") < 0.0);
    assert!(s.en_score("my order is late again 😡") < s.en_score("my order is late again"), "emoji");
}

#[test]
fn a_model_round_trips_through_its_bytes() {
    let examples: Vec<(String, bool)> =
        [("很好很满意", true), ("非常好", true), ("太差了", false), ("很差不满意", false)]
            .into_iter()
            .map(|(t, p)| (t.to_string(), p))
            .collect();
    let m = chinese::Model::train(&examples, 5);
    assert!(m.probability("很好") > m.probability("很差"));
    let back = chinese::Model::from_bytes(&m.to_bytes().unwrap()).unwrap();
    assert!((back.probability("很好") - m.probability("很好")).abs() < 1e-3);
}

#[test]
fn chinese_word_rules_handle_negation_degree_contrast_and_emoji() {
    let r = |t: &str| chinese_rules::score(t).unwrap_or(0.0);
    assert!(r("服务很好") > r("服务好"), "degree");
    assert!(r("服务不好") < 0.0, "negation");
    assert!(r("没有问题") > 0.0, "a negated complaint");
    assert!(r("已经三天没更新了") < 0.0, "expected progress that did not come");
    assert!(r("快递很快，但是包装破了") < 0.0, "what follows 但是 weighs more");
    assert!(r("太差了！！！") < r("太差了"), "exclamation marks");
    assert!(r("又坏了😡") < r("又坏了"), "emoji");
    assert_eq!(chinese_rules::score("查一下订单"), None, "no sentiment word");
}

#[test]
fn support_domain_rules_waiting_repetition_inquiries_requests_and_courtesy() {
    let s = Scorer::shipped().unwrap();
    let label = |t: &str| s.score(t, None).label;
    // waiting and asking again are complaints without any negative word
    assert_eq!(label("等了两个小时都没人回复"), Label::Negative);
    assert_eq!(label("我已经重复说了五遍订单号了"), Label::Negative);
    // a plain question about a symptom, a polite request: not complaints
    assert_eq!(label("电池发热正常吗？"), Label::Neutral);
    assert_eq!(label("麻烦确认一下我的预约是明天上午十点"), Label::Neutral);
    // English: handles are names, "please help" is a request, thanks after a complaint is courtesy
    assert_eq!(label("@united can you check my booking please"), Label::Neutral);
    assert_eq!(label("no its still broken. i deleted it. thanks"), Label::Negative);
    // negation stops at the end of a clause, typographic apostrophes negate too
    assert_eq!(label("Tried, didn't work. How rude :/"), Label::Negative);
    assert_eq!(label("MY HOME BUTTON DOESN’T WORK"), Label::Negative);
}
