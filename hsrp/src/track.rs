//! IOS tracking objects (`track N interface IF line-protocol`, with `delay up S down S`) as a sans-IO core.
//!
//! A [`Tracker`] follows the line protocol of the interfaces its objects name and turns it into object
//! up/down changes, holding a change back by the object's `delay up`/`delay down` (a flap shorter than the
//! delay is never reported). The driver feeds interface state with [`Tracker::handle_link`], fires
//! [`Tracker::handle_timeout`] at [`Tracker::poll_timeout`], and passes each [`TrackChange`] from
//! [`Tracker::poll_action`] to [`crate::Speaker::handle_track`]. An object is in an unknown state until the
//! first report about its interface, which takes effect at once (no delay) and counts as its first change,
//! as IOS counts the first evaluation of a new object.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use timebase::{Duration, Instant};

/// Highest object number (`track <1-1000>`).
pub const MAX_OBJECT: u16 = 1000;
/// Longest `delay up`/`delay down` in seconds.
pub const MAX_DELAY_S: u32 = 180;

/// A group's use of an object: `standby N track OBJECT [decrement D | shutdown]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectTrackConfig {
    /// Object number (1–1000).
    pub object: u16,
    /// Priority decrement while the object is down (ignored with `shutdown`).
    pub decrement: u8,
    /// While the object is down the group sits in Init instead of lowering its priority.
    pub shutdown: bool,
}

/// A tracking object: `track N interface IF line-protocol` and its `delay`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackObjectConfig {
    /// Object number (1–1000).
    pub object: u16,
    /// Interface whose line protocol is followed (configuration name).
    pub interface: String,
    /// `delay up S`: an up change is reported after S seconds of being up.
    pub delay_up_s: Option<u32>,
    /// `delay down S`: a down change is reported after S seconds of being down.
    pub delay_down_s: Option<u32>,
}

/// An object's reported state changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackChange {
    /// Object number.
    pub object: u16,
    /// Previous reported state (None: it had no state yet).
    pub from: Option<bool>,
    /// New reported state.
    pub up: bool,
}

/// Snapshot of one object, the JSON element of `show track --json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackStatus {
    /// Object number.
    pub object: u16,
    /// Always `interface` (the only object type).
    pub kind: String,
    /// Interface (configuration name).
    pub interface: String,
    /// Always `line-protocol`.
    pub attribute: String,
    /// Reported state: `Up`, `Down`, or `Unknown` before the first report.
    pub state: String,
    /// The interface's current line protocol when it differs from the reported state (a delay runs).
    pub pending: Option<String>,
    /// Milliseconds until the pending change is reported.
    pub pending_ms: Option<u64>,
    /// Reported changes so far.
    pub changes: u32,
    /// Milliseconds since the last reported change.
    pub last_change_ms: Option<u64>,
    /// `delay up` in seconds.
    pub delay_up_s: Option<u32>,
    /// `delay down` in seconds.
    pub delay_down_s: Option<u32>,
    /// Clients, e.g. `HSRP Ethernet0/0 1` (filled in by whoever knows the groups).
    pub tracked_by: Vec<String>,
}

#[derive(Debug)]
struct Object {
    cfg: TrackObjectConfig,
    /// Reported state.
    state: Option<bool>,
    /// Raw line protocol and, while it differs from `state`, when it is reported.
    raw: Option<bool>,
    due: Option<Instant>,
    changes: u32,
    last_change: Option<Instant>,
}

/// All tracking objects of one router.
#[derive(Debug, Default)]
pub struct Tracker {
    objects: Vec<Object>,
    out: VecDeque<TrackChange>,
}

impl Tracker {
    /// Builds the objects (later duplicates of a number are ignored).
    pub fn new(objects: Vec<TrackObjectConfig>) -> Self {
        let mut t = Self::default();
        for cfg in objects {
            if t.objects.iter().any(|o| o.cfg.object == cfg.object) {
                continue;
            }
            t.objects.push(Object {
                cfg,
                state: None,
                raw: None,
                due: None,
                changes: 0,
                last_change: None,
            });
        }
        t
    }

    /// The reported state of `object`: None when it is undefined or has no state yet.
    pub fn state(&self, object: u16) -> Option<bool> {
        self.objects
            .iter()
            .find(|o| o.cfg.object == object)
            .and_then(|o| o.state)
    }

    /// Whether `object` is defined.
    pub fn defines(&self, object: u16) -> bool {
        self.objects.iter().any(|o| o.cfg.object == object)
    }

    /// The interface `object` follows.
    pub fn interface_of(&self, object: u16) -> Option<&str> {
        self.objects
            .iter()
            .find(|o| o.cfg.object == object)
            .map(|o| o.cfg.interface.as_str())
    }

    /// Line protocol of `iface` (configuration name) is `up`.
    pub fn handle_link(&mut self, now: Instant, iface: &str, up: bool) {
        for o in self.objects.iter_mut().filter(|o| o.cfg.interface == iface) {
            o.raw = Some(up);
            if o.state.is_none() {
                Self::report(&mut self.out, o, now, up);
                continue;
            }
            if o.state == Some(up) {
                o.due = None;
                continue;
            }
            if o.due.is_some() {
                continue;
            }
            let delay = if up { o.cfg.delay_up_s } else { o.cfg.delay_down_s };
            match delay {
                Some(s) if s > 0 => o.due = Some(now + Duration::from_secs(u64::from(s))),
                _ => Self::report(&mut self.out, o, now, up),
            }
        }
    }

