use proptest::prelude::*;

use super::*;
use crate::wire::TcpFlags;

fn seg(flags: u8, seq: u32, ack: u32, len: u32, window: u16) -> TcpInfo {
    TcpInfo {
        src_port: 1,
        dst_port: 2,
        seq,
        ack,
        flags: TcpFlags(flags),
        window,
        window_scale: None,
        payload_len: len,
    }
}

const A: u8 = TcpFlags::ACK;
const S: u8 = TcpFlags::SYN;
const F: u8 = TcpFlags::FIN;
const R: u8 = TcpFlags::RST;

fn open() -> TcpState {
    let mut t = TcpState::from_syn(&seg(S, 100, 0, 0, 65535));
    assert_eq!(
        t.on_segment(Side::Responder, &seg(S | A, 900, 101, 0, 65535)),
        TcpVerdict::Accept
    );
    assert_eq!(t.sis, SisState::SynRcvd);
    assert_eq!(
        t.on_segment(Side::Initiator, &seg(A, 101, 901, 0, 65535)),
        TcpVerdict::Accept
    );
    assert_eq!(t.sis, SisState::Open);
    t
}

#[test]
fn state_names_are_ios() {
    let names: Vec<&str> = [
        SisState::SynSent,
        SisState::SynRcvd,
        SisState::Open,
        SisState::FinWait,
        SisState::Closing,
        SisState::Closed,
    ]
    .iter()
    .map(|s| s.ios_name())
    .collect();
    assert_eq!(
        names,
        [
            "SIS_SYNSENT",
            "SIS_SYNRCVD",
            "SIS_OPEN",
            "SIS_FINWAIT",
            "SIS_CLOSING",
            "SIS_CLOSED"
        ]
    );
    for code in 0..=255u8 {
        if let Some(s) = SisState::from_code(code) {
            assert_eq!(s.code(), code);
        }
    }
}

/// Snapshot of the transition table: any edit shows up here as a diff.
#[test]
fn transition_table_snapshot() {
    let rendered: Vec<String> = TRANSITIONS
        .iter()
        .map(|(f, e, t)| format!("{f} --{e:?}--> {t}"))
        .collect();
    assert_eq!(
        rendered.join("\n"),
        "SIS_SYNSENT --SynAck--> SIS_SYNRCVD
SIS_SYNSENT --Reset--> SIS_CLOSED
SIS_SYNSENT --ResumedOpen--> SIS_OPEN
SIS_SYNRCVD --HandshakeAck--> SIS_OPEN
SIS_SYNRCVD --FirstFin--> SIS_FINWAIT
SIS_SYNRCVD --Reset--> SIS_CLOSED
SIS_SYNRCVD --ResumedOpen--> SIS_OPEN
SIS_OPEN --FirstFin--> SIS_FINWAIT
SIS_OPEN --Reset--> SIS_CLOSED
SIS_FINWAIT --SecondFin--> SIS_CLOSING
SIS_FINWAIT --Reset--> SIS_CLOSED
SIS_CLOSING --LastFinAcked--> SIS_CLOSED
SIS_CLOSING --Reset--> SIS_CLOSED
SIS_CLOSING --Reopen--> SIS_SYNSENT
SIS_CLOSED --Reopen--> SIS_SYNSENT"
    );
}

#[test]
fn handshake_data_and_close() {
    let mut t = open();
    assert_eq!(
        t.on_segment(Side::Initiator, &seg(A, 101, 901, 500, 65535)),
        TcpVerdict::Accept
    );
    assert_eq!(
        t.on_segment(Side::Responder, &seg(A, 901, 601, 1000, 65535)),
        TcpVerdict::Accept
    );
    assert_eq!(
        t.on_segment(Side::Initiator, &seg(F | A, 601, 1901, 0, 65535)),
        TcpVerdict::Accept
    );
    assert_eq!(t.sis, SisState::FinWait);
    assert_eq!(
        t.on_segment(Side::Responder, &seg(F | A, 1901, 602, 0, 65535)),
        TcpVerdict::Accept
    );
    assert_eq!(t.sis, SisState::Closing);
    assert_eq!(
        t.on_segment(Side::Initiator, &seg(A, 602, 1902, 0, 65535)),
        TcpVerdict::Accept
    );
    assert_eq!(t.sis, SisState::Closed);
}

