//! The message layer of one association incarnation: envelopes, per-stream sequences, authentication,
//! replay windows and the hello. Shared by the userspace and kernel backends; sans-IO.

use std::collections::VecDeque;

use crate::auth::{Authenticator, ReplayWindow};
use crate::envelope::{
    BundleView, BundleWriter, CONTROL_STREAM, ClientId, Envelope, HELLO_FLAG_BUNDLES, HELLO_FLAG_KEYED,
    Hello, MessageKind, STREAM_COUNT, is_bundle,
};
use crate::error::{AuthError, DecodeError};
use crate::status::AssociationStats;

/// Messages held while the peer's hello has not arrived yet (they may overtake it on another stream).
pub(crate) const PRE_HELLO_LIMIT: usize = 1024;

/// What the session made of a received message.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SessionOutput {
    /// A verified client message.
    Deliver {
        client: ClientId,
        kind: MessageKind,
        payload: Vec<u8>,
    },
    /// The peer's hello verified; the peer's boot id.
    PeerVerified { boot_id: u64 },
    /// A message failed authentication.
    AuthFailed(AuthError),
    /// A message could not be decoded.
    Decode(DecodeError),
}

#[derive(Debug)]
pub(crate) struct Session {
    auth: Authenticator,
    local_boot_id: u64,
    tx_seq: [u64; STREAM_COUNT as usize],
    rx_windows: [ReplayWindow; STREAM_COUNT as usize],
    /// Boot id claimed by the peer's latest hello (verified or not).
    claimed_peer_boot: Option<u64>,
    verified: bool,
    /// The peer's verified hello advertised [`HELLO_FLAG_BUNDLES`].
    peer_bundles: bool,
    pending: VecDeque<(u16, Vec<u8>)>,
}

impl Session {
    pub(crate) fn new(key: Option<&str>, local_boot_id: u64) -> Self {
        Self {
            auth: Authenticator::new(key),
            local_boot_id,
            tx_seq: [0; STREAM_COUNT as usize],
            rx_windows: Default::default(),
            claimed_peer_boot: None,
            verified: false,
            peer_bundles: false,
            pending: VecDeque::new(),
        }
    }

    /// Starts a new incarnation (new SCTP association or SCTP restart).
    pub(crate) fn reset(&mut self) {
        self.tx_seq = [0; STREAM_COUNT as usize];
        self.rx_windows = Default::default();
        self.claimed_peer_boot = None;
        self.verified = false;
        self.peer_bundles = false;
        self.pending.clear();
    }

    /// Whether the peer accepts bundles (its verified hello said so).
    pub(crate) fn peer_accepts_bundles(&self) -> bool {
        self.verified && self.peer_bundles
    }

    #[cfg(test)]
    pub(crate) fn is_verified(&self) -> bool {
        self.verified
    }

    pub(crate) fn is_keyed(&self) -> bool {
        self.auth.is_keyed()
    }

    /// The hello to send first on a new incarnation: `(stream, bytes)`.
    pub(crate) fn hello(&mut self) -> (u16, Vec<u8>) {
        // Every build with this code decodes bundles (both backends share this session).
        let flags = HELLO_FLAG_BUNDLES | if self.auth.is_keyed() { HELLO_FLAG_KEYED } else { 0 };
        let payload = Hello {
            flags,
            boot_id: self.local_boot_id,
        }
        .encode();
        self.seal(ClientId::IPC, MessageKind::HELLO, payload)
    }

    /// Wraps a client message: `(stream, bytes)`.
    pub(crate) fn seal(&mut self, client: ClientId, kind: MessageKind, payload: Vec<u8>) -> (u16, Vec<u8>) {
        let stream = client.stream();
        let slot = &mut self.tx_seq[usize::from(stream)];
        *slot += 1;
        let mut env = Envelope::new(client, kind, *slot, payload);
        self.auth.sign(self.local_boot_id, &mut env);
        (stream, env.encode())
    }

