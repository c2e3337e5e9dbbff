use super::*;
use crate::metrics::{Dimension, WindowOperator, WindowSpec};
use ticketpulse_schemas::Role;

fn ev(id: &str, conv: &str, ts_s: i64, kind: EventKind, channel: Option<&str>) -> Event {
    Event {
        event_id: id.into(),
        conversation_id: conv.into(),
        ts_ms: ts_s * 1000,
        kind,
        channel: channel.map(Into::into),
        agent_id: None,
        team: None,
        customer_id: None,
        lang: None,
        attrs: None,
    }
}

fn msg(role: Role) -> EventKind {
    EventKind::Message { role, text: String::new() }
}

fn config() -> ConversationConfig {
    ConversationConfig { idle_timeout: std::time::Duration::from_secs(3600), ..Default::default() }
}

fn op() -> (ConversationOperator, WindowOperator) {
    op_with(&config())
}

fn op_with(config: &ConversationConfig) -> (ConversationOperator, WindowOperator) {
    (
        ConversationOperator::new(config, 60_000, 3_600_000),
        WindowOperator::new(vec![WindowSpec::tumbling(60_000)], 60_000, 3_600_000),
    )
}

fn apply(c: &mut ConversationOperator, w: &mut WindowOperator, e: &Event) -> Applied {
    c.apply(e, w, i64::MIN)
}

fn apply_all(events: &[Event]) -> Vec<ConversationRow> {
    let (mut c, mut w) = op();
    for e in events {
        assert!(matches!(apply(&mut c, &mut w, e), Applied::Folded { .. }));
    }
    c.drain(events.iter().map(|e| e.ts_ms).max().unwrap_or(0))
}

#[test]
fn first_response_and_first_human_response_by_the_reference_definitions() {
    let rows = apply_all(&[
        ev("1", "c", 100, EventKind::ConversationStarted, Some("wechat")),
        ev("2", "c", 102, msg(Role::Customer), None),
        ev("3", "c", 104, msg(Role::Bot), None),
        ev("4", "c", 195, EventKind::Handoff { tier: 2, reason: Some("customer_request".into()) }, None),
        ev("5", "c", 260, msg(Role::Agent), None),
        ev("6", "c", 300, EventKind::Closed, None),
    ]);
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!(&*r.channel, "wechat");
    assert_eq!(r.first_response_s, Some(2.0));
    assert_eq!(r.first_human_response_s, Some(65.0));
    assert_eq!((r.max_tier, r.handoffs), (2, 1));
    assert_eq!(r.handoff_reasons, vec!["customer_request".to_string()]);
    assert_eq!(r.end_reason, EndReason::Closed);
    assert_eq!((r.events, r.messages(), r.messages_by_role), (6, 3, [1, 1, 1, 0, 0]));
    assert_eq!((r.resolved, r.bot_contained, r.status), (false, false, Status::Closed));
}

#[test]
fn reply_before_any_customer_message_counts_from_the_start() {
    let rows = apply_all(&[
        ev("1", "c", 10, EventKind::ConversationStarted, Some("phone")),
        ev("2", "c", 25, msg(Role::Agent), None),
        ev("3", "c", 30, msg(Role::Customer), None),
    ]);
    assert_eq!(rows[0].first_response_s, Some(15.0));
    assert_eq!(rows[0].first_human_response_s, Some(15.0), "human without handoff: from the start");
    assert_eq!(rows[0].end_reason, EndReason::EndOfInput);
    assert_eq!(rows[0].waiting_since, Some(30_000), "the customer turn at 30 s is still waiting");
    assert_eq!(rows[0].replies, 0);
}