#[test]
fn window_checks() {
    let mut t = open();
    // Beyond the right edge the responder opened (ack 901... initiator may send up to 101 + 65535).
    assert_eq!(
        t.on_segment(Side::Initiator, &seg(A, 101 + 70_000, 901, 10, 65535)),
        TcpVerdict::OutOfWindow
    );
    // Acknowledging data the responder never sent.
    assert_eq!(
        t.on_segment(Side::Initiator, &seg(A, 101, 901 + 5000, 10, 65535)),
        TcpVerdict::OutOfWindow
    );
    // Far in the past.
    assert_eq!(
        t.on_segment(
            Side::Initiator,
            &seg(A, 101u32.wrapping_sub(200_000), 901, 10, 65535)
        ),
        TcpVerdict::OutOfWindow
    );
    // A retransmission inside the window is fine.
    assert_eq!(
        t.on_segment(Side::Initiator, &seg(A, 101, 901, 10, 65535)),
        TcpVerdict::Accept
    );
    // RST outside the window is refused, inside accepted.
    assert_eq!(
        t.on_segment(Side::Responder, &seg(R, 901 + 1_000_000, 0, 0, 0)),
        TcpVerdict::OutOfWindow
    );
    assert_eq!(
        t.on_segment(Side::Responder, &seg(R, 901, 0, 0, 0)),
        TcpVerdict::Reset
    );
    assert_eq!(t.sis, SisState::Closed);
}

#[test]
fn invalid_flags_and_handshake_violations() {
    let mut t = TcpState::from_syn(&seg(S, 100, 0, 0, 1000));
    assert_eq!(
        t.on_segment(Side::Initiator, &seg(S | F, 100, 0, 0, 1000)),
        TcpVerdict::Invalid
    );
    assert_eq!(
        t.on_segment(Side::Initiator, &seg(0, 100, 0, 0, 1000)),
        TcpVerdict::Invalid
    );
    // Responder data before its SYN-ACK.
    assert_eq!(
        t.on_segment(Side::Responder, &seg(A, 5, 101, 10, 1000)),
        TcpVerdict::Invalid
    );
    // SYN-ACK acknowledging the wrong number.
    assert_eq!(
        t.on_segment(Side::Responder, &seg(S | A, 5, 555, 0, 1000)),
        TcpVerdict::Invalid
    );
    // SYN retransmission is fine.
    assert_eq!(
        t.on_segment(Side::Initiator, &seg(S, 100, 0, 0, 1000)),
        TcpVerdict::Accept
    );
    assert_eq!(t.sis, SisState::SynSent);
    // Connection refused.
    assert_eq!(
        t.on_segment(Side::Responder, &seg(R | A, 0, 101, 0, 0)),
        TcpVerdict::Reset
    );
    assert_eq!(t.sis, SisState::Closed);
}

#[test]
fn window_scale_is_applied_only_when_both_sides_announce_it() {
    let mut syn = seg(S, 100, 0, 0, 1000);
    syn.window_scale = Some(7);
    let mut t = TcpState::from_syn(&syn);
    let mut synack = seg(S | A, 900, 101, 0, 1000);
    synack.window_scale = Some(4);
    t.on_segment(Side::Responder, &synack);
    assert_eq!(t.scale, [7, 4]);
    t.on_segment(Side::Initiator, &seg(A, 101, 901, 0, 1000));
    // Responder window 1000 << 4 = 16000: initiator may send up to ~901 + 16000 past the ack.
    assert_eq!(
        t.on_segment(Side::Responder, &seg(A, 901, 101, 0, 1000)),
        TcpVerdict::Accept
    );
    assert_eq!(
        t.on_segment(Side::Initiator, &seg(A, 101 + 15_000, 901, 100, 1000)),
        TcpVerdict::Accept
    );

    let mut t = TcpState::from_syn(&syn);
    t.on_segment(Side::Responder, &seg(S | A, 900, 101, 0, 1000));
    assert_eq!(t.scale, [0, 0]);
}

#[test]
fn reopen_after_close() {
    let mut t = open();
    t.on_segment(Side::Initiator, &seg(R, 101, 0, 0, 0));
    assert_eq!(t.sis, SisState::Closed);
    assert_eq!(
        t.on_segment(Side::Initiator, &seg(S, 77_777, 0, 0, 1000)),
        TcpVerdict::Accept
    );
    assert_eq!(t.sis, SisState::SynSent);
}

#[test]
fn promoted_session_relearns_stale_windows() {
    let live = open();
    // The standby got numbers that are far behind the real connection.
    let rec_i = live.record(Side::Initiator);
    let rec_r = live.record(Side::Responder);
    let mut t = TcpState::from_records(SisState::Open, &rec_i, &rec_r);
    let mut strict = t;
    t.start_relearn();
    let seq_i = 101u32.wrapping_add(10_000_000);
    let seq_r = 901u32.wrapping_add(20_000_000);
    // Without relearning these would be out of window.
    assert_eq!(
        strict.on_segment(Side::Initiator, &seg(A, seq_i, seq_r, 100, 65535)),
        TcpVerdict::OutOfWindow
    );
    assert_eq!(
        t.on_segment(Side::Initiator, &seg(A, seq_i, seq_r, 100, 65535)),
        TcpVerdict::Accept
    );
    assert!(!t.relearning(Side::Initiator) && t.relearning(Side::Responder));
    assert_eq!(
        t.on_segment(Side::Responder, &seg(A, seq_r, seq_i + 100, 200, 65535)),
        TcpVerdict::Accept
    );
    assert!(!t.relearning(Side::Responder));
    // From now on the checks are strict again, against the relearned numbers.
    assert_eq!(
        t.on_segment(Side::Initiator, &seg(A, seq_i + 100, seq_r + 200, 10, 65535)),
        TcpVerdict::Accept
    );
    assert_eq!(
        t.on_segment(Side::Initiator, &seg(A, seq_i + 100, seq_r + 90_000, 10, 65535)),
        TcpVerdict::OutOfWindow
    );
    assert_eq!(
        t.on_segment(
            Side::Initiator,
            &seg(A, seq_i.wrapping_sub(5_000_000), seq_r + 200, 10, 65535)
        ),
        TcpVerdict::OutOfWindow
    );
}