    /// Reports the changes whose delay has run out.
    pub fn handle_timeout(&mut self, now: Instant) {
        for o in &mut self.objects {
            if let (Some(due), Some(raw)) = (o.due, o.raw)
                && due <= now
            {
                Self::report(&mut self.out, o, now, raw);
            }
        }
    }

    fn report(out: &mut VecDeque<TrackChange>, o: &mut Object, now: Instant, up: bool) {
        o.due = None;
        let from = o.state;
        o.state = Some(up);
        o.changes += 1;
        o.last_change = Some(now);
        out.push_back(TrackChange {
            object: o.cfg.object,
            from,
            up,
        });
    }

    /// Next reported change.
    pub fn poll_action(&mut self) -> Option<TrackChange> {
        self.out.pop_front()
    }

    /// Earliest pending delay.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.objects.iter().filter_map(|o| o.due).min()
    }

    /// Snapshots of every object, by number.
    pub fn status(&self, now: Instant) -> Vec<TrackStatus> {
        let word = |s: Option<bool>| match s {
            Some(true) => "Up",
            Some(false) => "Down",
            None => "Unknown",
        };
        let mut v: Vec<TrackStatus> = self
            .objects
            .iter()
            .map(|o| TrackStatus {
                object: o.cfg.object,
                kind: "interface".to_owned(),
                interface: o.cfg.interface.clone(),
                attribute: "line-protocol".to_owned(),
                state: word(o.state).to_owned(),
                pending: o.due.map(|_| word(o.raw).to_owned()),
                pending_ms: o.due.map(|d| d.saturating_since(now).as_millis()),
                changes: o.changes,
                last_change_ms: o.last_change.map(|t| now.saturating_since(t).as_millis()),
                delay_up_s: o.cfg.delay_up_s,
                delay_down_s: o.cfg.delay_down_s,
                tracked_by: Vec::new(),
            })
            .collect();
        v.sort_by_key(|s| s.object);
        v
    }
}