#[test]
fn reply_times_resolution_containment_one_touch_and_csat() {
    let rows = apply_all(&[
        ev("1", "c", 0, EventKind::ConversationStarted, Some("app")),
        ev("2", "c", 10, msg(Role::Customer), None),
        ev("3", "c", 12, msg(Role::Customer), None),
        ev("4", "c", 20, msg(Role::Bot), None),
        ev("5", "c", 30, msg(Role::System), None),
        ev("6", "c", 40, msg(Role::Customer), None),
        ev("7", "c", 44, msg(Role::Bot), None),
        ev("8", "c", 50, EventKind::Resolved, None),
        ev("9", "c", 60, EventKind::Csat { rating: 2 }, None),
        ev("10", "c", 61, EventKind::Csat { rating: 5 }, None),
    ]);
    let r = &rows[0];
    assert_eq!(r.replies, 2, "the second customer message joins the waiting turn");
    assert_eq!((r.reply_mean_s, r.reply_p50_s, r.reply_max_s), (Some(7.0), Some(7.0), Some(10.0)));
    assert_eq!((r.resolved, r.first_resolution_s, r.full_resolution_s), (true, Some(50.0), Some(50.0)));
    assert!(r.bot_contained && r.one_touch);
    assert_eq!(r.csat_rating, Some(5), "the latest rating counts");
    assert_eq!((r.status, r.end_reason), (Status::Resolved, EndReason::Resolved));
    assert_eq!(r.waiting_since, None);
}

#[test]
fn order_of_arrival_does_not_change_the_facts() {
    let events = [
        ev("1", "c", 100, EventKind::ConversationStarted, Some("app")),
        ev("2", "c", 101, msg(Role::Customer), None),
        ev("3", "c", 130, msg(Role::Agent), None),
        ev("4", "c", 120, EventKind::Handoff { tier: 3, reason: None }, None),
        ev("5", "c", 110, msg(Role::Agent), None),
        ev("6", "c", 140, EventKind::Resolved, None),
    ];
    let forward = apply_all(&events);
    let mut rev = events.to_vec();
    rev.reverse();
    let backward = apply_all(&rev);
    assert_eq!(forward, backward);
    let r = &forward[0];
    assert_eq!(r.first_response_s, Some(9.0));
    assert_eq!(r.first_human_response_s, Some(10.0), "first human message at or after the handoff");
    assert!(!r.bot_contained && !r.one_touch, "two human messages");
    assert_eq!(r.max_tier, 3);
}

#[test]
fn a_settled_conversation_writes_a_revision_and_a_later_change_appends_the_next() {
    let (mut c, mut w) = op();
    apply(&mut c, &mut w, &ev("1", "c", 0, EventKind::ConversationStarted, Some("web")));
    apply(&mut c, &mut w, &ev("2", "c", 10, EventKind::Resolved, None));
    assert!(c.fire(70_000).is_empty(), "an event at the resolved time is not late yet at 10 s + 60 s");
    let rows = c.fire(70_001);
    assert_eq!((rows.len(), rows[0].revision, rows[0].status), (1, 1, Status::Resolved));
    assert!(c.fire(80_000).is_empty(), "unchanged: no new revision");
    // the customer comes back: reopened, answered, resolved again
    for e in [
        ev("3", "c", 1_000, EventKind::Reopened, None),
        ev("4", "c", 1_000, msg(Role::Customer), None),
        ev("5", "c", 1_100, msg(Role::Agent), None),
        ev("6", "c", 1_200, EventKind::Resolved, None),
    ] {
        apply(&mut c, &mut w, &e);
    }
    let rows = c.fire(1_260_001);
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!(
        (r.revision, r.reopens, r.full_resolution_s, r.first_resolution_s),
        (2, 1, Some(1200.0), Some(10.0))
    );
    // a late event for the settled conversation is due at once
    let late = apply(&mut c, &mut w, &ev("7", "c", 1_250, EventKind::Csat { rating: 4 }, None));
    assert!(matches!(late, Applied::Folded { .. }));
    let rows = c.fire(1_260_002);
    assert_eq!((rows[0].revision, rows[0].csat_rating), (3, Some(4)));
    // evicted after the idle timeout, without a new revision (nothing changed)
    assert!(c.fire(1_250_000 + 3_600_000 + 60_001).is_empty());
    assert_eq!(c.open_conversations(), 0);
    let refused = apply(&mut c, &mut w, &ev("8", "c", 20, msg(Role::Customer), None));
    assert_eq!(refused, Applied::AlreadyEnded);
    // remembered for the horizon only
    c.fire(1_250_000 + 2 * 3_600_000 + 60_002);
    assert!(matches!(
        apply(&mut c, &mut w, &ev("9", "c", 5_000, msg(Role::Customer), None)),
        Applied::Folded { .. }
    ));
}

