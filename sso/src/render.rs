//! Pure renderers for the `show redundancy` family, in the IOS layout (see reference/ios-output.md).
//! Each takes a [`SsoStatus`] snapshot and returns the text; golden tests pin them.

use std::fmt::Write as _;

use crate::history::Changed;
use crate::rf::RfState;
use crate::status::SsoStatus;

/// `hh:mm:ss.mmm` for a time in ms (uptime style, as IOS prints its RF event log).
pub fn fmt_clock(ms: u64) -> String {
    let s = ms / 1000;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        s / 3600,
        (s / 60) % 60,
        s % 60,
        ms % 1000
    )
}

/// IOS uptime wording: `1 day, 2 hours, 3 minutes`, `0 minutes`.
pub fn fmt_uptime(ms: u64) -> String {
    let mins = ms / 60_000;
    let (d, h, m) = (mins / 1440, (mins / 60) % 24, mins % 60);
    let unit = |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut parts = Vec::new();
    if d > 0 {
        parts.push(unit(d, "day", "days"));
    }
    if h > 0 {
        parts.push(unit(h, "hour", "hours"));
    }
    if m > 0 || parts.is_empty() {
        parts.push(unit(m, "minute", "minutes"));
    }
    parts.join(", ")
}

fn state_label(name: &str, code: u8) -> String {
    // IOS pads single-digit codes: `8  -STANDBY HOT`, `13 -ACTIVE`.
    format!("{code:<2} -{name}")
}

/// `show redundancy states`.
pub fn render_states(s: &SsoStatus) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "       my state = {}",
        state_label(&s.my_state, s.my_state_code)
    );
    let _ = writeln!(
        o,
        "     peer state = {}",
        state_label(&s.peer_state, s.peer_state_code)
    );
    let _ = writeln!(o, "           Mode = {}", s.mode);
    let _ = writeln!(o, "        Unit ID = 0");
    let _ = writeln!(o);
    let _ = writeln!(o, "     Redundancy Mode (Operational) = Inter-device");
    let _ = writeln!(o, "     Redundancy Mode (Configured)  = Inter-device");
    let _ = writeln!(o, "     Redundancy State              = {}", s.mode);
    let _ = writeln!(o, "     Maintenance Mode = Disabled");
    let _ = writeln!(o, "     Manual Swact = {}", manual_swact(s));
    let _ = writeln!(o, "     Communications = {}", s.communications);
    let _ = writeln!(o);
    let _ = writeln!(o, "     client count = {}", s.client_count);
    let _ = writeln!(o, " client_notification_TMR = {} milliseconds", s.peer_dead_ms);
    let _ = writeln!(o, "           RF debug mask = 0x0");
    if let Some(r) = &s.preempt_hold_reason {
        let _ = writeln!(o, "     Preemption held: {r}");
    }
    o
}

fn manual_swact(s: &SsoStatus) -> &'static str {
    if s.my_state_code == RfState::Active.code() && s.peer_state_code == RfState::StandbyHot.code() {
        "enabled"
    } else if s.my_state_code == RfState::Active.code() {
        "disabled (peer not STANDBY HOT)"
    } else {
        "disabled (this unit is not ACTIVE)"
    }
}

/// `show redundancy inter-device`.
pub fn render_inter_device(s: &SsoStatus) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "Redundancy inter-device state: {}", s.inter_device_state);
    let _ = writeln!(o, "  Scheme: Standby");
    let _ = writeln!(
        o,
        "      Groupname: {} Group State: {}",
        s.scheme_group, s.scheme_group_state
    );
    let _ = writeln!(o, "  Peer present: {}", s.peer_present);
    let _ = writeln!(
        o,
        "  Security: {}",
        if s.security_configured {
            "Configured"
        } else {
            "Not configured"
        }
    );
    if let Some(g) = &s.peer_scheme_group_state {
        let _ = writeln!(o, "  Peer group state: {g}");
    }
    o
}

/// `show redundancy history`: both units' transitions with times (since the daemon started) and reasons.
pub fn render_history(s: &SsoStatus) -> String {
    let mut o = String::from("Redundancy Facility Event Log:\n");
    for e in &s.history {
        let (mine, peer) = match e.changed {
            Changed::Mine => ("*", ""),
            Changed::Peer => ("", "*"),
            Changed::Event => ("", ""),
        };
        let _ = writeln!(
            o,
            "{} {mine}my state = {}({}) {peer}peer state = {}({}) -- {}",
            fmt_clock(e.at_ms),
            e.my_state.name(),
            e.my_state.code(),
            e.peer_state.name(),
            e.peer_state.code(),
            e.reason
        );
    }
    o
}

/// `show redundancy clients`.
pub fn render_clients(s: &SsoStatus) -> String {
    let mut o = String::new();
    for c in &s.clients {
        let bulk = match (c.bulk_state.as_str(), c.bulk_sessions, c.bulk_ms, &c.bulk_failure) {
            ("done", Some(n), Some(ms), _) => {
                format!("done ({n} records, {}.{:03} sec)", ms / 1000, ms % 1000)
            }
            ("in progress", _, Some(ms), _) => format!("in progress ({}.{:03} sec)", ms / 1000, ms % 1000),
            ("failed", _, _, Some(r)) => format!("failed ({r})"),
            (other, ..) => other.to_owned(),
        };
        let _ = writeln!(
            o,
            " clientID = {:<8} clientSeq = {:<8} {:<16} bulk sync: {bulk}",
            c.id, c.seq, c.name
        );
        let _ = writeln!(
            o,
            "     bulk syncs {}, failures {}",
            c.bulk_syncs, c.bulk_failures
        );
    }
    let _ = writeln!(o, " client count = {}", s.client_count);
    o
}