fn hms(ms: u64) -> String {
    let s = ms / 1000;
    format!("{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}

fn short_if(name: &str) -> String {
    let split = name.find(|c: char| c.is_ascii_digit()).unwrap_or(name.len());
    let (kind, num) = name.split_at(split);
    let k: String = kind.chars().take(2).collect();
    format!("{k}{num}")
}

/// `show track` text.
pub fn render_track(objects: &[TrackStatus]) -> String {
    use std::fmt::Write as _;
    let mut o = String::new();
    for t in objects {
        let _ = writeln!(o, "Track {}", t.object);
        let _ = writeln!(o, "  Interface {} line-protocol", t.interface);
        let _ = write!(o, "  Line protocol is {}", t.state);
        if let (Some(p), Some(ms)) = (&t.pending, t.pending_ms) {
            let _ = write!(o, ", delayed {p} ({:.3} secs remaining)", ms as f64 / 1000.0);
        }
        o.push('\n');
        let plural = if t.changes == 1 { "change" } else { "changes" };
        match t.last_change_ms {
            Some(ms) => {
                let _ = writeln!(o, "    {} {plural}, last change {}", t.changes, hms(ms));
            }
            None => {
                let _ = writeln!(o, "    {} {plural}", t.changes);
            }
        }
        match (t.delay_up_s, t.delay_down_s) {
            (Some(u), Some(d)) => {
                let _ = writeln!(o, "  Delay up {u} secs, down {d} secs");
            }
            (Some(u), None) => {
                let _ = writeln!(o, "  Delay up {u} secs");
            }
            (None, Some(d)) => {
                let _ = writeln!(o, "  Delay down {d} secs");
            }
            (None, None) => {}
        }
        if !t.tracked_by.is_empty() {
            let _ = writeln!(o, "  Tracked by:");
            for c in &t.tracked_by {
                let _ = writeln!(o, "    {c}");
            }
        }
    }
    o
}

/// `show track brief` text.
pub fn render_track_brief(objects: &[TrackStatus]) -> String {
    use std::fmt::Write as _;
    let mut o =
        String::from("Track Type        Instance                   Parameter        State Last Change\n");
    for t in objects {
        let last = t.last_change_ms.map_or_else(|| "never".to_owned(), hms);
        let _ = writeln!(
            o,
            "{:<5} {:<12}{:<27}{:<17}{:<6}{}",
            t.object,
            "interface",
            short_if(&t.interface),
            "line-protocol",
            t.state,
            last
        );
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(n: u16, iface: &str, up: Option<u32>, down: Option<u32>) -> TrackObjectConfig {
        TrackObjectConfig {
            object: n,
            interface: iface.into(),
            delay_up_s: up,
            delay_down_s: down,
        }
    }

    fn at(ms: u64) -> Instant {
        Instant::ZERO + Duration::from_millis(ms)
    }

    fn drain(t: &mut Tracker) -> Vec<(u16, bool)> {
        std::iter::from_fn(|| t.poll_action())
            .map(|c| (c.object, c.up))
            .collect()
    }

    #[test]
    fn first_report_is_immediate_and_counts_as_a_change() {
        let mut t = Tracker::new(vec![obj(1, "Ethernet1/0", Some(30), Some(10))]);
        assert_eq!(t.state(1), None);
        t.handle_link(at(0), "Ethernet1/0", true);
        assert_eq!(drain(&mut t), vec![(1, true)]);
        assert_eq!(t.status(at(5000))[0].changes, 1);
        assert_eq!(t.status(at(5000))[0].last_change_ms, Some(5000));
    }

    #[test]
    fn without_delay_changes_are_reported_at_once() {
        let mut t = Tracker::new(vec![obj(1, "E1", None, None), obj(2, "E2", None, None)]);
        t.handle_link(at(0), "E1", true);
        t.handle_link(at(0), "E2", true);
        drain(&mut t);
        t.handle_link(at(10), "E1", false);
        assert_eq!(drain(&mut t), vec![(1, false)]);
        assert_eq!((t.state(1), t.state(2)), (Some(false), Some(true)));
        assert_eq!(t.poll_timeout(), None);
    }

    #[test]
    fn down_delay_holds_the_change_back_in_virtual_time() {
        let mut t = Tracker::new(vec![obj(1, "E1", Some(5), Some(10))]);
        t.handle_link(at(0), "E1", true);
        drain(&mut t);
        t.handle_link(at(1000), "E1", false);
        assert!(drain(&mut t).is_empty());
        assert_eq!(t.poll_timeout(), Some(at(11_000)));
        let st = &t.status(at(4000))[0];
        assert_eq!(
            (st.state.as_str(), st.pending.as_deref(), st.pending_ms),
            ("Up", Some("Down"), Some(7000))
        );
        t.handle_timeout(at(10_999));
        assert!(drain(&mut t).is_empty());
        t.handle_timeout(at(11_000));
        assert_eq!(drain(&mut t), vec![(1, false)]);
        // Up again: the up delay (5 s) applies.
        t.handle_link(at(12_000), "E1", true);
        assert_eq!(t.poll_timeout(), Some(at(17_000)));
        t.handle_timeout(at(17_000));
        assert_eq!(drain(&mut t), vec![(1, true)]);
        assert_eq!(t.status(at(17_000))[0].changes, 3);
    }

    #[test]
    fn a_flap_shorter_than_the_delay_is_never_reported() {
        let mut t = Tracker::new(vec![obj(7, "E1", None, Some(3))]);
        t.handle_link(at(0), "E1", true);
        drain(&mut t);
        t.handle_link(at(100), "E1", false);
        t.handle_link(at(2000), "E1", true);
        assert_eq!(t.poll_timeout(), None);
        t.handle_timeout(at(10_000));
        assert!(drain(&mut t).is_empty());
        assert_eq!(t.status(at(10_000))[0].changes, 1);
        // A repeated down report does not restart the delay.
        t.handle_link(at(20_000), "E1", false);
        t.handle_link(at(21_000), "E1", false);
        assert_eq!(t.poll_timeout(), Some(at(23_000)));
    }

    #[test]
    fn several_objects_can_follow_one_interface() {
        let mut t = Tracker::new(vec![
            obj(1, "E1", None, None),
            obj(2, "E1", None, Some(1)),
            obj(1, "E9", None, None),
        ]);
        assert_eq!(t.interface_of(1), Some("E1"));
        assert!(t.defines(2) && !t.defines(3));
        t.handle_link(at(0), "E1", true);
        assert_eq!(drain(&mut t), vec![(1, true), (2, true)]);
        t.handle_link(at(0), "E1", false);
        assert_eq!(drain(&mut t), vec![(1, false)]);
        t.handle_timeout(at(1000));
        assert_eq!(drain(&mut t), vec![(2, false)]);
    }

    #[test]
    fn show_track_text() {
        let mut t = Tracker::new(vec![
            obj(2, "Ethernet1/0", Some(10), Some(5)),
            obj(1, "Ethernet1/0", None, None),
        ]);
        t.handle_link(at(0), "Ethernet1/0", true);
        let mut st = t.status(at(65_000));
        st[0].tracked_by.push("HSRP Ethernet0/0 1".into());
        let text = render_track(&st);
        assert_eq!(
            text,
            "Track 1\n  Interface Ethernet1/0 line-protocol\n  Line protocol is Up\n    1 change, last change 00:01:05\n  \
             Tracked by:\n    HSRP Ethernet0/0 1\nTrack 2\n  Interface Ethernet1/0 line-protocol\n  Line protocol is Up\n    \
             1 change, last change 00:01:05\n  Delay up 10 secs, down 5 secs\n"
        );
        let brief = render_track_brief(&st);
        assert!(
            brief
                .lines()
                .nth(1)
                .is_some_and(|l| l.starts_with("1     interface   Et1/0") && l.ends_with("Up    00:01:05")),
            "{brief}"
        );
    }
}
