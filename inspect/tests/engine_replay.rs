//! Replay of recorded traffic: a raw-IP pcap (telnet session with handshake, data both ways and FIN
//! close; a DNS exchange; unsolicited inbound probes; pings) is written, read back with `pcap-file` and
//! replayed through the engine of the seed's router in the capture's own time.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use inspect::build;
use inspect::wire::{TcpFlags, parse};
use inspect::{DropReason, Engine, EngineConfig, EngineEvent, Verdict};
use pcap_file::DataLink;
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapReader, PcapWriter};
use timebase::Instant;

fn sa(s: &str) -> SocketAddr {
    s.parse().expect("address")
}

fn seed_config() -> EngineConfig {
    EngineConfig {
        audit_trail: true,
        ha_update_interval_s: EngineConfig::default().ha_update_interval_s,
        ..build::seed_firewall_config()
    }
}

/// The capture: (milliseconds, packet, expected verdict).
fn capture() -> Vec<(u64, Vec<u8>, Verdict)> {
    let c = sa("10.0.0.10:34386");
    let s = sa("211.0.0.10:23");
    let (dc, ds) = (sa("10.0.0.10:50121"), sa("211.0.0.10:53"));
    let a = Verdict::Accept;
    let deny = Verdict::Drop(DropReason::AclDenied);
    const SA: u8 = TcpFlags::SYN | TcpFlags::ACK;
    const A: u8 = TcpFlags::ACK;
    const PA: u8 = TcpFlags::PSH | TcpFlags::ACK;
    const FA: u8 = TcpFlags::FIN | TcpFlags::ACK;
    let mut syn = build::TcpSpec::new(c, s, TcpFlags::SYN, 1_000_000, 0);
    syn.window_scale = Some(7);
    syn.mss = Some(1460);
    let mut synack = build::TcpSpec::new(s, c, SA, 7_000_000, 1_000_001);
    synack.window_scale = Some(7);
    synack.mss = Some(1460);
    vec![
        // An unsolicited probe from outside before anything else.
        (0, build::syn(sa("211.0.0.10:40000"), sa("10.0.0.10:22"), 5), deny),
        (10, syn.build(), a),
        (11, synack.build(), a),
        (12, build::tcp(c, s, A, 1_000_001, 7_000_001, 0), a),
        (40, build::tcp(s, c, PA, 7_000_001, 1_000_001, 12), a),
        (41, build::tcp(c, s, A, 1_000_001, 7_000_013, 0), a),
        (900, build::tcp(c, s, PA, 1_000_001, 7_000_013, 5), a),
        (901, build::tcp(s, c, PA, 7_000_013, 1_000_006, 1400), a),
        (902, build::tcp(s, c, PA, 7_001_413, 1_000_006, 1400), a),
        (903, build::tcp(c, s, A, 1_000_006, 7_002_813, 0), a),
        // A forged segment far outside the window.
        (
            950,
            build::tcp(s, c, PA, 3_000_000_000, 1_000_006, 10),
            Verdict::Drop(DropReason::OutOfWindow),
        ),
        (1_000, build::udp(dc, ds, 31), a),
        (1_020, build::udp(ds, dc, 47), a),
        (
            1_500,
            build::icmp_echo(
                "10.0.0.10".parse().expect("ip"),
                "211.0.0.10".parse().expect("ip"),
            ),
            a,
        ),
        (
            1_501,
            build::icmp_echo(
                "211.0.0.10".parse().expect("ip"),
                "10.0.0.10".parse().expect("ip"),
            ),
            deny,
        ),
        // Close: client FIN, server FIN, last ACK.
        (2_000, build::tcp(c, s, FA, 1_000_006, 7_002_813, 0), a),
        (2_001, build::tcp(s, c, FA, 7_002_813, 1_000_007, 0), a),
        (2_002, build::tcp(c, s, A, 1_000_007, 7_002_814, 0), a),
        // An HSRP hello from the peer router is permitted by entry 10.
        (
            2_500,
            build::udp(sa("211.0.0.2:1985"), sa("211.0.0.1:1985"), 20),
            a,
        ),
    ]
}

fn direction(pkt: &[u8]) -> (Option<u16>, Option<u16>) {
    match parse(pkt).map(|i| i.src()) {
        Ok(IpAddr::V4(v4)) if v4.octets()[0] == 10 => (Some(0), Some(1)),
        _ => (Some(1), Some(0)),
    }
}

#[test]
fn replay_recorded_capture() {
    let path = std::env::temp_dir().join(format!("inspect-replay-{}.pcap", std::process::id()));
    let cap = capture();
    {
        let file = std::fs::File::create(&path).expect("create pcap");
        let header = PcapHeader {
            datalink: DataLink::RAW,
            ..PcapHeader::default()
        };
        let mut w = PcapWriter::with_header(file, header).expect("pcap header");
        for (ms, pkt, _) in &cap {
            let ts = Duration::from_millis(1_700_000_000_000 + ms);
            w.write_packet(&PcapPacket::new(ts, pkt.len() as u32, pkt))
                .expect("write packet");
        }
    }
    let file = std::fs::File::open(&path).expect("open pcap");
    let mut r = PcapReader::new(file).expect("pcap reader");
    assert_eq!(r.header().datalink, DataLink::RAW);
    let mut e = Engine::new(seed_config(), 0x5eed);
    let mut verdicts = Vec::new();
    let mut first_ts = None;
    while let Some(p) = r.next_packet() {
        let p = p.expect("packet");
        let ts = p.timestamp.as_micros() as u64;
        let base = *first_ts.get_or_insert(ts);
        let now = Instant::from_micros(ts - base);
        let (ingress, egress) = direction(&p.data);
        verdicts.push(e.process(now, &p.data, ingress, egress));
        e.handle_timeout(now);
    }
    let _ = std::fs::remove_file(&path);
    let expected: Vec<Verdict> = cap.iter().map(|(_, _, v)| *v).collect();
    assert_eq!(verdicts, expected);

    let sessions = e.sessions(Instant::from_millis(2_500));
    let telnet = sessions
        .iter()
        .find(|s| s.responder.port() == 23)
        .expect("telnet session");
    assert_eq!(telnet.state, "SIS_CLOSED");
    let dns = sessions
        .iter()
        .find(|s| s.responder.port() == 53)
        .expect("dns session");
    assert_eq!(dns.state, "SIS_OPEN");
    assert_eq!((dns.bytes_initiator, dns.bytes_responder), (59, 75));
    let st = e.stats();
    assert_eq!(st.drops.acl_denied, 2);
    assert_eq!(st.drops.out_of_window, 1);
    assert_eq!(st.created, 2);
    // finwait (5 s) later the closed telnet session is gone, the DNS session at 30 s.
    e.handle_timeout(Instant::from_millis(7_100));
    assert_eq!(e.session_count(), 1);
    e.handle_timeout(Instant::from_millis(31_100));
    assert_eq!(e.session_count(), 0);
    let audit: Vec<String> = std::iter::from_fn(|| e.poll_event())
        .filter_map(|ev| match ev {
            EngineEvent::Audit(a) => Some(a.text),
            _ => None,
        })
        .collect();
    assert_eq!(audit.len(), 4, "{audit:#?}");
    assert!(
        audit[2]
            .starts_with("%FW-6-SESS_AUDIT_TRAIL_STOP: Stop tcp session: initiator (10.0.0.10:34386) sent ")
    );
}