#[test]
fn records_round_trip() {
    let mut t = open();
    t.on_segment(Side::Initiator, &seg(A, 101, 901, 500, 40000));
    let back = TcpState::from_records(t.sis, &t.record(Side::Initiator), &t.record(Side::Responder));
    assert_eq!(back.win, t.win);
    assert_eq!(back.scale, t.scale);
}

/// A session after its handshake (marked for re-learning when `relearn`), the start of the property tests.
fn established(relearn: bool) -> TcpState {
    let mut t = TcpState::from_syn(&seg(S, 999, 0, 0, 65535));
    let _ = t.on_segment(Side::Responder, &seg(S | A, 4999, 1000, 0, 65535));
    let _ = t.on_segment(Side::Initiator, &seg(A, 1000, 5000, 0, 65535));
    if relearn {
        t.start_relearn();
    }
    t
}

fn arb_seg() -> impl Strategy<Value = (bool, TcpInfo)> {
    (
        any::<bool>(),
        prop::sample::select(vec![S, S | A, A, F | A, R, R | A, A | TcpFlags::PSH, F, S | F, 0]),
        any::<u32>(),
        any::<u32>(),
        0u32..3000,
        any::<u16>(),
        prop::option::of(0u8..20),
        // Small perturbations around a plausible sequence are more interesting than uniform noise.
        -70_000i64..70_000,
        0usize..3,
    )
        .prop_map(|(resp, flags, seq, ack, len, window, ws, delta, mode)| {
            let seq = if mode == 0 { seq } else { (1000i64 + delta) as u32 };
            let ack = if mode == 2 {
                (5000i64 + delta / 2) as u32
            } else {
                ack
            };
            (
                resp,
                TcpInfo {
                    src_port: 1,
                    dst_port: 2,
                    seq,
                    ack,
                    flags: TcpFlags(flags),
                    window,
                    window_scale: ws,
                    payload_len: len,
                },
            )
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Random segment sequences: no panic; every state change is an edge of the table; an accepted
    /// segment (outside re-learning) lies inside the window it was checked against.
    #[test]
    fn tracker_invariants(relearn in any::<bool>(), segs in prop::collection::vec(arb_seg(), 1..60)) {
        let mut t = established(relearn);
        for (resp, s) in segs {
            let side = if resp { Side::Responder } else { Side::Initiator };
            let before = t;
            let v = t.on_segment(side, &s);
            if t.sis != before.sis {
                let edge = TRANSITIONS.iter().any(|&(f, _, to)| f == before.sis && to == t.sis);
                prop_assert!(edge, "{} -> {} is not an edge", before.sis, t.sis);
            }
            match v {
                TcpVerdict::OutOfWindow | TcpVerdict::Invalid => {
                    prop_assert_eq!(t, before, "a refused segment must not change the state");
                }
                TcpVerdict::Accept | TcpVerdict::Reset => {
                    let (si, ri) = (side as usize, side.other() as usize);
                    let relearning = before.relearning(side);
                    let handshake = s.flags.syn()
                        || before.sis.is_half_open()
                        || before.sis == SisState::Closed
                        || before.sis == SisState::Closing;
                    if !relearning && !handshake {
                        let sw = before.win[si];
                        prop_assert!(seq_le(s.seq, sw.maxend), "seq {} beyond maxend {}", s.seq, sw.maxend);
                        let end = s.seq.wrapping_add(s.payload_len).wrapping_add(u32::from(s.flags.fin()));
                        prop_assert!(seq_ge(end, sw.end.wrapping_sub(before.win[ri].maxwin)));
                        if s.flags.ack() && !before.relearning(side.other()) {
                            prop_assert!(seq_le(s.ack, before.win[ri].end));
                        }
                    }
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// The fast path for plain ACKs on open sessions decides and updates exactly as the general path.
    #[test]
    fn open_ack_fast_path_equals_general_path(
        relearn in any::<bool>(),
        segs in prop::collection::vec(arb_seg(), 1..60),
    ) {
        let mut t = established(relearn);
        for (resp, s) in segs {
            let side = if resp { Side::Responder } else { Side::Initiator };
            let mut general = t;
            let expected = general.on_any_segment(side, &s);
            let got = t.on_segment(side, &s);
            prop_assert_eq!(got, expected);
            prop_assert_eq!(t, general);
        }
    }
}
