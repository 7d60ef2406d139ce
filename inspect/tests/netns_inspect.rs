//! The real engine behind the NFQUEUE data plane, in network namespaces client — router — server.
//!
//! Router config (see `netns_support::inspect_out_config`): `ip inspect name P tcp` / `udp`,
//! `ip inspect P out` and `ip access-group DENY-IN in` (deny ip any any) on the server-side interface.
//! Checked: TCP and UDP out and back pass, unsolicited inbound is dropped and counted as an ACL drop,
//! an idle UDP session expires, an RST closes a TCP session, sessions are listed while they live, and
//! the rules are gone after stop. Needs root (CI runs as root).

mod netns_support;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, TcpStream, UdpSocket};
use std::time::Duration;

use inspect::driver::{DataPlane, DataPlaneSpec, EngineDataPlane};
use inspect::status::SessionStatus;
use netns_support::{CLIENT, Lab, R_CLIENT_IF, R_SERVER_IF, SERVER, poll_until, spawn_in_ns};

fn start(lab: &Lab, udp_idle_s: u32) -> EngineDataPlane {
    let spec = DataPlaneSpec::new(
        netns_support::inspect_out_config(udp_idle_s),
        vec![(0, R_CLIENT_IF.to_owned()), (1, R_SERVER_IF.to_owned())],
        timebase::MonotonicClock::start(),
    );
    Lab::in_ns(&lab.router, move || DataPlane::start(spec)).expect("data plane starts")
}

fn find(sessions: &[SessionStatus], proto: &str, responder_port: u16) -> Option<SessionStatus> {
    sessions
        .iter()
        .find(|s| s.proto == proto && s.responder == SocketAddr::from((SERVER, responder_port)))
        .cloned()
}

/// A UDP echo in the server namespace answering one datagram. The socket is bound before this returns, so
/// a datagram sent afterwards cannot meet a closed port (under load, an echo bound on its own thread could
/// lose that race and the client would wait for an answer that never comes).
fn udp_echo_once(lab: &Lab, addr: SocketAddr) -> std::thread::JoinHandle<()> {
    let sock = Lab::in_ns(&lab.server, move || UdpSocket::bind(addr).expect("bind"));
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    std::thread::spawn(move || {
        let mut buf = [0u8; 64];
        if let Ok((n, peer)) = sock.recv_from(&mut buf) {
            let _ = sock.send_to(&buf[..n], peer);
        }
    })
}