#[test]
fn idle_conversations_time_out() {
    let (mut c, mut w) = op();
    apply(&mut c, &mut w, &ev("1", "a", 0, EventKind::ConversationStarted, Some("web")));
    apply(&mut c, &mut w, &ev("2", "a", 100, msg(Role::Customer), None));
    assert!(c.fire(100_000 + 3_600_000).is_empty(), "idle timeout + lateness not yet passed");
    assert!(c.fire(100_000 + 3_600_000 + 60_000).is_empty());
    let rows = c.fire(100_000 + 3_600_000 + 60_001);
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].end_reason, rows[0].status), (EndReason::IdleTimeout, Status::Open));
    assert_eq!(c.open_conversations(), 0);
}

#[test]
fn a_late_started_event_moves_the_window_contributions_to_the_right_channel() {
    let (mut c, mut w) = op();
    apply(&mut c, &mut w, &ev("2", "c", 65, msg(Role::Customer), None));
    apply(&mut c, &mut w, &ev("3", "c", 66, msg(Role::Bot), None));
    apply(&mut c, &mut w, &ev("1", "c", 59, EventKind::ConversationStarted, Some("douyin")));
    let closed = w.close(i64::MAX, 0);
    let summary: Vec<(i64, String, i64, i64, u64)> = closed
        .into_iter()
        .filter(|c| c.group.0 == Dimension::Channel)
        .map(|c| {
            (
                c.start,
                c.group.1.to_string(),
                c.aggregate.conversations_started,
                c.aggregate.messages,
                c.aggregate.first_response.count(),
            )
        })
        .collect();
    assert_eq!(summary, vec![(0, "douyin".into(), 1, 0, 0), (60_000, "douyin".into(), 0, 2, 1)]);
}

#[test]
fn events_count_under_the_tier_in_effect_when_they_happened() {
    let (mut c, mut w) = op();
    apply(&mut c, &mut w, &ev("1", "c", 0, EventKind::ConversationStarted, Some("web")));
    apply(&mut c, &mut w, &ev("2", "c", 1, msg(Role::Customer), None));
    apply(&mut c, &mut w, &ev("3", "c", 5, EventKind::Handoff { tier: 3, reason: None }, None));
    apply(&mut c, &mut w, &ev("4", "c", 9, msg(Role::Expert), None));
    // a late handoff to tier 2 before the customer message moves it to tier 2
    apply(&mut c, &mut w, &ev("5", "c", 1, EventKind::Handoff { tier: 2, reason: None }, None));
    let tiers: Vec<(String, i64, i64, i64, i64)> = w
        .close(i64::MAX, 0)
        .into_iter()
        .filter(|c| c.group.0 == Dimension::Tier)
        .map(|c| {
            let a = &c.aggregate;
            (c.group.1.to_string(), a.conversations_started, a.messages, a.escalated_tier2, a.escalated_tier3)
        })
        .collect();
    assert_eq!(
        tiers,
        vec![("1".to_string(), 1, 0, 0, 0), ("2".to_string(), 0, 1, 1, 0), ("3".to_string(), 0, 1, 0, 1)]
    );
}

fn sla_config() -> ConversationConfig {
    let s = std::time::Duration::from_secs;
    ConversationConfig {
        sla: vec![
            SlaPolicyConfig {
                first_response: Some(s(10)),
                next_reply: Some(s(30)),
                resolution: Some(s(3600)),
                ..Default::default()
            },
            SlaPolicyConfig {
                channel: Some("email".into()),
                first_response: Some(s(600)),
                ..Default::default()
            },
        ],
        ..config()
    }
}

