use timebase::Instant;

use super::*;
use crate::build;
use crate::engine::tests::{IN, OUT, sa, seed_config};
use crate::status::HaRole;
use crate::wire::TcpFlags;
use crate::{Engine, EngineConfig};

fn t(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

/// Three sessions through the seed's router: an open telnet session, a DNS exchange, a half-open SYN.
fn populated() -> Engine {
    let mut e = Engine::new(seed_config(), 1);
    let c = sa("10.0.0.10:34386");
    let s = sa("211.0.0.10:23");
    e.process(t(0), &build::syn(c, s, 1000), IN, OUT);
    e.process(
        t(0),
        &build::tcp(s, c, TcpFlags::SYN | TcpFlags::ACK, 5000, 1001, 0),
        OUT,
        IN,
    );
    e.process(t(0), &build::tcp(c, s, TcpFlags::ACK, 1001, 5001, 0), IN, OUT);
    e.process(
        t(2_000),
        &build::tcp(c, s, TcpFlags::ACK, 1001, 5001, 100),
        IN,
        OUT,
    );
    let (dc, ds) = (sa("10.0.0.10:50121"), sa("211.0.0.10:53"));
    e.process(t(60_000), &build::udp(dc, ds, 30), IN, OUT);
    e.process(t(60_010), &build::udp(ds, dc, 120), OUT, IN);
    e.process(
        t(63_000),
        &build::tcp(s, c, TcpFlags::ACK, 5001, 1101, 1000),
        OUT,
        IN,
    );
    e.process(
        t(64_000),
        &build::syn(sa("10.0.0.10:34390"), sa("211.0.0.10:80"), 7),
        IN,
        OUT,
    );
    e
}

#[test]
fn sessions_brief() {
    let e = populated();
    let text = render_sessions(&e.sessions(t(65_000)), false);
    assert_eq!(
        text,
        "Established Sessions
 Session 00000000 (10.0.0.10:34386)=>(211.0.0.10:23) tcp SIS_OPEN
 Session 00000001 (10.0.0.10:50121)=>(211.0.0.10:53) udp SIS_OPEN
Half-open Sessions
 Session 00000002 (10.0.0.10:34390)=>(211.0.0.10:80) tcp SIS_SYNSENT
"
    );
}

#[test]
fn sessions_detail() {
    let e = populated();
    let text = render_sessions(&e.sessions(t(65_000)), true);
    assert_eq!(
        text,
        "Established Sessions
 Session 00000000 (10.0.0.10:34386)=>(211.0.0.10:23) tcp SIS_OPEN
  Created 00:01:05, Last heard 00:00:02
  Bytes sent (initiator:responder) [220:1080]
  In  SID 211.0.0.10[23:23]=>10.0.0.10[34386:34386] on ACL fw-ha-acl
  Interface Ethernet1/0 out, timeout 180 sec
 Session 00000001 (10.0.0.10:50121)=>(211.0.0.10:53) udp SIS_OPEN
  Created 00:00:05, Last heard 00:00:04
  Bytes sent (initiator:responder) [58:148]
  In  SID 211.0.0.10[53:53]=>10.0.0.10[50121:50121] on ACL fw-ha-acl
  Interface Ethernet1/0 out, timeout 30 sec
Half-open Sessions
 Session 00000002 (10.0.0.10:34390)=>(211.0.0.10:80) tcp SIS_SYNSENT
  Created 00:00:01, Last heard 00:00:01
  Bytes sent (initiator:responder) [40:0]
  In  SID 211.0.0.10[80:80]=>10.0.0.10[34390:34390] on ACL fw-ha-acl
  Interface Ethernet1/0 out, timeout 30 sec
"
    );
}

#[test]
fn ha_sessions_on_both_routers() {
    let active = populated();
    let text = render_ha_sessions(&active.sessions(t(65_000)), false);
    assert_eq!(
        text,
        "Established Sessions
 Session 00000000 (10.0.0.10:34386)=>(211.0.0.10:23) tcp SIS_OPEN  HA state: ACTIVE
 Session 00000001 (10.0.0.10:50121)=>(211.0.0.10:53) udp SIS_OPEN  HA state: ACTIVE
Half-open Sessions
 Session 00000002 (10.0.0.10:34390)=>(211.0.0.10:80) tcp SIS_SYNSENT  HA state: ACTIVE
"
    );
    let mut standby = Engine::new(seed_config(), 99);
    standby.set_ha_role(t(0), HaRole::Standby);
    for rec in active.export_ha(t(65_000)) {
        assert!(standby.apply_standby(t(65_000), &rec));
    }
    let text = render_ha_sessions(&standby.sessions(t(65_000)), true);
    assert!(text.contains(" Session 00000000 (10.0.0.10:34386)=>(211.0.0.10:23) tcp SIS_OPEN  HA state: STANDBY\n  Created 00:01:05, Last heard 00:00:02\n  Bytes sent (initiator:responder) [220:1080]\n  In  SID 211.0.0.10[23:23]=>10.0.0.10[34386:34386] on ACL fw-ha-acl\n"), "{text}");
}

#[test]
fn inspect_all_seed_config() {
    let e = populated();
    let text = render_inspect_all(&seed_config(), Some(&e.stats()));
    assert_eq!(
        text,
        "Session audit trail is disabled
Session alert is enabled
one-minute (sampling period) thresholds are [unlimited : unlimited] connections
max-incomplete sessions thresholds are [unlimited : unlimited]
max-incomplete tcp connections per host is unlimited. Block-time 0 minute.
tcp synwait-time is 30 sec -- tcp finwait-time is 5 sec
tcp idle-time is 180 sec -- udp idle-time is 30 sec
redundancy update interval is 60 sec
Inspection Rule Configuration
 Inspection name ha-protocols
    tcp alert is on audit-trail is off timeout 180
    udp alert is on audit-trail is off timeout 30

Interface Configuration
 Interface Ethernet1/0
  Inbound inspection rule is not set
  Outgoing inspection rule is ha-protocols, redundancy stateful HAin
    tcp alert is on audit-trail is off timeout 180
    udp alert is on audit-trail is off timeout 30
  Inbound access list is fw-ha-acl
  Outgoing access list is not set

Session counters
  3 sessions (1 half-open, 3 HA active, 0 standby)
  3 created, 0 expired, 0 reset, 0 cleared, 0 half-open ended by max-incomplete
  8 packets: 8 through sessions, 3 judged by ACLs, 0 non-first fragments
  Drops: 0 malformed, 0 ACL, 0 out-of-window, 0 invalid TCP, 0 half-open limit, 0 session limit
"
    );
    let _ = EngineConfig::default();
}

#[test]
fn access_lists_with_hit_counts() {
    let mut e = Engine::new(seed_config(), 1);
    for _ in 0..12 {
        e.process(
            t(0),
            &build::udp(sa("211.0.0.2:1985"), sa("211.0.0.1:1985"), 20),
            OUT,
            IN,
        );
    }
    e.process(
        t(0),
        &build::udp(sa("211.0.0.1:1985"), sa("211.0.0.2:1985"), 20),
        OUT,
        IN,
    );
    for _ in 0..4 {
        e.process(
            t(0),
            &build::syn(sa("211.0.0.10:1"), sa("10.0.0.10:2"), 1),
            OUT,
            IN,
        );
    }
    assert_eq!(
        render_access_lists(&e.acl_status()),
        "Extended IP access list fw-ha-acl
    10 permit ip host 211.0.0.2 host 211.0.0.1 (12 matches)
    20 permit ip host 211.0.0.1 host 211.0.0.2 (1 match)
    30 deny ip any any (4 matches)
"
    );
}

#[test]
fn session_json_fields() {
    let e = populated();
    let v = serde_json::to_value(&e.sessions(t(65_000))[0]).unwrap();
    for f in [
        "id",
        "proto",
        "initiator",
        "responder",
        "state",
        "interface",
        "direction",
        "bytes_initiator",
        "bytes_responder",
        "age_s",
        "idle_s",
        "ha_state",
    ] {
        assert!(v.get(f).is_some(), "missing {f} in {v}");
    }
    assert_eq!(v["initiator"], "10.0.0.10:34386");
    assert_eq!(v["state"], "SIS_OPEN");
    assert_eq!(v["ha_state"], "ACTIVE");
    assert_eq!(v["direction"], "out");
    let st = serde_json::to_value(e.stats()).unwrap();
    assert_eq!(st["drops"]["acl_denied"], 0);
    assert_eq!(st["sessions"], 3);
}

#[test]
fn access_lists_print_port_names_established_and_log() {
    use crate::acl::{AclEntryStatus, AclStatus};
    use crate::config::{AclAction, AclConfig, AclEntry, AclProto, AddrMatch, PortMatch};
    let entry = |seq, proto, dst_port, established, log| AclEntry {
        seq,
        action: AclAction::Permit,
        proto,
        src: AddrMatch::Any,
        src_port: PortMatch::Any,
        dst: AddrMatch::Host("10.0.0.10".parse().unwrap()),
        dst_port,
        established,
        log,
    };
    let mut cfg = seed_config();
    cfg.acls.push(AclConfig {
        name: "named".into(),
        entries: vec![
            entry(10, AclProto::Tcp, PortMatch::Eq(80), false, true),
            entry(20, AclProto::Tcp, PortMatch::Range(20, 21), true, false),
            entry(30, AclProto::Udp, PortMatch::Gt(161), false, true),
            entry(40, AclProto::Icmp, PortMatch::Any, false, true),
        ],
    });
    let e = Engine::new(cfg, 1);
    let status = e.acl_status();
    let named: Vec<AclStatus> = status.into_iter().filter(|a| a.name == "named").collect();
    assert_eq!(
        render_access_lists(&named),
        "Extended IP access list named
    10 permit tcp any host 10.0.0.10 eq www log
    20 permit tcp any host 10.0.0.10 range ftp-data ftp established
    30 permit udp any host 10.0.0.10 gt snmp log
    40 permit icmp any host 10.0.0.10 log
"
    );
    // JSON: the log counters next to the match count.
    let v = serde_json::to_value(&named[0].entries[0]).unwrap();
    for f in ["seq", "text", "matches", "logged", "log_suppressed"] {
        assert!(v.get(f).is_some(), "{f} in {v}");
    }
    // Shards add their counters.
    let mut a = named[0].clone();
    a.entries[0].logged = 1;
    let mut b = a.clone();
    b.entries[0].log_suppressed = 5;
    let merged = AclStatus::merge_shards([vec![a], vec![b]]);
    let AclEntryStatus {
        logged,
        log_suppressed,
        ..
    } = merged[0].entries[0].clone();
    assert_eq!((logged, log_suppressed), (2, 5));
}