/// A TCP echo listener in the server namespace answering one connection.
fn tcp_echo_once(lab: &Lab, port: u16) -> std::thread::JoinHandle<()> {
    let listener = Lab::in_ns(&lab.server, move || {
        TcpListener::bind((SERVER, port)).expect("listen")
    });
    std::thread::spawn(move || {
        if let Ok((mut s, _)) = listener.accept() {
            let mut buf = [0u8; 1024];
            while let Ok(n) = s.read(&mut buf) {
                if n == 0 || s.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    })
}

#[test]
fn tcp_out_and_back_is_inspected_and_rst_closes_it() {
    let lab = Lab::new("i1");
    let dp = start(&lab, 30);
    let server = tcp_echo_once(&lab, 7100);
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let (res_tx, res_rx) = std::sync::mpsc::channel();
    let client = spawn_in_ns(&lab.client, move || {
        let mut s = TcpStream::connect_timeout(&(SERVER, 7100).into(), Duration::from_secs(5))
            .expect("connect through the inspecting router");
        s.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
        s.write_all(b"hello").expect("write");
        let mut buf = [0u8; 5];
        s.read_exact(&mut buf).expect("echo comes back");
        res_tx.send(buf).expect("result");
        // Hold the connection until the test has looked at the session, then reset it.
        let _ = rx.recv();
        let sock = socket2::Socket::from(s);
        sock.set_linger(Some(Duration::ZERO)).expect("linger");
        drop(sock);
    });
    assert_eq!(
        &res_rx.recv_timeout(Duration::from_secs(10)).expect("echo"),
        b"hello"
    );

    let s = poll_until(Duration::from_secs(5), || {
        find(&dp.sessions().expect("sessions"), "tcp", 7100).filter(|s| s.state == "SIS_OPEN")
    })
    .expect("established TCP session listed");
    assert_eq!(s.initiator.ip(), std::net::IpAddr::V4(CLIENT));
    assert_eq!(s.interface, R_SERVER_IF);
    assert_eq!(s.direction, "out");
    assert!(s.bytes_initiator > 0 && s.bytes_responder > 0, "{s:?}");

    tx.send(()).expect("reset");
    client.join().expect("client");
    let stats = poll_until(Duration::from_secs(5), || {
        let st = dp.status().expect("status");
        let gone = find(&dp.sessions().expect("sessions"), "tcp", 7100).is_none();
        (gone && st.engine.reset >= 1).then_some(st)
    })
    .expect("RST removes the session");
    assert_eq!(stats.engine.drops.acl_denied, 0, "{:?}", stats.engine.drops);
    server.join().expect("server");

    dp.stop().expect("stop");
    let rules = lab.router_rules();
    assert!(
        !rules.contains("IOSHA") && !rules.contains("iosha"),
        "rules left behind: {rules}"
    );
}

#[test]
fn udp_out_and_back_passes_then_expires_and_unsolicited_inbound_is_dropped() {
    let lab = Lab::new("i2");
    let dp = start(&lab, 1);

    // UDP echo in the server namespace.
    let echo = udp_echo_once(&lab, SocketAddr::from((SERVER, 7101)));
    let got = Lab::in_ns(&lab.client, || {
        let sock = UdpSocket::bind((CLIENT, 0)).expect("bind");
        sock.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        sock.send_to(b"ping", (SERVER, 7101)).expect("send");
        let mut buf = [0u8; 64];
        sock.recv_from(&mut buf).map(|(n, _)| buf[..n].to_vec())
    });
    assert_eq!(got.expect("UDP reply through the pinhole"), b"ping");
    echo.join().expect("echo");
    let s = find(&dp.sessions().expect("sessions"), "udp", 7101).expect("UDP session listed");
    assert_eq!((s.interface.as_str(), s.direction.as_str()), (R_SERVER_IF, "out"));
    assert!(s.bytes_initiator > 0 && s.bytes_responder > 0, "{s:?}");

    // Idle time 1 s: the worker's timer removes the session.
    poll_until(Duration::from_secs(10), || {
        find(&dp.sessions().expect("sessions"), "udp", 7101)
            .is_none()
            .then_some(())
    })
    .expect("idle UDP session expires");
    assert!(dp.status().expect("status").engine.expired >= 1);

    // Unsolicited inbound: UDP and a TCP SYN from the server side never reach the client.
    let (udp_in, tcp_in) = Lab::in_ns(&lab.client, || {
        let u = UdpSocket::bind((CLIENT, 7102)).expect("bind");
        let t = TcpListener::bind((CLIENT, 7103)).expect("listen");
        (u, t)
    });
    Lab::in_ns(&lab.server, || {
        let sock = UdpSocket::bind((SERVER, 0)).expect("bind");
        for _ in 0..3 {
            sock.send_to(b"unsolicited", (CLIENT, 7102)).expect("send");
        }
        let r = TcpStream::connect_timeout(&SocketAddr::from((CLIENT, 7103)), Duration::from_millis(1500));
        assert!(r.is_err(), "inbound TCP connection must not get through");
    });
    udp_in.set_nonblocking(true).expect("nonblocking");
    let mut buf = [0u8; 64];
    assert!(udp_in.recv_from(&mut buf).is_err(), "unsolicited UDP got through");
    drop(tcp_in);
    let st = poll_until(Duration::from_secs(5), || {
        let st = dp.status().expect("status");
        (st.engine.drops.acl_denied >= 4).then_some(st)
    })
    .expect("inbound drops counted as ACL denials");
    let dropped: u64 = st.workers.iter().map(|w| w.counters.dropped).sum();
    assert!(dropped >= 4, "{st:?}");
    assert!(find(&dp.sessions().expect("sessions"), "udp", 7102).is_none());

    dp.stop().expect("stop");
    assert!(!lab.router_rules().contains("IOSHA"));
    let _ = Ipv4Addr::UNSPECIFIED;
    let _ = SocketAddrV4::new(CLIENT, 0);
}

#[test]
fn ipv6_udp_out_and_back_passes_and_unsolicited_inbound_is_dropped() {
    use netns_support::{CLIENT6, SERVER6};
    let lab = Lab::new("i3");
    let dp = start(&lab, 30);
    let echo = udp_echo_once(&lab, SocketAddr::from((SERVER6, 7301)));
    let (reply, inbound) = Lab::in_ns(&lab.client, || {
        let sock = UdpSocket::bind((CLIENT6, 0)).expect("bind");
        sock.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        // Neighbour discovery may eat the first datagram: retry until the echo comes back.
        let mut buf = [0u8; 64];
        let mut reply = None;
        for _ in 0..10 {
            sock.send_to(b"ping6", (SERVER6, 7301)).expect("send");
            sock.set_read_timeout(Some(Duration::from_millis(500)))
                .expect("timeout");
            if let Ok((n, _)) = sock.recv_from(&mut buf) {
                reply = Some(buf[..n].to_vec());
                break;
            }
        }
        (reply, UdpSocket::bind((CLIENT6, 7302)).expect("bind"))
    });
    assert_eq!(reply.expect("IPv6 UDP reply through the pinhole"), b"ping6");
    echo.join().expect("echo");
    let s = dp
        .sessions()
        .expect("sessions")
        .into_iter()
        .find(|s| s.proto == "udp" && s.responder == SocketAddr::from((SERVER6, 7301)))
        .expect("IPv6 session listed");
    assert_eq!(s.direction, "out");

    let before = dp.status().expect("status").engine.drops.acl_denied;
    Lab::in_ns(&lab.server, || {
        let sock = UdpSocket::bind((SERVER6, 0)).expect("bind");
        for _ in 0..3 {
            sock.send_to(b"unsolicited", (CLIENT6, 7302)).expect("send");
        }
    });
    poll_until(Duration::from_secs(5), || {
        (dp.status().expect("status").engine.drops.acl_denied >= before + 3).then_some(())
    })
    .expect("IPv6 inbound denied by the ACL");
    inbound.set_nonblocking(true).expect("nonblocking");
    let mut buf = [0u8; 64];
    assert!(
        inbound.recv_from(&mut buf).is_err(),
        "unsolicited IPv6 UDP got through"
    );
    let rules = lab.mangle_rules("ip6tables");
    assert!(
        rules.contains("-A IOSHA-FWD -i rs0 -j NFQUEUE --queue-num 0"),
        "{rules}"
    );
    dp.stop().expect("stop");
    assert!(!lab.mangle_rules("ip6tables").contains("IOSHA"));
}

#[test]
fn reconfigure_updates_shards_rules_and_interface_map() {
    let lab = Lab::new("i4");
    let mut dp = start(&lab, 30);
    let rules = lab.mangle_rules("iptables");
    assert!(rules.contains("-i rs0") && !rules.contains("-i rc0"), "{rules}");

    // Unsolicited inbound UDP is denied by the ACL on rs0 ...
    let inbound = Lab::in_ns(&lab.client, || UdpSocket::bind((CLIENT, 7401)).expect("bind"));
    inbound
        .set_read_timeout(Some(Duration::from_millis(300)))
        .expect("timeout");
    let send_inbound = |lab: &Lab| {
        Lab::in_ns(&lab.server, || {
            let sock = UdpSocket::bind((SERVER, 0)).expect("bind");
            sock.send_to(b"in", (CLIENT, 7401)).expect("send");
        })
    };
    send_inbound(&lab);
    let mut buf = [0u8; 16];
    assert!(inbound.recv_from(&mut buf).is_err());

    // ... reconfigured: inspection and ACL move to the client-side interface, which is also renamed
    // in the engine's list (index 0 is now the server side): the interface table follows.
    let mut cfg = netns_support::inspect_out_config(30);
    cfg.interfaces.swap(0, 1);
    cfg.interfaces[0].inspect_out = None;
    cfg.interfaces[0].acl_in = None;
    cfg.interfaces[1].inspect_in = Some(inspect::config::InterfaceInspect {
        rule: "P".into(),
        redundancy_group: None,
    });
    dp.reconfigure(
        cfg,
        vec![(0, R_SERVER_IF.to_owned()), (1, R_CLIENT_IF.to_owned())],
    )
    .expect("reconfigure");
    let rules = lab.mangle_rules("iptables");
    assert!(rules.contains("-i rc0") && !rules.contains("-i rs0"), "{rules}");
    assert_eq!(rules.matches("-j IOSHA-FWD").count(), 1, "{rules}");

    // Server → client now passes (no ACL on the path), and the client's outbound opens a session on rc0
    // inbound (`ip inspect P in` on rc0).
    // A generous wait: the datagram is expected, only a loaded machine delays it.
    inbound
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    send_inbound(&lab);
    assert!(
        inbound.recv_from(&mut buf).is_ok(),
        "inbound passes once the ACL is gone"
    );
    let echo = udp_echo_once(&lab, SocketAddr::from((SERVER, 7402)));
    let ok = Lab::in_ns(&lab.client, || {
        let sock = UdpSocket::bind((CLIENT, 0)).expect("bind");
        sock.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        sock.send_to(b"x", (SERVER, 7402)).expect("send");
        let mut buf = [0u8; 8];
        sock.recv_from(&mut buf).is_ok()
    });
    assert!(ok);
    echo.join().expect("echo");
    let s = find(&dp.sessions().expect("sessions"), "udp", 7402).expect("session on rc0");
    assert_eq!((s.interface.as_str(), s.direction.as_str()), (R_CLIENT_IF, "in"));
    let st = dp.status().expect("status");
    assert_eq!(st.workers[0].counters.unknown_ifindex, 0);
    dp.stop().expect("stop");
}

/// Bursts from both sides at once, so that allowed and denied packets share the worker's batches: every
/// packet is judged exactly once with the verdict it would get alone (the batch path and the verdict
/// bookkeeping lose, duplicate or swap nothing).
#[test]
fn mixed_bursts_are_judged_exactly_in_batches() {
    const OUT_PACKETS: u64 = 3_000;
    const IN_PACKETS: u64 = 1_000;
    let lab = Lab::new("i5");
    let dp = start(&lab, 30);
    let sink = Lab::in_ns(&lab.server, || UdpSocket::bind((SERVER, 7501)).expect("bind"));
    let trap = Lab::in_ns(&lab.client, || UdpSocket::bind((CLIENT, 7502)).expect("bind"));
    for s in [&sink, &trap] {
        s.set_read_timeout(Some(Duration::from_secs(2))).expect("timeout");
    }
    // Receivers run while the bursts are sent, so their socket buffers never overflow.
    let count = |sock: UdpSocket| {
        std::thread::spawn(move || {
            let mut buf = [0u8; 64];
            let mut n = 0u64;
            while sock.recv_from(&mut buf).is_ok() {
                n += 1;
            }
            n
        })
    };
    let (sunk, trapped) = (count(sink), count(trap));
    // Paced bursts of 50: enough to fill batches, gentle enough not to overflow the queue.
    let outbound = spawn_in_ns(&lab.client, || {
        let sock = UdpSocket::bind((CLIENT, 7500)).expect("bind");
        for i in 0..OUT_PACKETS {
            sock.send_to(&i.to_be_bytes(), (SERVER, 7501)).expect("send");
            if i % 50 == 49 {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
    });
    let inbound = spawn_in_ns(&lab.server, || {
        let sock = UdpSocket::bind((SERVER, 0)).expect("bind");
        for i in 0..IN_PACKETS {
            sock.send_to(&i.to_be_bytes(), (CLIENT, 7502)).expect("send");
            if i % 50 == 49 {
                std::thread::sleep(Duration::from_millis(6));
            }
        }
    });
    outbound.join().expect("outbound sender");
    inbound.join().expect("inbound sender");
    let (sunk, trapped) = (sunk.join().expect("sink"), trapped.join().expect("trap"));
    let st = dp.status().expect("status");
    let c = st.workers[0].counters;
    assert_eq!(
        c.overruns, 0,
        "the queue overflowed, nothing exact can be said: {c:?}"
    );
    assert_eq!(trapped, 0, "unsolicited inbound got through");
    assert_eq!(sunk, OUT_PACKETS, "outbound lost packets: {c:?}");
    assert_eq!(st.engine.drops.acl_denied, IN_PACKETS, "{st:?}");
    assert_eq!(c.packets, OUT_PACKETS + IN_PACKETS, "{c:?}");
    assert_eq!((c.accepted, c.dropped), (OUT_PACKETS, IN_PACKETS), "{c:?}");
    assert!(c.max_batch > 1, "no batch held more than one packet: {c:?}");
    assert_eq!(
        find(&dp.sessions().expect("sessions"), "udp", 7501).map(|s| s.bytes_initiator),
        Some(OUT_PACKETS * 36)
    );
    dp.stop().expect("stop");
}
