use super::*;

fn ok(line: &str) -> Event {
    match decode(line.as_bytes()) {
        Ok(e) => e,
        Err(e) => panic!("{line} should be valid: {e}"),
    }
}

fn bad(line: &str) -> Invalid {
    match decode(line.as_bytes()) {
        Ok(e) => panic!("{line} should be invalid, got {e:?}"),
        Err(e) => e,
    }
}

#[test]
fn decodes_the_contract_example() {
    let e = ok(
        r#"{"event_id":"c17-2","conversation_id":"c17","ts":"2026-11-02T21:04:07+08:00","type":"message","role":"customer","text":"我的包裹到哪了？已经三天没更新了"}"#,
    );
    assert_eq!(e.event_id, "c17-2");
    assert_eq!(e.ts_ms, 1_793_624_647_000);
    assert_eq!(
        e.kind,
        EventKind::Message {
            role: Role::Customer, text: "我的包裹到哪了？已经三天没更新了".into()
        }
    );
}

#[test]
fn both_timestamp_forms_agree() {
    let a = ok(r#"{"event_id":"a","conversation_id":"c","ts":1793625060000,"type":"resolved"}"#);
    let b =
        ok(r#"{"event_id":"b","conversation_id":"c","ts":"2026-11-02T21:11:00+08:00","type":"resolved"}"#);
    let z = ok(r#"{"event_id":"z","conversation_id":"c","ts":"2026-11-02T13:11:00.000Z","type":"resolved"}"#);
    assert_eq!(a.ts_ms, b.ts_ms);
    assert_eq!(a.ts_ms, z.ts_ms);
    let frac =
        ok(r#"{"event_id":"f","conversation_id":"c","ts":"2026-11-02T13:11:00.0006Z","type":"resolved"}"#);
    assert_eq!(frac.ts_ms, a.ts_ms + 1, "sub-millisecond parts round to the nearest millisecond");
}

#[test]
fn rejects_each_invalid_template_of_the_generator() {
    let cases = [
        ("{not json", InvalidReason::NotJson),
        (
            r#"{"event_id":"x","conversation_id":"y","type":"message","role":"customer"}"#,
            InvalidReason::MissingField,
        ),
        (
            r#"{"event_id":"x2","conversation_id":"y","ts":"yesterday","type":"message","role":"customer","text":"hi"}"#,
            InvalidReason::BadTimestamp,
        ),
        (
            r#"{"event_id":"x3","conversation_id":"y","ts":1793550000000,"type":"teleport"}"#,
            InvalidReason::OutOfRange,
        ),
        (
            r#"{"event_id":"x4","conversation_id":"y","ts":1793550000000,"type":"csat","rating":9}"#,
            InvalidReason::OutOfRange,
        ),
        ("[1,2,3]", InvalidReason::NotObject),
        (
            r#"{"event_id":"","conversation_id":"y","ts":1793550000000,"type":"resolved"}"#,
            InvalidReason::OutOfRange,
        ),
        (r#""\ud800 broken surrogate""#, InvalidReason::NotObject),
        ("", InvalidReason::Empty),
        ("   ", InvalidReason::Empty),
    ];
    for (line, reason) in cases {
        let got = bad(line);
        // a lone surrogate is refused either as bad JSON or as a non-object: both are invalid
        if line.contains("ud800") {
            assert!(matches!(got.reason, InvalidReason::NotObject | InvalidReason::NotJson), "{line}: {got}");
        } else {
            assert_eq!(got.reason, reason, "{line}: {got}");
        }
    }
}

#[test]
fn required_fields_per_type() {
    let base = r#""event_id":"e","conversation_id":"c","ts":1"#;
    let b = bad(&format!(r#"{{{base},"type":"conversation_started"}}"#));
    assert_eq!(b.reason, InvalidReason::MissingField);
    assert!(b.detail.contains("channel"), "{b}");
    assert!(bad(&format!(r#"{{{base},"type":"message","text":"x"}}"#)).detail.contains("role"));
    assert!(bad(&format!(r#"{{{base},"type":"message","role":"bot"}}"#)).detail.contains("text"));
    assert!(bad(&format!(r#"{{{base},"type":"handoff"}}"#)).detail.contains("tier"));
    assert_eq!(bad(&format!(r#"{{{base},"type":"handoff","tier":1}}"#)).reason, InvalidReason::OutOfRange);
    assert_eq!(bad(&format!(r#"{{{base},"type":"handoff","tier":"2"}}"#)).reason, InvalidReason::WrongType);
    assert_eq!(bad(&format!(r#"{{{base},"type":"handoff","tier":2.5}}"#)).reason, InvalidReason::WrongType);
    // JSON Schema's integer includes integral numbers written with a fraction
    assert!(matches!(
        ok(&format!(r#"{{{base},"type":"handoff","tier":2.0}}"#)).kind,
        EventKind::Handoff { tier: 2, .. }
    ));
    assert!(bad(&format!(r#"{{{base},"type":"csat"}}"#)).detail.contains("rating"));
    assert_eq!(
        bad(&format!(r#"{{{base},"type":"message","role":"robot","text":""}}"#)).reason,
        InvalidReason::OutOfRange
    );
    // an empty text is allowed
    ok(&format!(r#"{{{base},"type":"message","role":"bot","text":""}}"#));
}

#[test]
fn field_types_ranges_and_forward_compatibility() {
    let base = r#""event_id":"e","conversation_id":"c","ts":1,"type":"resolved""#;
    assert_eq!(bad(&format!(r#"{{{base},"agent_id":7}}"#)).reason, InvalidReason::WrongType);
    assert_eq!(bad(&format!(r#"{{{base},"channel":"WeChat"}}"#)).reason, InvalidReason::OutOfRange);
    assert_eq!(bad(&format!(r#"{{{base},"attrs":[1]}}"#)).reason, InvalidReason::WrongType);
    assert_eq!(
        bad(r#"{"event_id":"e","conversation_id":"c","ts":true,"type":"resolved"}"#).reason,
        InvalidReason::WrongType
    );
    assert_eq!(
        bad(r#"{"event_id":"e","conversation_id":"c","ts":1.5,"type":"resolved"}"#).reason,
        InvalidReason::BadTimestamp
    );
    assert_eq!(
        bad(r#"{"event_id":"e","conversation_id":"c","ts":"2026-11-02T21:04:07","type":"resolved"}"#).reason,
        InvalidReason::BadTimestamp
    );
    let long = "x".repeat(129);
    assert_eq!(
        bad(&format!(r#"{{"event_id":"{long}","conversation_id":"c","ts":1,"type":"resolved"}}"#)).reason,
        InvalidReason::OutOfRange
    );
    let max_chars = "包".repeat(128);
    ok(&format!(r#"{{"event_id":"{max_chars}","conversation_id":"c","ts":1,"type":"resolved"}}"#));
    let e = ok(&format!(
        r#"{{{base},"future_field":{{"a":[1,2]}},"attrs":{{"vip":true}},"team":null,"lang":"zh"}}"#
    ));
    assert_eq!(e.attrs.as_deref(), Some(r#"{"vip":true}"#));
    assert_eq!(e.team, None);
    assert_eq!(e.lang.as_deref(), Some("zh"));
    assert_eq!(
        bad(r#"{"event_id":"e","conversation_id":"c","ts":1,"type":"resolved"} trailing"#).reason,
        InvalidReason::NotJson
    );
    assert_eq!(bad(&String::from_utf8_lossy(b"{\"event_id\":\"\xff\"}")).reason, InvalidReason::MissingField);
    assert_eq!(decode(b"{\"event_id\":\"\xff\"}").map_err(|e| e.reason), Err(InvalidReason::NotJson));
}

#[test]
fn escaped_strings_are_unescaped() {
    let e = ok(
        r#"{"event_id":"e\u0031","conversation_id":"c","ts":1,"type":"message","role":"customer","text":"a\"b\n"}"#,
    );
    assert_eq!(e.event_id, "e1");
    assert_eq!(e.kind, EventKind::Message { role: Role::Customer, text: "a\"b\n".into() });
}

#[test]
fn timestamps_outside_rfc3339_years_are_out_of_range() {
    for ts in
        [i64::MIN.to_string(), i64::MAX.to_string(), (MAX_TS_MS + 1).to_string(), (MIN_TS_MS - 1).to_string()]
    {
        let b = bad(&format!(r#"{{"event_id":"e","conversation_id":"c","ts":{ts},"type":"resolved"}}"#));
        assert_eq!(b.reason, InvalidReason::OutOfRange, "{ts}: {b}");
    }
    assert_eq!(
        ok(&format!(r#"{{"event_id":"e","conversation_id":"c","ts":{MAX_TS_MS},"type":"resolved"}}"#)).ts_ms,
        MAX_TS_MS
    );
    assert_eq!(
        ok(r#"{"event_id":"e","conversation_id":"c","ts":"0000-01-01T00:00:00Z","type":"resolved"}"#).ts_ms,
        MIN_TS_MS
    );
}

#[test]
fn fields_are_checked_wherever_they_appear() {
    let base = r#""event_id":"e","conversation_id":"c","ts":1"#;
    for (extra, reason) in [
        (r#""type":"closed","rating":9"#, InvalidReason::OutOfRange),
        (r#""type":"handoff","tier":2,"role":"ceo""#, InvalidReason::OutOfRange),
        (r#""type":"csat","rating":5,"text":5"#, InvalidReason::WrongType),
        (r#""type":"message","role":"bot","text":"","tier":"x""#, InvalidReason::WrongType),
        (r#""type":"message","role":"bot","text":"","reason":7"#, InvalidReason::WrongType),
    ] {
        assert_eq!(bad(&format!("{{{base},{extra}}}")).reason, reason, "{extra}");
    }
    // only ASCII capitals are refused in a channel, as in the JSON Schema's pattern
    assert_eq!(
        ok(&format!(r#"{{{base},"type":"conversation_started","channel":"微博Ä"}}"#)).channel.as_deref(),
        Some("微博Ä")
    );
    assert_eq!(ok(r#"{"event_id":"e","conversation_id":"c","ts":1000.0,"type":"closed"}"#).ts_ms, 1000);
}
