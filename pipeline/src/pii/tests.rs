use super::*;

fn masker() -> Masker {
    Masker::new(&PiiConfig::default()).unwrap()
}

fn mask(text: &str) -> String {
    masker().mask(text, &mut Counts::default()).into_owned()
}

#[test]
fn chinese_text_with_every_kind() {
    let cases = [
        ("我的手机号是13812345678，请尽快联系", "我的手机号是<PHONE>，请尽快联系"),
        ("电话+86 139 1234 5678谢谢", "电话<PHONE>谢谢"),
        ("手机：8615912345678", "手机：<PHONE>"),
        ("邮箱zhang.wei@example.com.cn收不到验证码", "邮箱<EMAIL>收不到验证码"),
        ("QQ邮箱123456789@qq.com", "QQ邮箱<EMAIL>"),
        ("身份证号110101199003074514，实名认证失败", "身份证号<ID>，实名认证失败"),
        ("身份证44030419851231002X", "身份证<ID>"),
        ("身份证 440304 19851231 002x 已上传", "身份证 <ID> 已上传"),
        ("银行卡6222021234567890128扣款两次", "银行卡<CARD>扣款两次"),
        ("卡号 6217 0012 3412 3416 被冻结", "卡号 <CARD> 被冻结"),
        ("座机010-65528888或者021-5555 6666", "座机<PHONE>或者<PHONE>"),
    ];
    for (text, want) in cases {
        assert_eq!(mask(text), want, "{text}");
    }
}

#[test]
fn english_text_with_every_kind() {
    let cases = [
        ("Call me at +1 (415) 555-0134 please", "Call me at <PHONE> please"),
        ("my number is (415) 555-0134.", "my number is <PHONE>."),
        ("reach me on 415-555-0134 or 415.555.0134", "reach me on <PHONE> or <PHONE>"),
        ("UK: +44 20 7946 0958", "UK: <PHONE>"),
        ("email jane.doe+support@mail.example.org, thanks", "email <EMAIL>, thanks"),
        ("card 4111 1111 1111 1111 was charged twice", "card <CARD> was charged twice"),
        ("card 4111-1111-1111-1111", "card <CARD>"),
        ("amex 3782 822463 10005 declined", "amex <CARD> declined"),
    ];
    for (text, want) in cases {
        assert_eq!(mask(text), want, "{text}");
    }
}

#[test]
fn what_identifies_no_one_is_kept() {
    let kept = [
        "order 1234567890 has not shipped",           // 10-digit order number
        "订单号 9876543210 还没发货",                 // Chinese order number
        "charged 3 times for 1,299.00 on 2026-11-21", // amounts and dates
        "on 2026-11-21 10:30 it broke",
        "tracking SF1234567890123",          // 13 digits failing Luhn
        "4111 1111 1111 1112 is not a card", // Luhn fails
        "110101199003074515 has a wrong check digit",
        "version 1.2.3.4 and @AppleSupport", // a handle is not an e-mail
        "共12345678件",                      // 8 digits, no phone shape
    ];
    for text in kept {
        assert_eq!(mask(text), text);
    }
}

#[test]
fn a_phone_beside_a_date_masks_only_the_phone() {
    assert_eq!(mask("2026-11-21 13812345678"), "2026-11-21 <PHONE>");
    assert_eq!(mask("13812345678 2026-11-21"), "<PHONE> 2026-11-21");
}

#[test]
fn counts_per_kind_and_configured_patterns_first() {
    let config = PiiConfig {
        enabled: true,
        patterns: vec![PatternConfig {
            name: "passport".into(),
            pattern: r"\b[EG]\d{8}\b".into(),
            token: None,
        }],
    };
    let m = Masker::new(&config).unwrap();
    let mut counts = Counts::default();
    let out = m.mask("passport E12345678, phone 13812345678, a@b.cn, 13912345678", &mut counts);
    assert_eq!(out, "passport <PASSPORT>, phone <PHONE>, <EMAIL>, <PHONE>");
    assert_eq!(m.labels(), ["phone", "email", "id_number", "bank_card", "passport"]);
    assert_eq!(counts.0, [2, 1, 0, 0, 1]);
    assert_eq!(counts.total(), 4);
}

#[test]
fn nothing_found_borrows() {
    let m = masker();
    let text = "我的电池充电时发烫 and it drains fast";
    assert!(matches!(m.mask(text, &mut Counts::default()), Cow::Borrowed(_)));
}

#[test]
fn bytes_that_are_not_utf8_are_masked_around() {
    let m = masker();
    let raw = b"{\"text\":\"\xff\xfe call 13812345678\"}";
    let out = m.mask_bytes(raw, &mut Counts::default());
    assert_eq!(&out[..], b"{\"text\":\"\xff\xfe call <PHONE>\"}");
}

#[test]
fn bad_patterns_fail_naming_the_field() {
    let bad = |name: &str, pattern: &str| {
        let config = PiiConfig {
            enabled: true,
            patterns: vec![PatternConfig { name: name.into(), pattern: pattern.into(), token: None }],
        };
        Masker::new(&config).unwrap_err().to_string()
    };
    assert!(bad("order", "(unclosed").contains("pii.patterns[0].pattern"), "{}", bad("order", "(unclosed"));
    assert!(bad("Order", "x").contains("pii.patterns[0].name"));
    assert!(bad("phone", "x").contains("built-in"));
    assert!(bad("empty", "a*").contains("empty string"));
}

#[test]
fn hostile_input_is_linear() {
    // thousands of digit groups: scanned in bounded windows, not all pairs
    let text = "1 ".repeat(50_000) + "13812345678";
    let out = mask(&text);
    assert!(out.ends_with("<PHONE>"));
    let text = "12-".repeat(20_000);
    assert_eq!(mask(&text), text);
}
