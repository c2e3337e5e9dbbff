use super::*;
use crate::metrics::WindowOperator;
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

fn op() -> (ConversationOperator, WindowOperator) {
    (ConversationOperator::new(3_600_000, 60_000, 3_600_000), WindowOperator::new(60_000, 60_000))
}

fn apply_all(events: &[Event]) -> Vec<ConversationRow> {
    let (mut c, mut w) = op();
    for e in events {
        assert!(matches!(c.apply(e, &mut w), Applied::Folded { .. }));
    }
    c.drain(events.iter().map(|e| e.ts_ms).max().unwrap_or(0))
}

#[test]
fn first_response_and_first_human_response_by_the_reference_definitions() {
    let rows = apply_all(&[
        ev("1", "c", 100, EventKind::ConversationStarted, Some("wechat")),
        ev("2", "c", 102, msg(Role::Customer), None),
        ev("3", "c", 104, msg(Role::Bot), None),
        ev("4", "c", 195, EventKind::Handoff { tier: 2, reason: None }, None),
        ev("5", "c", 260, msg(Role::Agent), None),
        ev("6", "c", 300, EventKind::Closed, None),
    ]);
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!(&*r.channel, "wechat");
    assert_eq!(r.first_response_s, Some(2.0));
    assert_eq!(r.first_human_response_s, Some(65.0));
    assert_eq!(r.max_tier, 2);
    assert_eq!(r.end_reason, EndReason::Closed);
    assert_eq!((r.events, r.messages, r.customer_messages), (6, 3, 1));
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
}

#[test]
fn order_of_arrival_does_not_change_the_facts() {
    let events = [
        ev("1", "c", 100, EventKind::ConversationStarted, Some("app")),
        ev("2", "c", 101, msg(Role::Customer), None),
        ev("3", "c", 130, msg(Role::Agent), None),
        ev("4", "c", 120, EventKind::Handoff { tier: 3, reason: None }, None),
        ev("5", "c", 110, msg(Role::Agent), None),
    ];
    let forward = apply_all(&events);
    let mut rev = events.to_vec();
    rev.reverse();
    let backward = apply_all(&rev);
    assert_eq!(forward, backward);
    assert_eq!(forward[0].first_response_s, Some(9.0));
    assert_eq!(forward[0].first_human_response_s, Some(10.0), "first human message at or after the handoff");
}

#[test]
fn closed_conversations_are_written_after_the_lateness_and_then_refuse_events() {
    let (mut c, mut w) = op();
    c.apply(&ev("1", "c", 0, EventKind::ConversationStarted, Some("web")), &mut w);
    c.apply(&ev("2", "c", 10, EventKind::Closed, None), &mut w);
    assert!(c.fire(70_000).is_empty(), "an event at the closed time is not late yet at 10 s + 60 s");
    let rows = c.fire(70_001);
    assert_eq!(rows.len(), 1);
    assert_eq!(c.apply(&ev("3", "c", 20, msg(Role::Customer), None), &mut w), Applied::AlreadyEnded);
    // remembered for the horizon only
    c.fire(70_001 + 3_600_000);
    assert!(matches!(
        c.apply(&ev("4", "c", 5_000, msg(Role::Customer), None), &mut w),
        Applied::Folded { .. }
    ));
}

#[test]
fn idle_conversations_time_out() {
    let (mut c, mut w) = op();
    c.apply(&ev("1", "a", 0, EventKind::ConversationStarted, Some("web")), &mut w);
    c.apply(&ev("2", "a", 100, msg(Role::Customer), None), &mut w);
    assert!(c.fire(100_000 + 3_600_000).is_empty(), "idle timeout + lateness not yet passed");
    assert!(c.fire(100_000 + 3_600_000 + 60_000).is_empty());
    let rows = c.fire(100_000 + 3_600_000 + 60_001);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].end_reason, EndReason::IdleTimeout);
    assert_eq!(c.open_conversations(), 0);
}

#[test]
fn a_late_started_event_moves_the_window_contributions_to_the_right_channel() {
    let (mut c, mut w) = op();
    c.apply(&ev("2", "c", 65, msg(Role::Customer), None), &mut w);
    c.apply(&ev("3", "c", 66, msg(Role::Bot), None), &mut w);
    c.apply(&ev("1", "c", 59, EventKind::ConversationStarted, Some("douyin")), &mut w);
    let closed = w.close(i64::MAX);
    let summary: Vec<(i64, String, i64, i64, Vec<f64>)> = closed
        .into_iter()
        .map(|c| {
            (
                c.start,
                c.channel.to_string(),
                c.aggregate.conversations_started,
                c.aggregate.messages,
                c.aggregate.first_response_s,
            )
        })
        .collect();
    assert_eq!(summary, vec![(0, "douyin".into(), 1, 0, vec![]), (60_000, "douyin".into(), 0, 2, vec![1.0])]);
}