    /// Packs client messages of one stream into a bundle (one tag, consecutive sequence numbers):
    /// `(stream, bytes)`. `stream` must be the stream of every message's client; `capacity` is a size
    /// hint.
    pub(crate) fn seal_bundle<'m>(
        &mut self,
        stream: u16,
        msgs: impl Iterator<Item = (ClientId, MessageKind, &'m [u8])>,
        capacity: usize,
    ) -> Vec<u8> {
        let slot = &mut self.tx_seq[usize::from(stream)];
        let mut w = BundleWriter::new(stream, *slot + 1, capacity);
        for (client, kind, payload) in msgs {
            w.push(client, kind, payload);
        }
        *slot += u64::from(w.count());
        let mut bytes = w.finish(self.auth.is_keyed());
        self.auth.sign_bundle(self.local_boot_id, &mut bytes);
        bytes
    }

    /// Handles one received SCTP user message.
    pub(crate) fn open(
        &mut self,
        stream: u16,
        bytes: Vec<u8>,
        stats: &mut AssociationStats,
        out: &mut Vec<SessionOutput>,
    ) {
        let is_hello = stream == CONTROL_STREAM
            && !is_bundle(&bytes)
            && bytes.len() > 4
            && bytes[2..4] == ClientId::IPC.0.to_be_bytes()
            && bytes[4] == MessageKind::HELLO.0;
        if is_hello {
            self.open_hello(bytes, stats, out);
            // Messages that overtook the hello can be judged now.
            while let Some((s, b)) = self.pending.pop_front() {
                self.open_message(s, b, stats, out);
            }
            return;
        }
        if self.claimed_peer_boot.is_none() {
            if self.pending.len() >= PRE_HELLO_LIMIT {
                stats.drop_before_hello += 1;
            } else {
                self.pending.push_back((stream, bytes));
            }
            return;
        }
        self.open_message(stream, bytes, stats, out);
    }

    fn decode(bytes: &[u8], stats: &mut AssociationStats, out: &mut Vec<SessionOutput>) -> Option<Envelope> {
        match Envelope::decode(bytes) {
            Ok(env) => Some(env),
            Err(e) => {
                match e {
                    DecodeError::Truncated { .. } => stats.drop_truncated += 1,
                    DecodeError::Oversized { .. } => stats.drop_oversized += 1,
                    DecodeError::UnknownVersion(_) => stats.drop_unknown_version += 1,
                    DecodeError::TrailingBytes(_) => stats.drop_trailing += 1,
                    DecodeError::UnknownKind(_) => stats.drop_unknown_kind += 1,
                    DecodeError::BadHello => stats.drop_bad_hello += 1,
                    DecodeError::BadBundleCount { .. }
                    | DecodeError::SequenceOverflow
                    | DecodeError::BundleStream { .. } => stats.drop_bad_bundle += 1,
                }
                out.push(SessionOutput::Decode(e));
                None
            }
        }
    }

    fn open_hello(&mut self, bytes: Vec<u8>, stats: &mut AssociationStats, out: &mut Vec<SessionOutput>) {
        let Some(env) = Self::decode(&bytes, stats, out) else {
            return;
        };
        let hello = match Hello::decode(&env.payload) {
            Ok(h) => h,
            Err(e) => {
                stats.drop_bad_hello += 1;
                stats.kind(env.kind).rerr += 1;
                out.push(SessionOutput::Decode(e));
                return;
            }
        };
        self.claimed_peer_boot = Some(hello.boot_id);
        if let Err(e) = self.auth.verify(hello.boot_id, &env) {
            self.verified = false;
            stats.drop_auth += 1;
            stats.kind(env.kind).rerr += 1;
            out.push(SessionOutput::AuthFailed(e));
            return;
        }
        if let Err(e) = self.rx_windows[usize::from(CONTROL_STREAM)].check_and_record(env.sequence) {
            stats.drop_replay += 1;
            stats.kind(env.kind).rerr += 1;
            out.push(SessionOutput::AuthFailed(e));
            return;
        }
        stats.kind(env.kind).rcv += 1;
        self.verified = true;
        self.peer_bundles = hello.flags & HELLO_FLAG_BUNDLES != 0;
        out.push(SessionOutput::PeerVerified {
            boot_id: hello.boot_id,
        });
    }

