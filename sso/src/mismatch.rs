//! Configuration checks between the ACTIVE's and the standby's HA summaries, reported with the seed's
//! `%FW_HA-6-*` messages (and a few of our own for items IOS does not check).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::config::{HaConfigSummary, HaInterface};

/// What kind of difference was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum MismatchKind {
    /// The ACTIVE inspects an interface/direction that the standby does not.
    NoInspectRuleOnStandby,
    /// Protocol sets of a rule differ.
    ProtocolMismatch,
    /// The standby's binding has no `redundancy stateful GROUP`.
    NoHsrpGroupOnStandby,
    /// Rule or group names differ (or the standby has a binding the ACTIVE lacks).
    ConfigMismatch,
    /// The scheme groups differ.
    SchemeGroupMismatch,
    /// `ip inspect redundancy update seconds` differs.
    UpdateIntervalMismatch,
    /// The virtual IP sets differ.
    VirtualIpMismatch,
}

/// One difference, with its syslog text and a detail line for `show redundancy`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Mismatch {
    /// The kind.
    pub kind: MismatchKind,
    /// The syslog line (`%FW_HA-6-...: ...`).
    pub message: String,
    /// What exactly differs, in our words.
    pub detail: String,
}

fn fmt_group(g: &Option<String>) -> &str {
    g.as_deref().unwrap_or("none")
}

/// Compares the ACTIVE's summary `act` with the standby's `stby`. The result is sorted and deduplicated.
pub fn compare(act: &HaConfigSummary, stby: &HaConfigSummary) -> Vec<Mismatch> {
    let act = act.normalized();
    let stby = stby.normalized();
    let mut out = BTreeSet::new();
    let find = |list: &[HaInterface], i: &HaInterface| -> Option<HaInterface> {
        list.iter()
            .find(|x| x.name == i.name && x.direction == i.direction)
            .cloned()
    };
    let mut protocol_details = Vec::new();
    for a in &act.interfaces {
        let Some(s) = find(&stby.interfaces, a) else {
            out.insert(Mismatch {
                kind: MismatchKind::NoInspectRuleOnStandby,
                message: format!(
                    "%FW_HA-6-NO_INSPECT_RULE_ON_STDBY: Firewall High availability - inspect rule is not \
                     configured on standby for interface {} dir {}",
                    a.name, a.direction
                ),
                detail: format!(
                    "{} {}: active inspects with rule {}, standby has no rule",
                    a.name, a.direction, a.rule
                ),
            });
            continue;
        };
        if a.protocols != s.protocols {
            protocol_details.push(format!(
                "{} {}: active [{}], standby [{}]",
                a.name,
                a.direction,
                a.protocols.join(" "),
                s.protocols.join(" ")
            ));
        }
        if a.redundancy_group.is_some() && s.redundancy_group.is_none() {
            out.insert(Mismatch {
                kind: MismatchKind::NoHsrpGroupOnStandby,
                message: format!(
                    "%FW_HA-6-NO_HSRP_GNAME_ON_STDBY: Firewall High availability - Inspect redundancy group \
                     is not configured on standby for interface {} dir {}",
                    a.name, a.direction
                ),
                detail: format!(
                    "{} {}: active uses group {}, standby has none",
                    a.name,
                    a.direction,
                    fmt_group(&a.redundancy_group)
                ),
            });
        } else if a.rule != s.rule || a.redundancy_group != s.redundancy_group {
            out.insert(config_mismatch(Some(a), Some(&s)));
        }
    }
    for s in &stby.interfaces {
        if s.redundancy_group.is_some() && find(&act.interfaces, s).is_none() {
            out.insert(config_mismatch(None, Some(s)));
        }
    }
    if !protocol_details.is_empty() {
        out.insert(Mismatch {
            kind: MismatchKind::ProtocolMismatch,
            message: "%FW_HA-6-PROT_MISMATCH: Firewall High availability - L4/L7 protocol mismatch between \
                      active and standby"
                .into(),
            detail: protocol_details.join("; "),
        });
    }
    if act.scheme_group != stby.scheme_group {
        out.insert(Mismatch {
            kind: MismatchKind::SchemeGroupMismatch,
            message: format!(
                "%RF-4-SCHEME_MISMATCH: Redundancy scheme groups differ: active {}, standby {}",
                act.scheme_group, stby.scheme_group
            ),
            detail: format!(
                "scheme standby {} on active, {} on standby",
                act.scheme_group, stby.scheme_group
            ),
        });
    }
    if act.update_interval_s != stby.update_interval_s {
        out.insert(Mismatch {
            kind: MismatchKind::UpdateIntervalMismatch,
            message: format!(
                "%FW_HA-6-UPDATE_INTERVAL_MISMATCH: Firewall High availability - update interval is {} sec \
                 on active and {} sec on standby",
                act.update_interval_s, stby.update_interval_s
            ),
            detail: format!(
                "ip inspect redundancy update seconds: active {}, standby {}",
                act.update_interval_s, stby.update_interval_s
            ),
        });
    }
    if act.virtual_ips != stby.virtual_ips {
        out.insert(Mismatch {
            kind: MismatchKind::VirtualIpMismatch,
            message: "%RF-4-VIP_MISMATCH: Standby group virtual addresses differ between active and standby"
                .into(),
            detail: format!(
                "active [{}], standby [{}]",
                act.virtual_ips.join(" "),
                stby.virtual_ips.join(" ")
            ),
        });
    }
    out.into_iter().collect()
}

