//! Pure renderers for `show sctp association list`, `show sctp association parameters` and
//! `show sctp statistics` over an [`AssociationStatus`] snapshot (`--json` is the snapshot itself).

use std::fmt::Write as _;

use crate::status::AssociationStatus;

fn addrs(ips: &[std::net::IpAddr]) -> String {
    ips.iter().map(ToString::to_string).collect::<Vec<_>>().join(" ")
}

fn uptime(ms: u64) -> String {
    let s = ms / 1000;
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// `show sctp association list`.
pub fn render_association_list(list: &[AssociationStatus]) -> String {
    let mut out = String::from("** SCTP Association List **\n");
    for s in list {
        let _ = write!(
            out,
            "\nAssocID: {}, Transport: {}\nCurrent state: {}\nLocal port: {}, Addrs: {}\nRemote port: {}, Addrs: {}\n",
            s.assoc_id,
            s.transport,
            s.state,
            s.local_port,
            addrs(&s.local_ips),
            s.remote_port,
            addrs(&s.remote_ips),
        );
    }
    out
}

/// `show sctp association parameters`.
pub fn render_association_parameters(s: &AssociationStatus) -> String {
    let mut o = String::from("** SCTP Association Parameters **\n");
    let _ = writeln!(o, "  AssocID: {}  Transport: {}", s.assoc_id, s.transport);
    let up = match (s.up, s.since_change_ms) {
        (true, Some(ms)) => format!("  Uptime: {}", uptime(ms)),
        _ => String::new(),
    };
    let _ = writeln!(
        o,
        "  Assoc state: {}  Peer: {}{up}",
        s.state,
        if s.up { "UP" } else { "DOWN" }
    );
    let _ = writeln!(o, "  Local port: {}", s.local_port);
    let _ = writeln!(o, "  Local addresses: {}", addrs(&s.local_ips));
    let _ = writeln!(o, "  Remote port: {}", s.remote_port);
    let _ = writeln!(o, "  Primary path: {}", s.primary_path);
    let _ = writeln!(o, "  Destination addresses:");
    for p in &s.paths {
        let _ = writeln!(
            o,
            "    {}: State: {}  (from {})",
            p.remote_ip, p.state, p.local_ip
        );
        let _ = writeln!(
            o,
            "      Heartbeats: Enabled  Interval: {} ms",
            s.heartbeat_interval_ms
        );
        let _ = writeln!(
            o,
            "      Retrans threshold: {}  Retrans count: {}",
            s.path_retransmit, p.failures
        );
    }
    let srtt = s
        .srtt_us
        .map_or_else(|| "-".to_string(), |us| format!("{}.{:03}", us / 1000, us % 1000));
    let _ = writeln!(o, "  SRTT: {srtt} ms");
    let _ = writeln!(o, "  Min RTO: {} ms  Max RTO: {} ms", s.rto_min_ms, s.rto_max_ms);
    let _ = writeln!(
        o,
        "  Max assoc retrans: {}  Max path retrans: {}",
        s.assoc_retransmit, s.path_retransmit
    );
    let _ = writeln!(o, "  Dead peer detection bound: {} ms", s.detection_bound_ms);
    let _ = writeln!(
        o,
        "  Authentication: {}",
        if s.authentication { "HMAC-SHA256" } else { "none" }
    );
    let _ = writeln!(
        o,
        "  Peer restarts: {}  Ups: {}  Downs: {}",
        s.restarts, s.ups, s.downs
    );
    if let Some(why) = &s.last_down_reason {
        let _ = writeln!(o, "  Last down reason: {why}");
    }
    o
}

/// `show sctp statistics`.
pub fn render_statistics(s: &AssociationStatus) -> String {
    let t = &s.stats;
    let mut o = String::from("** SCTP Association Statistics **\n");
    let _ = writeln!(
        o,
        "  AssocID: {}  State: {}  Transport: {}",
        s.assoc_id, s.state, s.transport
    );
    let _ = writeln!(
        o,
        "  Messages:  sent {}  received {}",
        t.msgs_sent, t.msgs_received
    );
    let _ = writeln!(
        o,
        "  Bundles:   sent {}  received {}",
        t.bundles_sent, t.bundles_received
    );
    let _ = writeln!(
        o,
        "  Bytes:     sent {}  received {}",
        t.bytes_sent, t.bytes_received
    );
    let _ = writeln!(
        o,
        "  Packets:   sent {}  received {}  retransmitted {}",
        t.packets_sent, t.packets_received, t.retransmissions
    );
    let _ = writeln!(
        o,
        "  Path switches: {}  Peer restarts: {}",
        s.path_switches, s.restarts
    );
    let _ = writeln!(o, "  Drops (total {}):", t.drops_total());
    let rows = [
        ("send queue full", t.drop_queue_full),
        ("association down", t.drop_not_up),
        ("message too large", t.drop_too_large),
        ("truncated", t.drop_truncated),
        ("oversized", t.drop_oversized),
        ("unknown version", t.drop_unknown_version),
        ("trailing bytes", t.drop_trailing),
        ("unknown kind", t.drop_unknown_kind),
        ("bad hello", t.drop_bad_hello),
        ("bad bundle", t.drop_bad_bundle),
        ("authentication", t.drop_auth),
        ("replay window", t.drop_replay),
        ("before hello", t.drop_before_hello),
        ("receive queue full", t.drop_rx_queue_full),
        ("foreign packets", t.drop_foreign_packets),
    ];
    for (name, v) in rows {
        let _ = writeln!(o, "    {name:<20} {v}");
    }
    let _ = writeln!(
        o,
        "  Per message kind:\n    {:<16} {:>10} {:>10} {:>10} {:>10}",
        "Kind", "xmit", "xerr", "rcv", "rerr"
    );
    for (kind, c) in &t.per_kind {
        let _ = writeln!(
            o,
            "    {kind:<16} {:>10} {:>10} {:>10} {:>10}",
            c.xmit, c.xerr, c.rcv, c.rerr
        );
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::{AssociationStats, KindCounters, PathStatus};

    fn sample() -> AssociationStatus {
        let mut stats = AssociationStats {
            msgs_sent: 120,
            msgs_received: 118,
            bytes_sent: 64_000,
            bytes_received: 63_500,
            packets_sent: 300,
            packets_received: 290,
            retransmissions: 3,
            bundles_sent: 4,
            bundles_received: 3,
            drop_auth: 2,
            drop_not_up: 1,
            ..Default::default()
        };
        stats.per_kind.insert(
            "rf-control".into(),
            KindCounters {
                xmit: 20,
                xerr: 1,
                rcv: 18,
                rerr: 0,
            },
        );
        stats.per_kind.insert(
            "inspect-sync".into(),
            KindCounters {
                xmit: 100,
                xerr: 0,
                rcv: 100,
                rerr: 2,
            },
        );
        AssociationStatus {
            assoc_id: 1,
            state: "ESTABLISHED".into(),
            up: true,
            transport: "raw".into(),
            local_port: 5000,
            remote_port: 5000,
            local_ips: vec!["10.0.0.1".parse().unwrap(), "10.0.1.1".parse().unwrap()],
            remote_ips: vec!["10.0.0.2".parse().unwrap(), "10.0.1.2".parse().unwrap()],
            primary_path: "10.0.1.1 -> 10.0.1.2".into(),
            paths: vec![
                PathStatus {
                    local_ip: "10.0.0.1".parse().unwrap(),
                    remote_ip: "10.0.0.2".parse().unwrap(),
                    state: "FAILED".into(),
                    failures: 5,
                },
                PathStatus {
                    local_ip: "10.0.1.1".parse().unwrap(),
                    remote_ip: "10.0.1.2".parse().unwrap(),
                    state: "ACTIVE".into(),
                    failures: 0,
                },
            ],
            path_switches: 1,
            rto_min_ms: 300,
            rto_max_ms: 10_000,
            path_retransmit: 4,
            assoc_retransmit: 10,
            heartbeat_interval_ms: 500,
            detection_bound_ms: 5800,
            srtt_us: Some(1234),
            authentication: true,
            restarts: 1,
            ups: 2,
            downs: 1,
            last_down_reason: Some("peer restarted".into()),
            since_change_ms: Some(3_723_000),
            stats,
        }
    }

    #[test]
    fn association_list_golden() {
        assert_eq!(
            render_association_list(&[sample()]),
            "\
** SCTP Association List **

AssocID: 1, Transport: raw
Current state: ESTABLISHED
Local port: 5000, Addrs: 10.0.0.1 10.0.1.1
Remote port: 5000, Addrs: 10.0.0.2 10.0.1.2
"
        );
    }

    #[test]
    fn association_parameters_golden() {
        assert_eq!(
            render_association_parameters(&sample()),
            "\
** SCTP Association Parameters **
  AssocID: 1  Transport: raw
  Assoc state: ESTABLISHED  Peer: UP  Uptime: 01:02:03
  Local port: 5000
  Local addresses: 10.0.0.1 10.0.1.1
  Remote port: 5000
  Primary path: 10.0.1.1 -> 10.0.1.2
  Destination addresses:
    10.0.0.2: State: FAILED  (from 10.0.0.1)
      Heartbeats: Enabled  Interval: 500 ms
      Retrans threshold: 4  Retrans count: 5
    10.0.1.2: State: ACTIVE  (from 10.0.1.1)
      Heartbeats: Enabled  Interval: 500 ms
      Retrans threshold: 4  Retrans count: 0
  SRTT: 1.234 ms
  Min RTO: 300 ms  Max RTO: 10000 ms
  Max assoc retrans: 10  Max path retrans: 4
  Dead peer detection bound: 5800 ms
  Authentication: HMAC-SHA256
  Peer restarts: 1  Ups: 2  Downs: 1
  Last down reason: peer restarted
"
        );
    }

    #[test]
    fn statistics_golden() {
        assert_eq!(
            render_statistics(&sample()),
            "\
** SCTP Association Statistics **
  AssocID: 1  State: ESTABLISHED  Transport: raw
  Messages:  sent 120  received 118
  Bundles:   sent 4  received 3
  Bytes:     sent 64000  received 63500
  Packets:   sent 300  received 290  retransmitted 3
  Path switches: 1  Peer restarts: 1
  Drops (total 3):
    send queue full      0
    association down     1
    message too large    0
    truncated            0
    oversized            0
    unknown version      0
    trailing bytes       0
    unknown kind         0
    bad hello            0
    bad bundle           0
    authentication       2
    replay window        0
    before hello         0
    receive queue full   0
    foreign packets      0
  Per message kind:
    Kind                   xmit       xerr        rcv       rerr
    inspect-sync            100          0        100          2
    rf-control               20          1         18          0
"
        );
    }

    #[test]
    fn down_association_parameters() {
        let mut s = sample();
        s.state = "CLOSED".into();
        s.up = false;
        s.srtt_us = None;
        s.authentication = false;
        let text = render_association_parameters(&s);
        assert!(text.contains("  Assoc state: CLOSED  Peer: DOWN\n"), "{text}");
        assert!(text.contains("  SRTT: - ms\n"));
        assert!(text.contains("  Authentication: none\n"));
        assert!(render_association_list(&[]).ends_with("List **\n"));
    }

    #[test]
    fn json_field_names_are_stable() {
        let v = serde_json::to_value(sample()).unwrap();
        for key in [
            "state",
            "transport",
            "local_port",
            "remote_port",
            "local_ips",
            "remote_ips",
            "primary_path",
            "rto_min_ms",
            "rto_max_ms",
            "path_retransmit",
            "assoc_retransmit",
            "restarts",
            "stats",
        ] {
            assert!(v.get(key).is_some(), "missing {key}");
        }
        assert_eq!(v["stats"]["per_kind"]["rf-control"]["xmit"], 20);
        assert_eq!(v["local_ips"][1], "10.0.1.1");
        let back: AssociationStatus = serde_json::from_value(v).unwrap();
        assert_eq!(back, sample());
    }
}