    fn open_message(
        &mut self,
        stream: u16,
        bytes: Vec<u8>,
        stats: &mut AssociationStats,
        out: &mut Vec<SessionOutput>,
    ) {
        if is_bundle(&bytes) {
            self.open_bundle(stream, &bytes, stats, out);
            return;
        }
        let Some(env) = Self::decode(&bytes, stats, out) else {
            return;
        };
        let peer_boot = self.claimed_peer_boot.unwrap_or_default();
        if let Err(e) = self.auth.verify(peer_boot, &env) {
            stats.drop_auth += 1;
            stats.kind(env.kind).rerr += 1;
            out.push(SessionOutput::AuthFailed(e));
            return;
        }
        if !self.verified {
            // The tag verified but the hello did not: cannot happen with one key; refuse anyway.
            stats.drop_auth += 1;
            stats.kind(env.kind).rerr += 1;
            out.push(SessionOutput::AuthFailed(AuthError::BadTag));
            return;
        }
        let Some(window) = self.rx_windows.get_mut(usize::from(stream)) else {
            stats.drop_foreign_packets += 1;
            return;
        };
        if let Err(e) = window.check_and_record(env.sequence) {
            stats.drop_replay += 1;
            stats.kind(env.kind).rerr += 1;
            out.push(SessionOutput::AuthFailed(e));
            return;
        }
        if !env.kind.is_known() || env.kind == MessageKind::HELLO {
            stats.drop_unknown_kind += 1;
            stats.kind(env.kind).rerr += 1;
            out.push(SessionOutput::Decode(DecodeError::UnknownKind(env.kind.0)));
            return;
        }
        stats.msgs_received += 1;
        stats.bytes_received += env.payload.len() as u64;
        stats.kind(env.kind).rcv += 1;
        out.push(SessionOutput::Deliver {
            client: env.client,
            kind: env.kind,
            payload: env.payload,
        });
    }
}

