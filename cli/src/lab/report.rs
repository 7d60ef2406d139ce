//! The lab's report: a JSON document (`iosha lab --json`) and the table printed for the operator.

use std::fmt::Write as _;

use serde::Serialize;

use super::traffic::{FlowSnapshot, Proto};

/// The outcome of one lab run. Field names are a public interface (documented in docs/lab.md).
#[derive(Debug, Clone, Default, Serialize)]
pub struct LabReport {
    /// `power-off`, `crash`, `link` or `freeze`.
    pub failure: String,
    /// `seed` or `fast`.
    pub timers: String,
    /// Every seed line ran as written.
    pub seed_config: bool,
    /// Changes made to the seed's configurations for this run.
    pub config_changes: Vec<String>,
    /// Hello and hold time the survivor used (ms), from its `show standby`.
    pub hello_ms: Option<u64>,
    /// See `hello_ms`.
    pub hold_ms: Option<u64>,
    /// The router that was Active and was failed (`r1` / `r2`).
    pub failed_router: Option<String>,
    /// The router that took over.
    pub survivor: Option<String>,
    /// Seconds from the daemons' start until ACTIVE / STANDBY HOT.
    pub pair_formed_ms: Option<u64>,
    /// Flow sessions found on the standby before the failure (`show ip inspect ha sessions`).
    pub standby_sessions_before: Option<usize>,
    /// Sessions the standby had to hold (TCP + UDP flows + the probe).
    pub standby_sessions_expected: usize,
    /// TCP connections + UDP flows opened.
    pub sessions_total: usize,
    /// Of those, how many still exchanged data after the takeover and after the rejoin.
    pub sessions_survived: usize,
    /// TCP connections opened.
    pub tcp_total: usize,
    /// TCP connections that survived (same connection: no reset, no new handshake).
    pub tcp_survived: usize,
    /// UDP flows opened.
    pub udp_total: usize,
    /// UDP flows that survived.
    pub udp_survived: usize,
    /// Failure → the survivor is HSRP Active on every group and RF ACTIVE (the later of the two), ms.
    pub detection_ms: Option<u64>,
    /// Failure → every HSRP group Active on the survivor, ms.
    pub hsrp_active_ms: Option<u64>,
    /// Failure → RF ACTIVE on the survivor, ms.
    pub rf_active_ms: Option<u64>,
    /// Largest gap between probe echoes from the failure to the end of the run, ms.
    pub outage_ms: Option<u64>,
    /// Largest probe gap from the failure until the flows were checked after the takeover, ms.
    pub outage_failover_ms: Option<u64>,
    /// Largest probe gap from the restore of the failed router to the end, ms.
    pub outage_rejoin_ms: Option<u64>,
    /// Probe packets sent / echoes received over the whole run.
    pub probe_sent: u64,
    /// See `probe_sent`.
    pub probe_received: u64,
    /// `freeze`: SIGCONT → exactly one Active per group and one RF ACTIVE, ms.
    pub split_brain_resolved_ms: Option<u64>,
    /// The pair re-formed: one ACTIVE, the other STANDBY HOT holding every session.
    pub rejoined_standby_hot: bool,
    /// The router that is STANDBY HOT at the end.
    pub rejoined_router: Option<String>,
    /// Restore of the failed router → STANDBY HOT with every session, ms.
    pub rejoin_ms: Option<u64>,
    /// Sessions on the standby after the rejoin.
    pub standby_sessions_after: Option<usize>,
    /// The flows were checked after the takeover and after the rejoin (false when the run stopped at a
    /// missed step first: then no flow counts as survived, and none is listed as lost).
    pub flows_checked: bool,
    /// Every flow's counters at the end.
    pub flows: Vec<FlowReport>,
    /// What went wrong, one sentence each (empty when the run passed).
    pub problems: Vec<String>,
    /// Every session survived and the pair re-formed.
    pub passed: bool,
}