fn config_mismatch(a: Option<&HaInterface>, s: Option<&HaInterface>) -> Mismatch {
    let rule = |i: Option<&HaInterface>| i.map_or_else(|| "none".to_owned(), |i| i.rule.clone());
    let group = |i: Option<&HaInterface>| {
        i.map_or_else(
            || "none".to_owned(),
            |i| fmt_group(&i.redundancy_group).to_owned(),
        )
    };
    let (name, dir) = a.or(s).map_or((String::new(), String::new()), |i| {
        (i.name.clone(), i.direction.to_string())
    });
    Mismatch {
        kind: MismatchKind::ConfigMismatch,
        message: format!(
            "%FW_HA-6-CONFIG_MISMATCH: Firewall High availability - Inspect HA config mismatch between active \
             and standby. act:inspect rule {}, hsrp_grp {}; standby:inspect rule {} hsrp_grp {}",
            rule(a),
            group(a),
            rule(s),
            group(s)
        ),
        detail: format!(
            "{name} {dir}: active rule {} group {}, standby rule {} group {}",
            rule(a),
            group(a),
            rule(s),
            group(s)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Direction;

    fn iface(name: &str, rule: &str, protos: &[&str], group: Option<&str>) -> HaInterface {
        HaInterface {
            name: name.into(),
            direction: Direction::Out,
            rule: rule.into(),
            protocols: protos.iter().map(|p| (*p).to_owned()).collect(),
            redundancy_group: group.map(str::to_owned),
        }
    }

    fn summary(ifs: Vec<HaInterface>) -> HaConfigSummary {
        HaConfigSummary {
            scheme_group: "HAin".into(),
            interfaces: ifs,
            update_interval_s: 60,
            virtual_ips: vec!["10.0.0.3".into(), "211.0.0.3".into()],
        }
    }

    #[test]
    fn equal_configs_match_regardless_of_order() {
        let a = summary(vec![iface("e1/0", "ha", &["tcp", "udp"], Some("HAin"))]);
        let mut b = summary(vec![iface("e1/0", "ha", &["udp", "tcp"], Some("HAin"))]);
        b.virtual_ips.reverse();
        assert!(compare(&a, &b).is_empty());
        assert_eq!(a.digest(), b.digest());
    }

    #[test]
    fn each_seed_message() {
        let act = summary(vec![iface(
            "e1/0",
            "a_test",
            &["tcp", "udp"],
            Some("a_hsrp_group"),
        )]);
        let missing = summary(vec![]);
        let m = compare(&act, &missing);
        assert_eq!(m.len(), 1);
        assert_eq!(
            m[0].message,
            "%FW_HA-6-NO_INSPECT_RULE_ON_STDBY: Firewall High availability - inspect rule is not configured on \
             standby for interface e1/0 dir out"
        );
        let no_group = summary(vec![iface("e1/0", "a_test", &["tcp", "udp"], None)]);
        assert_eq!(
            compare(&act, &no_group)[0].kind,
            MismatchKind::NoHsrpGroupOnStandby
        );
        let other = summary(vec![iface("e1/0", "s_test", &["tcp"], Some("s_hsrp_group"))]);
        let m = compare(&act, &other);
        assert_eq!(m.len(), 2);
        assert_eq!(
            m[0].message,
            "%FW_HA-6-PROT_MISMATCH: Firewall High availability - L4/L7 protocol mismatch between active and \
             standby"
        );
        assert_eq!(
            m[1].message,
            "%FW_HA-6-CONFIG_MISMATCH: Firewall High availability - Inspect HA config mismatch between active \
             and standby. act:inspect rule a_test, hsrp_grp a_hsrp_group; standby:inspect rule s_test hsrp_grp \
             s_hsrp_group"
        );
        assert_eq!(m[0].detail, "e1/0 out: active [tcp udp], standby [tcp]");
    }

    #[test]
    fn extra_binding_on_standby_and_global_items() {
        let act = summary(vec![]);
        let mut stby = summary(vec![iface("e1/0", "x", &["tcp"], Some("HAin"))]);
        stby.update_interval_s = 10;
        stby.scheme_group = "HAout".into();
        stby.virtual_ips.pop();
        let kinds: Vec<_> = compare(&act, &stby).into_iter().map(|m| m.kind).collect();
        assert_eq!(
            kinds,
            vec![
                MismatchKind::ConfigMismatch,
                MismatchKind::SchemeGroupMismatch,
                MismatchKind::UpdateIntervalMismatch,
                MismatchKind::VirtualIpMismatch
            ]
        );
    }
}