impl Session {
    /// Handles a received bundle: framing, one tag, the stream it was meant for, and its whole sequence
    /// range in the replay window; then every record in order. A bundle refused as a whole counts one
    /// drop (the named counter of why) and a receive error for each record's kind.
    fn open_bundle(
        &mut self,
        stream: u16,
        bytes: &[u8],
        stats: &mut AssociationStats,
        out: &mut Vec<SessionOutput>,
    ) {
        let view = match BundleView::decode(bytes) {
            Ok(v) => v,
            Err(e) => {
                stats.drop_bad_bundle += 1;
                out.push(SessionOutput::Decode(e));
                return;
            }
        };
        let refuse = |stats: &mut AssociationStats, out: &mut Vec<SessionOutput>, o: SessionOutput| {
            for r in view.records() {
                stats.kind(r.kind).rerr += 1;
            }
            out.push(o);
        };
        let peer_boot = self.claimed_peer_boot.unwrap_or_default();
        // A tag that verified while the hello did not cannot happen with one key; refuse it anyway.
        let verdict = self.auth.verify_bundle(peer_boot, &view).and(if self.verified {
            Ok(())
        } else {
            Err(AuthError::BadTag)
        });
        if let Err(e) = verdict {
            stats.drop_auth += 1;
            refuse(stats, out, SessionOutput::AuthFailed(e));
            return;
        }
        if view.stream() != stream {
            stats.drop_bad_bundle += 1;
            let e = DecodeError::BundleStream {
                declared: view.stream(),
                arrived: stream,
            };
            refuse(stats, out, SessionOutput::Decode(e));
            return;
        }
        let Some(window) = self.rx_windows.get_mut(usize::from(stream)) else {
            stats.drop_foreign_packets += 1;
            return;
        };
        if let Err(e) = window.check_and_record_range(view.first_sequence(), view.count()) {
            stats.drop_replay += 1;
            refuse(stats, out, SessionOutput::AuthFailed(e));
            return;
        }
        stats.bundles_received += 1;
        for r in view.records() {
            if !r.kind.is_known() || r.kind == MessageKind::HELLO {
                stats.drop_unknown_kind += 1;
                stats.kind(r.kind).rerr += 1;
                out.push(SessionOutput::Decode(DecodeError::UnknownKind(r.kind.0)));
                continue;
            }
            stats.msgs_received += 1;
            stats.bytes_received += r.payload.len() as u64;
            stats.kind(r.kind).rcv += 1;
            out.push(SessionOutput::Deliver {
                client: r.client,
                kind: r.kind,
                payload: r.payload.to_vec(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(ka: Option<&str>, kb: Option<&str>) -> (Session, Session) {
        (Session::new(ka, 1111), Session::new(kb, 2222))
    }

    fn deliver(from: &mut Session, to: &mut Session, stats: &mut AssociationStats) -> Vec<SessionOutput> {
        let mut out = Vec::new();
        let (s, b) = from.hello();
        to.open(s, b, stats, &mut out);
        let (s, b) = from.seal(ClientId::RF, MessageKind::RF_CONTROL, b"hi".to_vec());
        to.open(s, b, stats, &mut out);
        out
    }

    #[test]
    fn same_key_delivers() {
        let (mut a, mut b) = pair(Some("k"), Some("k"));
        let mut st = AssociationStats::default();
        let out = deliver(&mut a, &mut b, &mut st);
        assert_eq!(
            out,
            vec![
                SessionOutput::PeerVerified { boot_id: 1111 },
                SessionOutput::Deliver {
                    client: ClientId::RF,
                    kind: MessageKind::RF_CONTROL,
                    payload: b"hi".to_vec()
                },
            ]
        );
        assert_eq!(st.msgs_received, 1);
        assert!(b.is_verified());
    }

    #[test]
    fn wrong_or_missing_key_is_refused() {
        for (ka, kb, err) in [
            (Some("good"), Some("bad"), AuthError::BadTag),
            (None, Some("k"), AuthError::MissingTag),
            (Some("k"), None, AuthError::UnexpectedTag),
        ] {
            let (mut a, mut b) = pair(ka, kb);
            let mut st = AssociationStats::default();
            let out = deliver(&mut a, &mut b, &mut st);
            assert_eq!(
                out,
                vec![SessionOutput::AuthFailed(err), SessionOutput::AuthFailed(err)]
            );
            assert_eq!(st.drop_auth, 2);
            assert_eq!(st.msgs_received, 0);
            assert!(!b.is_verified());
        }
    }

    #[test]
    fn messages_overtaking_the_hello_are_held() {
        let (mut a, mut b) = pair(Some("k"), Some("k"));
        let mut st = AssociationStats::default();
        let mut out = Vec::new();
        let hello = a.hello();
        let (s, m) = a.seal(ClientId::INSPECT, MessageKind::INSPECT_SYNC, vec![7]);
        b.open(s, m, &mut st, &mut out);
        assert!(out.is_empty());
        b.open(hello.0, hello.1, &mut st, &mut out);
        assert_eq!(out.len(), 2);
        assert!(matches!(
            out[1],
            SessionOutput::Deliver {
                kind: MessageKind::INSPECT_SYNC,
                ..
            }
        ));
    }

    #[test]
    fn replay_and_unknown_kind_are_dropped() {
        let (mut a, mut b) = pair(Some("k"), Some("k"));
        let mut st = AssociationStats::default();
        let mut out = Vec::new();
        let (s, h) = a.hello();
        b.open(s, h, &mut st, &mut out);
        let (s, m) = a.seal(ClientId::RF, MessageKind::RF_CONTROL, vec![1]);
        b.open(s, m.clone(), &mut st, &mut out);
        b.open(s, m, &mut st, &mut out);
        assert_eq!(st.drop_replay, 1);
        let (s, m) = a.seal(ClientId::RF, MessageKind(99), vec![1]);
        b.open(s, m, &mut st, &mut out);
        assert_eq!(st.drop_unknown_kind, 1);
        b.open(s, vec![1, 2, 3], &mut st, &mut out);
        assert_eq!(st.drop_truncated, 1);
        assert_eq!(st.msgs_received, 1);
        assert_eq!(st.per_kind["rf-control"].rcv, 1);
        assert_eq!(st.per_kind["rf-control"].rerr, 1);
        assert_eq!(st.per_kind["kind-99"].rerr, 1);
    }

    #[test]
    fn reset_starts_sequences_again() {
        let (mut a, mut b) = pair(None, None);
        let mut st = AssociationStats::default();
        deliver(&mut a, &mut b, &mut st);
        a.reset();
        b.reset();
        let out = deliver(&mut a, &mut b, &mut st);
        assert_eq!(out.len(), 2);
        assert_eq!(st.msgs_received, 2);
        assert_eq!(st.drop_replay, 0);
    }

    fn bundle(a: &mut Session, payloads: &[&[u8]]) -> (u16, Vec<u8>) {
        let stream = ClientId::INSPECT.stream();
        let items = payloads
            .iter()
            .map(|p| (ClientId::INSPECT, MessageKind::INSPECT_SYNC, *p));
        (stream, a.seal_bundle(stream, items, 0))
    }

    fn delivered(out: &[SessionOutput]) -> Vec<Vec<u8>> {
        out.iter()
            .filter_map(|o| match o {
                SessionOutput::Deliver { payload, .. } => Some(payload.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn bundles_deliver_in_order_and_share_the_sequence_space() {
        for key in [None, Some("k")] {
            let (mut a, mut b) = pair(key, key);
            let mut st = AssociationStats::default();
            let mut out = Vec::new();
            let (s, h) = a.hello();
            b.open(s, h, &mut st, &mut out);
            assert!(b.peer_accepts_bundles());
            let (s, m) = a.seal(ClientId::INSPECT, MessageKind::INSPECT_SYNC, b"0".to_vec());
            b.open(s, m, &mut st, &mut out);
            let (s, bun) = bundle(&mut a, &[b"1", b"2", b"3"]);
            b.open(s, bun.clone(), &mut st, &mut out);
            let (s, m) = a.seal(ClientId::INSPECT, MessageKind::INSPECT_SYNC, b"4".to_vec());
            b.open(s, m, &mut st, &mut out);
            assert_eq!(
                delivered(&out),
                [b"0", b"1", b"2", b"3", b"4"].map(|p| p.to_vec())
            );
            assert_eq!(
                (st.msgs_received, st.bundles_received, st.bytes_received),
                (5, 1, 5)
            );
            // The bundle took sequences 2..=4; the next envelope has 5.
            assert_eq!(a.tx_seq[usize::from(s)], 5);
            // Replaying the bundle is refused as a whole, counted once.
            out.clear();
            b.open(s, bun, &mut st, &mut out);
            assert_eq!(out, vec![SessionOutput::AuthFailed(AuthError::Replayed(2))]);
            assert_eq!((st.drop_replay, st.msgs_received), (1, 5));
            assert_eq!(st.per_kind["inspect-sync"].rerr, 3);
        }
    }

    #[test]
    fn bad_bundles_are_counted_and_never_delivered() {
        let (mut a, mut b) = pair(Some("k"), Some("k"));
        let mut st = AssociationStats::default();
        let mut out = Vec::new();
        let (s, h) = a.hello();
        b.open(s, h, &mut st, &mut out);
        out.clear();
        // Moved to another SCTP stream: refused (the stream is inside the tag).
        let (_, moved) = bundle(&mut a, &[b"x", b"y"]);
        b.open(2, moved, &mut st, &mut out);
        assert_eq!(st.drop_bad_bundle, 1);
        // Broken framing.
        let (s, mut broken) = bundle(&mut a, &[b"x", b"y"]);
        broken[7] = 9;
        b.open(s, broken, &mut st, &mut out);
        assert_eq!(st.drop_bad_bundle, 2);
        // Signed with another key.
        let mut c = Session::new(Some("other"), 1111);
        let (s, forged) = bundle(&mut c, &[b"x", b"y"]);
        b.open(s, forged, &mut st, &mut out);
        assert_eq!(st.drop_auth, 1);
        assert!(delivered(&out).is_empty());
        assert_eq!(st.msgs_received, 0);
        // A bundle is never mistaken for a hello, even on the control stream.
        let (s, rf) = (
            CONTROL_STREAM,
            a.seal_bundle(
                CONTROL_STREAM,
                [(ClientId::RF, MessageKind::RF_CONTROL, &b"r"[..]); 2].into_iter(),
                0,
            ),
        );
        out.clear();
        b.open(s, rf, &mut st, &mut out);
        assert_eq!(delivered(&out).len(), 2);
        assert_eq!(st.drop_bad_hello, 0);
    }

    #[test]
    fn a_peer_without_the_bundle_flag_gets_no_bundles() {
        let mut b = Session::new(None, 2222);
        let mut st = AssociationStats::default();
        let mut out = Vec::new();
        // A hello as builds before bundles sent it: flags 0.
        let old = Envelope::new(
            ClientId::IPC,
            MessageKind::HELLO,
            1,
            Hello { flags: 0, boot_id: 7 }.encode(),
        );
        b.open(CONTROL_STREAM, old.encode(), &mut st, &mut out);
        assert_eq!(out, vec![SessionOutput::PeerVerified { boot_id: 7 }]);
        assert!(!b.peer_accepts_bundles());
        b.reset();
        assert!(!b.peer_accepts_bundles());
    }
}