/// One flow at the end of the run.
#[derive(Debug, Clone, Serialize)]
pub struct FlowReport {
    /// Flow number.
    pub id: u32,
    /// `tcp` / `udp`.
    pub proto: Proto,
    /// Source port on h1.
    pub local_port: u16,
    /// Messages sent / correct echoes.
    pub sent: u64,
    /// See `sent`.
    pub echoed: u64,
    /// Exchanged data after the takeover.
    pub after_takeover: bool,
    /// Exchanged data after the rejoin.
    pub after_rejoin: bool,
    /// Why the flow ended, if it did.
    pub failure: Option<String>,
    /// Survived the whole run.
    pub survived: bool,
}

impl FlowReport {
    /// Builds the entry from the final snapshot and the two checks.
    pub fn new(f: &FlowSnapshot, after_takeover: bool, after_rejoin: bool) -> Self {
        Self {
            id: f.id,
            proto: f.proto,
            local_port: f.local_port,
            sent: f.sent,
            echoed: f.echoed,
            after_takeover,
            after_rejoin,
            failure: f.failure.clone(),
            survived: f.failure.is_none() && after_takeover && after_rejoin,
        }
    }
}

impl LabReport {
    /// Fills the totals from `flows` and decides `passed`.
    pub fn finish(&mut self) {
        let count = |p: Option<Proto>, survived: bool| {
            self.flows
                .iter()
                .filter(|f| p.is_none_or(|p| f.proto == p) && (!survived || f.survived))
                .count()
        };
        self.tcp_total = count(Some(Proto::Tcp), false);
        self.tcp_survived = count(Some(Proto::Tcp), true);
        self.udp_total = count(Some(Proto::Udp), false);
        self.udp_survived = count(Some(Proto::Udp), true);
        self.sessions_total = count(None, false);
        self.sessions_survived = count(None, true);
        // Flows are judged only once the failure really happened (else the problem is the missed step).
        if self.flows_checked && self.sessions_survived < self.sessions_total {
            let lost: Vec<String> = self
                .flows
                .iter()
                .filter(|f| !f.survived)
                .map(|f| {
                    let why = f.failure.clone().unwrap_or_else(|| {
                        if f.after_takeover {
                            "silent after the rejoin"
                        } else {
                            "silent after the takeover"
                        }
                        .to_owned()
                    });
                    format!("{} #{} (port {}): {why}", proto_name(f.proto), f.id, f.local_port)
                })
                .collect();
            let msg = format!("sessions lost: {}", lost.join("; "));
            if !self.problems.contains(&msg) {
                self.problems.push(msg);
            }
        }
        self.passed = self.problems.is_empty()
            && self.sessions_total > 0
            && self.sessions_survived == self.sessions_total
            && self.rejoined_standby_hot;
    }