fn kv(o: &mut String, label: &str, value: impl std::fmt::Display) {
    let _ = writeln!(o, "{label:>30} = {value}");
}

/// `show redundancy`: the summary.
pub fn render_summary(s: &SsoStatus) -> String {
    let mut o = String::new();
    let none = || "none".to_owned();
    let o = &mut o;
    let _ = writeln!(o, "Redundant System Information :");
    let _ = writeln!(o, "------------------------------");
    kv(o, "Available system uptime", fmt_uptime(s.uptime_ms));
    kv(o, "Switchovers system experienced", s.switchover_count);
    kv(o, "Peer losses", s.counters.peer_losses);
    kv(
        o,
        "Last switchover reason",
        s.last_switchover_reason.clone().unwrap_or_else(none),
    );
    let _ = writeln!(o);
    kv(o, "Hardware Mode", &s.mode);
    kv(o, "Configured Redundancy Mode", "Inter-device");
    kv(o, "Operating Redundancy Mode", "Inter-device");
    kv(o, "Maintenance Mode", "Disabled");
    kv(o, "Communications", &s.communications);
    kv(
        o,
        "Scheme",
        format!("Standby {} (HSRP {})", s.scheme_group, s.scheme_group_state),
    );
    let preempt = s
        .preempt_hold_reason
        .as_ref()
        .map_or_else(|| "allowed".to_owned(), |r| format!("held: {r}"));
    kv(o, "Preemption", preempt);
    let _ = writeln!(o);
    let my_active = s.my_state_code >= RfState::ActiveFast.code();
    let (mine, theirs) = if my_active {
        ("Active", "Standby")
    } else {
        ("Standby", "Active")
    };
    let _ = writeln!(o, "Current Processor Information :");
    let _ = writeln!(o, "-------------------------------");
    kv(o, &format!("{mine} Location"), "local");
    kv(o, "Current Software state", &s.my_state);
    kv(o, "Uptime in current state", fmt_uptime(s.my_state_age_ms));
    kv(o, "Image Version", &s.software_version);
    kv(o, "Configuration digest", &s.config_digest);
    let _ = writeln!(o);
    let _ = writeln!(o, "Peer Processor Information :");
    let _ = writeln!(o, "----------------------------");
    if s.communications == "Up" {
        kv(o, &format!("{theirs} Location"), "peer");
        kv(o, "Current Software state", &s.peer_state);
        kv(
            o,
            "Uptime in current state",
            fmt_uptime(s.peer_state_age_ms.unwrap_or(0)),
        );
        let version = s.peer_software_version.clone().unwrap_or_else(none);
        let note = if s.version_mismatch {
            " (differs from this unit)"
        } else {
            ""
        };
        kv(o, "Image Version", format!("{version}{note}"));
        kv(
            o,
            "Configuration digest",
            s.peer_config_digest.clone().unwrap_or_else(none),
        );
    } else {
        kv(o, "Peer state", "DISABLED (no communication)");
        if let Some(r) = &s.last_peer_loss {
            kv(o, "Last peer loss", r);
        }
    }
    if !s.mismatches.is_empty() {
        let _ = writeln!(o);
        let _ = writeln!(o, "Configuration mismatches with the peer :");
        let _ = writeln!(o, "----------------------------------------");
        for m in &s.mismatches {
            let _ = writeln!(o, "  {}", m.detail);
        }
    }
    let c = &s.counters;
    let _ = writeln!(o);
    let _ = writeln!(o, "Peer Message Statistics :");
    let _ = writeln!(o, "  Message        xmit       rcv");
    let _ = writeln!(o, "  state    {:>10}{:>10}", c.state_tx, c.state_rx);
    let _ = writeln!(o, "  config   {:>10}{:>10}", c.config_tx, c.config_rx);
    let _ = writeln!(o, "  swact    {:>10}{:>10}", c.switchover_tx, c.switchover_rx);
    let _ = writeln!(
        o,
        "  rerr: {} decode ({} truncated, {} bad magic, {} version, {} type, {} malformed), {} out of order, \
         {} own, {} while down",
        c.decode_errors,
        c.truncated,
        c.bad_magic,
        c.unsupported_version,
        c.unknown_type,
        c.malformed,
        c.out_of_order,
        c.own_messages,
        c.ignored_link_down
    );
    std::mem::take(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_formats() {
        assert_eq!(fmt_clock(3_723_045), "01:02:03.045");
        assert_eq!(fmt_uptime(0), "0 minutes");
        assert_eq!(fmt_uptime(61 * 60_000), "1 hour, 1 minute");
        assert_eq!(fmt_uptime((1440 + 120 + 5) * 60_000), "1 day, 2 hours, 5 minutes");
        assert_eq!(state_label("ACTIVE", 13), "13 -ACTIVE");
        assert_eq!(state_label("STANDBY HOT", 8), "8  -STANDBY HOT");
    }
}