#[test]
fn sla_breaches_happen_at_the_deadline_and_rows_say_met_or_breached() {
    let (mut c, mut w) = op_with(&sla_config());
    for e in [
        ev("1", "c", 0, EventKind::ConversationStarted, Some("web")),
        ev("2", "c", 1, msg(Role::Customer), None),
        ev("3", "c", 5, msg(Role::Bot), None), // first response 4 s: met (not a next reply)
        ev("4", "c", 100, msg(Role::Customer), None), // next reply due at 130 s
        ev("5", "c", 200, msg(Role::Agent), None), // late: breached at 130 s
        ev("6", "c", 300, msg(Role::Customer), None), // answered by nobody before resolution at 310 s
        ev("7", "c", 310, EventKind::Resolved, None),
        // e-mail: its own first-response target (10 min), the default next reply and resolution
        ev("8", "m", 0, EventKind::ConversationStarted, Some("email")),
        ev("9", "m", 0, msg(Role::Customer), None),
    ] {
        apply(&mut c, &mut w, &e);
    }
    let rows = c.drain(5_000_000);
    let r = &rows[0];
    assert_eq!(&*r.conversation_id, "c");
    assert_eq!(
        (r.sla_first_response, r.sla_next_reply, r.sla_resolution),
        (Some(Outcome::Met(5_000)), Some(Outcome::Breached(130_000)), Some(Outcome::Met(310_000)))
    );
    assert_eq!(r.sla_breaches, 1, "the turn at 300 s was made moot by the resolution at 310 s");
    let m = &rows[1];
    assert_eq!(m.sla_first_response, Some(Outcome::Breached(600_000)), "unanswered past 10 min");
    assert_eq!(m.sla_resolution, Some(Outcome::Breached(3_600_000)));
    let web: Vec<(i64, [i64; 3], [i64; 3])> = w
        .close(i64::MAX, 0)
        .into_iter()
        .filter(|r| r.group.1.as_ref() == "web")
        .filter(|r| r.group.0 == Dimension::Channel)
        .filter(|r| r.aggregate.sla_met != [0; 3] || r.aggregate.sla_breached != [0; 3])
        .map(|r| (r.start, r.aggregate.sla_met, r.aggregate.sla_breached))
        .collect();
    assert_eq!(
        web,
        vec![(0, [1, 0, 0], [0, 0, 0]), (120_000, [0, 0, 0], [0, 1, 0]), (300_000, [0, 0, 1], [0, 0, 0])],
        "met at the stopping event, breached in the window of the deadline"
    );
}

#[test]
fn a_reply_before_the_deadline_retracts_the_breach_placed_while_waiting() {
    let (mut c, mut w) = op_with(&sla_config());
    apply(&mut c, &mut w, &ev("1", "c", 0, msg(Role::Customer), Some("web")));
    apply(&mut c, &mut w, &ev("2", "c", 8, msg(Role::Agent), None));
    let channel = w.close(i64::MAX, 0).into_iter().filter(|r| r.group.0 == Dimension::Channel);
    let breached: Vec<[i64; 3]> =
        channel.map(|r| r.aggregate.sla_breached).filter(|b| *b != [0; 3]).collect();
    assert_eq!(breached, vec![[0, 0, 1]], "only the resolution clock is still breaching (at 1 h)");
}

#[test]
fn business_hours_and_night_use_the_calendar_of_the_team() {
    let cal = |tz: &str| CalendarConfig {
        timezone: tz.into(),
        days: ["mon", "tue", "wed", "thu", "fri"].map(String::from).to_vec(),
        hours: "09:00-18:00".into(),
        holidays: vec![],
        week: Default::default(),
    };
    let config = ConversationConfig {
        night: NightConfig { timezone: "Asia/Shanghai".into(), hours: "22:00-06:00".into() },
        business_hours: BusinessHoursConfig {
            default: Some(cal("Asia/Shanghai")),
            teams: [("berlin".to_string(), cal("Europe/Berlin"))].into(),
        },
        ..config()
    };
    let (mut c, mut w) = op_with(&config);
    // Monday 2026-11-02 17:30 Shanghai = 09:30 UTC = 10:30 Berlin
    let t0 = 1_793_611_800;
    let mut team = |id: &str, conv: &str, ts: i64, kind: EventKind, t: Option<&str>| {
        let mut e = ev(id, conv, ts, kind, Some("web"));
        e.team = t.map(Into::into);
        apply(&mut c, &mut w, &e);
    };
    team("1", "sh", t0, msg(Role::Customer), None);
    team("2", "sh", t0 + 3600, msg(Role::Agent), None); // 18:30: only 30 min in business hours
    team("3", "be", t0, msg(Role::Customer), Some("berlin"));
    team("4", "be", t0 + 3600, msg(Role::Agent), None); // 11:30 Berlin: the full hour
    team("5", "nt", t0 + 5 * 3600, msg(Role::Customer), None); // 22:30 Shanghai: night
    let rows = c.drain(i64::MAX);
    let get = |id: &str| rows.iter().find(|r| &*r.conversation_id == id).unwrap();
    assert_eq!(get("sh").business_first_response_s, Some(1800.0));
    assert_eq!(get("sh").first_response_s, Some(3600.0));
    assert_eq!(get("be").business_first_response_s, Some(3600.0));
    assert_eq!((get("sh").night, get("nt").night), (false, true));
}