    /// The report as the table printed for the operator.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let ms = |v: Option<u64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v} ms"));
        let _ = writeln!(
            out,
            "iosha lab report: failure {}, timers {}",
            self.failure, self.timers
        );
        if !self.config_changes.is_empty() {
            let _ = writeln!(out, "Changes to the seed configurations:");
            for c in &self.config_changes {
                let _ = writeln!(out, "  - {c}");
            }
        }
        let mut rows: Vec<(&str, String)> = vec![
            (
                "HSRP timers (hello/hold)",
                format!("{} / {}", ms(self.hello_ms), ms(self.hold_ms)),
            ),
            ("Pair formed (ACTIVE / STANDBY HOT)", ms(self.pair_formed_ms)),
            (
                "Failed Active router",
                self.failed_router.clone().unwrap_or_else(|| "-".into()),
            ),
            ("Took over", self.survivor.clone().unwrap_or_else(|| "-".into())),
            (
                "Sessions on standby before failure",
                format!(
                    "{} of {}",
                    self.standby_sessions_before
                        .map_or_else(|| "-".into(), |n| n.to_string()),
                    self.standby_sessions_expected
                ),
            ),
            ("Detection: HSRP Active on survivor", ms(self.hsrp_active_ms)),
            ("Detection: RF ACTIVE on survivor", ms(self.rf_active_ms)),
            ("Outage (largest probe gap)", ms(self.outage_ms)),
            ("  during the failover", ms(self.outage_failover_ms)),
            ("  during the rejoin", ms(self.outage_rejoin_ms)),
        ];
        if self.failure == "freeze" {
            rows.push(("One Active again after SIGCONT", ms(self.split_brain_resolved_ms)));
        }
        rows.extend([
            (
                "TCP connections survived",
                format!("{} of {}", self.tcp_survived, self.tcp_total),
            ),
            (
                "UDP flows survived",
                format!("{} of {}", self.udp_survived, self.udp_total),
            ),
            (
                "Sessions survived",
                if self.flows_checked {
                    format!("{} of {}", self.sessions_survived, self.sessions_total)
                } else {
                    format!(
                        "not checked (the run stopped early), {} open",
                        self.sessions_total
                    )
                },
            ),
            (
                "Rejoined as STANDBY HOT",
                if self.rejoined_standby_hot {
                    format!(
                        "yes: {} with {} sessions, {} after restore",
                        self.rejoined_router.clone().unwrap_or_default(),
                        self.standby_sessions_after.unwrap_or_default(),
                        ms(self.rejoin_ms)
                    )
                } else {
                    "no".to_owned()
                },
            ),
            (
                "Probe packets sent / echoed",
                format!("{} / {}", self.probe_sent, self.probe_received),
            ),
        ]);
        let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        let _ = writeln!(out, "  {:width$}  Value", "Measure");
        let _ = writeln!(out, "  {:-<width$}  {:-<5}", "", "");
        for (k, v) in rows {
            let _ = writeln!(out, "  {k:width$}  {v}");
        }
        for p in &self.problems {
            let _ = writeln!(out, "problem: {p}");
        }
        let _ = writeln!(
            out,
            "{}",
            if self.passed {
                "PASS: every session survived the failover and the pair re-formed"
            } else {
                "FAIL"
            }
        );
        out
    }
}

fn proto_name(p: Proto) -> &'static str {
    match p {
        Proto::Tcp => "TCP",
        Proto::Udp => "UDP",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(id: u32, proto: Proto, survived: bool) -> FlowReport {
        FlowReport {
            id,
            proto,
            local_port: 40_000,
            sent: 10,
            echoed: 10,
            after_takeover: survived,
            after_rejoin: survived,
            failure: None,
            survived,
        }
    }

    #[test]
    fn totals_and_verdict() {
        let mut r = LabReport {
            flows_checked: true,
            flows: vec![
                flow(1, Proto::Tcp, true),
                flow(2, Proto::Tcp, false),
                flow(3, Proto::Udp, true),
            ],
            rejoined_standby_hot: true,
            ..LabReport::default()
        };
        r.finish();
        assert_eq!(
            (r.tcp_total, r.tcp_survived, r.udp_total, r.udp_survived),
            (2, 1, 1, 1)
        );
        assert_eq!((r.sessions_total, r.sessions_survived), (3, 2));
        assert!(!r.passed);
        assert!(r.problems[0].contains("TCP #2"), "{:?}", r.problems);
        let text = r.render();
        assert!(
            text.contains("TCP connections survived") && text.contains("1 of 2") && text.ends_with("FAIL\n")
        );

        let mut ok = LabReport {
            flows_checked: true,
            flows: vec![flow(1, Proto::Tcp, true)],
            rejoined_standby_hot: true,
            ..LabReport::default()
        };
        ok.finish();
        assert!(ok.passed);
        let doc = serde_json::to_value(&ok).unwrap();
        for key in [
            "sessions_total",
            "sessions_survived",
            "tcp_total",
            "tcp_survived",
            "udp_total",
            "udp_survived",
            "detection_ms",
            "outage_ms",
            "rejoined_standby_hot",
        ] {
            assert!(doc.get(key).is_some(), "{key}");
        }
    }
}