#[test]
fn the_backlog_counts_conversations_waiting_for_a_human_at_each_window_end() {
    let (mut c, mut w) = op();
    apply(&mut c, &mut w, &ev("1", "a", 0, msg(Role::Customer), Some("web")));
    apply(&mut c, &mut w, &ev("2", "a", 30, EventKind::Handoff { tier: 2, reason: None }, None));
    apply(&mut c, &mut w, &ev("3", "b", 50, EventKind::Handoff { tier: 2, reason: None }, Some("web")));
    apply(&mut c, &mut w, &ev("4", "a", 200, msg(Role::Agent), None)); // a waited 30 s .. 200 s
    apply(&mut c, &mut w, &ev("5", "b", 250, EventKind::Resolved, None)); // b waited 50 s .. 250 s
    let backlog: Vec<(i64, i64, i64)> = w
        .close(i64::MAX, 250_000)
        .into_iter()
        .filter(|r| r.group.0 == Dimension::Channel)
        .map(|r| (r.end / 1000, r.aggregate.backlog, r.aggregate.oldest_wait_ms / 1000))
        .collect();
    // the window 120-180 s has no event at all: it is still written, for its backlog
    assert_eq!(backlog, vec![(60, 2, 30), (120, 2, 90), (180, 2, 150), (240, 1, 190), (300, 0, 0)]);
}

#[test]
fn a_human_reply_sent_with_the_handoff_leaves_no_wait() {
    let (mut c, mut w) = op();
    apply(&mut c, &mut w, &ev("1", "a", 10, msg(Role::Agent), Some("web")));
    apply(&mut c, &mut w, &ev("2", "a", 10, EventKind::Handoff { tier: 2, reason: None }, None));
    apply(&mut c, &mut w, &ev("3", "a", 200, msg(Role::Customer), None));
    let waiting: i64 = w.close(i64::MAX, 200_000).iter().map(|r| r.aggregate.backlog).sum();
    assert_eq!(waiting, 0);
    assert_eq!(c.drain(200_000)[0].first_human_response_s, Some(0.0));
}

#[test]
fn an_angry_customer_with_the_bot_raises_a_signal_at_once_and_a_late_handoff_withdraws_it() {
    use crate::sentiment::{Label, Lang, Sentiment};
    let (mut c, mut w) = op();
    let negative = Sentiment { lang: Lang::En, score: -0.4, label: Label::Negative };
    let customer = |id: &str, ts: i64| ev(id, "c", ts, msg(Role::Customer), Some("weibo"));
    let mut scored = |c: &mut ConversationOperator, e: &Event| c.apply_scored(e, Some(negative), &mut w, 0);
    scored(&mut c, &customer("1", 10));
    assert!(c.take_signals().is_empty(), "one negative message is not yet two in a row");
    scored(&mut c, &customer("2", 20));
    let raised = c.take_signals();
    assert_eq!(raised.len(), 1);
    let s = &raised[0];
    assert_eq!(
        (s.action, s.at, s.trigger, s.negative_in_a_row),
        (SignalAction::Raised, 20_000, Trigger::NegativeInARow, 2)
    );
    assert_eq!((&*s.channel, s.signal_id().as_str()), ("weibo", "angry_with_bot:c:20000"));
    // a handoff that happened before the second message arrives late: the customer was with
    // an agent by then, so the signal is withdrawn under the same id
    apply(&mut c, &mut w, &ev("3", "c", 15, EventKind::Handoff { tier: 2, reason: None }, None));
    let withdrawn = c.take_signals();
    assert_eq!(withdrawn.len(), 1);
    assert_eq!((withdrawn[0].action, withdrawn[0].signal_id()), (SignalAction::Withdrawn, s.signal_id()));
    // a score at or below the threshold is enough on its own
    let furious = Sentiment { lang: Lang::Zh, score: -0.9, label: Label::Negative };
    c.apply_scored(&ev("4", "d", 5, msg(Role::Customer), None), Some(furious), &mut w, 0);
    let s = c.take_signals();
    assert_eq!((s.len(), s[0].trigger, &*s[0].channel), (1, Trigger::Below, UNKNOWN_CHANNEL));
}
