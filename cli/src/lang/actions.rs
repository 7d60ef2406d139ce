//! Configuration actions: each edits the candidate configuration from the matched tokens of one line.
//! (Inspection and ACL actions live in `actions_fw.rs`.)

use std::net::Ipv4Addr;
use std::str::FromStr;

use super::Mode;
use super::build::{Apply, ApplyError, Next};
use super::ifname::canonical_interface;
use crate::config::{
    InspectBinding, Interface, IpcAssociation, IpcZone, Ipv4Prefix, Preempt, RedundancyInterDevice,
    SctpConfig, SctpLocal, SctpRemote, SctpTransport, StandbyAuth, StandbyDelay, StandbyGroup, StandbyTimers,
    TimerValue, defaults,
};
pub(super) type R = Result<Next, ApplyError>;

pub(super) fn changed() -> R {
    Ok(Next {
        mode: None,
        changed: true,
    })
}
pub(super) fn enter(mode: Mode) -> R {
    Ok(Next {
        mode: Some(mode),
        changed: true,
    })
}

impl Apply<'_> {
    /// The value bound to `name`: an argument, or a keyword bound under another name (`direction` = in|out).
    /// A keyword bound under its own word has no value, so an argument never collides with a keyword.
    pub(super) fn val(&self, name: &str) -> Option<&str> {
        self.matched
            .iter()
            .rev()
            .find(|m| m.name == name && !m.plain_keyword)
            .map(|m| m.value.as_str())
    }
    pub(super) fn has(&self, name: &str) -> bool {
        self.matched.iter().any(|m| m.name == name)
    }
    pub(super) fn num<T: FromStr>(&self, name: &str) -> Option<T> {
        self.val(name).and_then(|v| v.parse().ok())
    }
    pub(super) fn ip(&self, name: &str) -> Option<Ipv4Addr> {
        self.num(name)
    }
    pub(super) fn col(&self, name: &str) -> usize {
        let mut bound = self.matched.iter().rev().filter(|m| m.name == name);
        bound
            .clone()
            .find(|m| !m.plain_keyword)
            .or_else(|| bound.next())
            .map_or(0, |m| m.column)
    }
    pub(super) fn err(&self, name: &str, reason: impl Into<String>) -> ApplyError {
        ApplyError {
            column: self.col(name),
            reason: reason.into(),
        }
    }
    pub(super) fn note(&mut self, key: String) {
        if let Some(line) = self.origin {
            self.cfg.origins.0.entry(key).or_insert(line);
        }
    }
    pub(super) fn iface_name(&self) -> String {
        match self.mode {
            Mode::Interface(name) => name.clone(),
            _ => String::new(),
        }
    }
    pub(super) fn iface(&mut self) -> &mut Interface {
        let name = self.iface_name();
        self.cfg.interface_mut(&name)
    }
    /// The interface name typed as `NAME` or `TYPE NUMBER` under binding `name`.
    pub(super) fn interface_arg(&self, name: &str) -> Option<String> {
        let base = self.val(name)?;
        Some(match self.val("ifnum") {
            Some(number) => canonical_interface(&format!("{base}{number}")),
            None => base.to_string(),
        })
    }
    /// The group of a `standby [N] ...` line, checked against the interface's version.
    pub(super) fn group(&mut self) -> Result<u16, ApplyError> {
        let number: u16 = self.num("group").unwrap_or(0);
        let version = self.iface().standby.version;
        if version < 2 && number > defaults::STANDBY_GROUP_MAX_V1 {
            return Err(self.err("group", "group numbers above 255 need standby version 2"));
        }
        let key = format!("interface {} standby {number}", self.iface_name());
        self.note(key);
        Ok(number)
    }
    pub(super) fn group_mut(&mut self, number: u16) -> &mut StandbyGroup {
        self.iface().standby.group_mut(number)
    }
    pub(super) fn sctp(&mut self) -> &mut SctpConfig {
        let zone = self.cfg.ipc.get_or_insert_with(IpcZone::default);
        let assoc = zone.association.get_or_insert_with(IpcAssociation::default);
        assoc.sctp.get_or_insert_with(SctpConfig::default)
    }
    pub(super) fn sctp_local(&mut self) -> &mut SctpLocal {
        self.sctp().local.get_or_insert_with(SctpLocal::default)
    }
}

pub(crate) fn configure_terminal(_: &mut Apply<'_>) -> R {
    Ok(Next {
        mode: Some(Mode::Config),
        changed: false,
    })
}
pub(crate) fn exit(ap: &mut Apply<'_>) -> R {
    Ok(Next {
        mode: Some(ap.mode.parent().unwrap_or(Mode::Exec)),
        changed: false,
    })
}
pub(crate) fn end(_: &mut Apply<'_>) -> R {
    Ok(Next {
        mode: Some(Mode::Exec),
        changed: false,
    })
}

pub(crate) fn hostname(ap: &mut Apply<'_>) -> R {
    ap.cfg.hostname = if ap.negated {
        String::new()
    } else {
        ap.val("hostname").unwrap_or_default().to_string()
    };
    ap.note("hostname".into());
    changed()
}

pub(crate) fn interface(ap: &mut Apply<'_>) -> R {
    let Some(name) = ap.interface_arg("interface") else {
        return Err(ap.err("interface", "interface name"));
    };
    if ap.negated {
        ap.cfg.interfaces.retain(|i| i.name != name);
        return changed();
    }
    ap.cfg.interface_mut(&name);
    ap.note(format!("interface {name}"));
    enter(Mode::Interface(name))
}

pub(crate) fn redundancy_plain(ap: &mut Apply<'_>) -> R {
    ap.warnings
        .push("`redundancy` (intra-chassis) has no meaning for iosha; accepted and ignored".into());
    Ok(Next {
        mode: None,
        changed: false,
    })
}

pub(crate) fn redundancy_inter_device(ap: &mut Apply<'_>) -> R {
    if ap.negated {
        ap.cfg.redundancy = None;
        return changed();
    }
    ap.cfg
        .redundancy
        .get_or_insert_with(RedundancyInterDevice::default);
    ap.note("redundancy inter-device".into());
    enter(Mode::RedundancyInterDevice)
}

pub(crate) fn scheme(ap: &mut Apply<'_>) -> R {
    let scheme = if ap.negated {
        None
    } else {
        ap.val("name").map(str::to_string)
    };
    ap.cfg
        .redundancy
        .get_or_insert_with(RedundancyInterDevice::default)
        .scheme_standby = scheme;
    ap.note("redundancy scheme".into());
    changed()
}

pub(crate) fn security_key(ap: &mut Apply<'_>) -> R {
    let key = if ap.negated {
        None
    } else {
        ap.val("key").map(str::to_string)
    };
    ap.cfg
        .redundancy
        .get_or_insert_with(RedundancyInterDevice::default)
        .security_key = key;
    changed()
}

pub(crate) fn ipc_zone(ap: &mut Apply<'_>) -> R {
    if ap.negated {
        ap.cfg.ipc = None;
        return changed();
    }
    ap.cfg.ipc.get_or_insert_with(IpcZone::default);
    enter(Mode::IpcZone)
}

pub(crate) fn association(ap: &mut Apply<'_>) -> R {
    let id = ap.num("association").unwrap_or(1);
    let zone = ap.cfg.ipc.get_or_insert_with(IpcZone::default);
    if ap.negated {
        zone.association = None;
        return changed();
    }
    zone.association.get_or_insert_with(|| IpcAssociation {
        id,
        ..IpcAssociation::default()
    });
    ap.note("ipc association".into());
    enter(Mode::IpcAssociation(id))
}

pub(crate) fn association_shutdown(ap: &mut Apply<'_>) -> R {
    let shutdown = !ap.negated;
    let zone = ap.cfg.ipc.get_or_insert_with(IpcZone::default);
    zone.association
        .get_or_insert_with(IpcAssociation::default)
        .shutdown = shutdown;
    changed()
}

pub(crate) fn protocol_sctp(ap: &mut Apply<'_>) -> R {
    if ap.negated {
        if let Some(assoc) = ap.cfg.ipc.as_mut().and_then(|z| z.association.as_mut()) {
            assoc.sctp = None;
        }
        return changed();
    }
    ap.sctp();
    enter(Mode::IpcProtocolSctp)
}

pub(crate) fn local_port(ap: &mut Apply<'_>) -> R {
    if ap.negated {
        ap.sctp().local = None;
        return changed();
    }
    let port = ap.num("port").unwrap_or(0);
    ap.sctp_local().port = port;
    ap.note("ipc local-port".into());
    enter(Mode::IpcLocalSctp)
}

pub(crate) fn remote_port(ap: &mut Apply<'_>) -> R {
    if ap.negated {
        ap.sctp().remote = None;
        return changed();
    }
    let port = ap.num("port").unwrap_or(0);
    ap.sctp().remote.get_or_insert_with(SctpRemote::default).port = port;
    ap.note("ipc remote-port".into());
    enter(Mode::IpcRemoteSctp)
}

fn ip_pair(ap: &Apply<'_>) -> Result<Vec<Ipv4Addr>, ApplyError> {
    let ips: Vec<Ipv4Addr> = [ap.ip("ip1"), ap.ip("ip2")].into_iter().flatten().collect();
    if ips.len() == 2 && ips[0] == ips[1] {
        return Err(ap.err("ip2", "the two addresses must differ"));
    }
    Ok(ips)
}

pub(crate) fn local_ip(ap: &mut Apply<'_>) -> R {
    let ips = if ap.negated { Vec::new() } else { ip_pair(ap)? };
    ap.sctp_local().ips = ips;
    ap.note("ipc local-ip".into());
    changed()
}

pub(crate) fn remote_ip(ap: &mut Apply<'_>) -> R {
    let ips = if ap.negated { Vec::new() } else { ip_pair(ap)? };
    ap.sctp().remote.get_or_insert_with(SctpRemote::default).ips = ips;
    ap.note("ipc remote-ip".into());
    changed()
}

pub(crate) fn retransmit_timeout(ap: &mut Apply<'_>) -> R {
    let (min, max) = if ap.negated {
        (defaults::SCTP_RTO_MIN_MS, defaults::SCTP_RTO_MAX_MS)
    } else {
        (
            ap.num("min").unwrap_or(defaults::SCTP_RTO_MIN_MS),
            ap.num("max").unwrap_or(defaults::SCTP_RTO_MAX_MS),
        )
    };
    if min > max {
        return Err(ap.err("max", "the maximum must not be below the minimum"));
    }
    let local = ap.sctp_local();
    local.retransmit_min_ms = min;
    local.retransmit_max_ms = max;
    ap.note("ipc retransmit-timeout".into());
    changed()
}

pub(crate) fn retransmit_count(ap: &mut Apply<'_>) -> R {
    let count = if ap.negated { None } else { ap.num("count") };
    let path = ap.val("which") == Some("path-retransmit");
    let local = ap.sctp_local();
    if path {
        local.path_retransmit = count.unwrap_or(defaults::SCTP_PATH_RETRANSMIT);
    } else {
        local.assoc_retransmit = count.unwrap_or(defaults::SCTP_ASSOC_RETRANSMIT);
    }
    changed()
}

pub(crate) fn transport(ap: &mut Apply<'_>) -> R {
    let transport = match (ap.negated, ap.val("transport")) {
        (false, Some("kernel")) => SctpTransport::Kernel,
        (false, Some("raw")) => SctpTransport::Raw,
        (false, Some("udp")) => SctpTransport::Udp,
        _ => SctpTransport::Auto,
    };
    ap.sctp_local().transport = transport;
    changed()
}

pub(crate) fn keepalive(ap: &mut Apply<'_>) -> R {
    let ms = if ap.negated { None } else { ap.num("keepalive") };
    ap.sctp_local().keepalive_ms = ms;
    changed()
}

pub(crate) fn ip_address(ap: &mut Apply<'_>) -> R {
    let name = ap.iface_name();
    if ap.negated {
        ap.iface().address = None;
        return changed();
    }
    let (Some(address), Some(mask)) = (ap.ip("address"), ap.ip("mask")) else {
        return Err(ap.err("address", "address and mask"));
    };
    let prefix = Ipv4Prefix { address, mask };
    if prefix.prefix_len().is_none() || u32::from(mask) == 0 {
        return Err(ap.err("mask", "bad mask"));
    }
    ap.iface().address = Some(prefix);
    ap.note(format!("interface {name} ip address"));
    changed()
}

pub(crate) fn shutdown(ap: &mut Apply<'_>) -> R {
    let down = !ap.negated;
    ap.iface().shutdown = down;
    changed()
}

pub(crate) fn access_group(ap: &mut Apply<'_>) -> R {
    let name = ap.iface_name();
    let acl = if ap.negated {
        None
    } else {
        ap.val("acl").map(str::to_string)
    };
    let inbound = ap.val("direction") == Some("in");
    let iface = ap.iface();
    if inbound {
        iface.access_group_in = acl;
    } else {
        iface.access_group_out = acl;
    }
    let dir = if inbound { "in" } else { "out" };
    ap.note(format!("interface {name} access-group {dir}"));
    changed()
}

pub(crate) fn inspect_binding(ap: &mut Apply<'_>) -> R {
    let name = ap.iface_name();
    let binding = (!ap.negated).then(|| InspectBinding {
        rule: ap.val("rule").unwrap_or_default().to_string(),
        redundancy_group: ap.val("group").map(str::to_string),
    });
    let inbound = ap.val("direction") == Some("in");
    let iface = ap.iface();
    if inbound {
        iface.inspect_in = binding;
    } else {
        iface.inspect_out = binding;
    }
    let dir = if inbound { "in" } else { "out" };
    ap.note(format!("interface {name} inspect {dir}"));
    changed()
}

pub(crate) fn standby_version(ap: &mut Apply<'_>) -> R {
    let version = if ap.negated {
        defaults::STANDBY_VERSION
    } else {
        ap.num("version").unwrap_or(1)
    };
    if version == 1
        && ap
            .iface()
            .standby
            .groups
            .iter()
            .any(|g| g.group > defaults::STANDBY_GROUP_MAX_V1)
    {
        return Err(ap.err(
            "version",
            "a group above 255 is configured; version 1 allows 0-255",
        ));
    }
    ap.iface().standby.version = version;
    changed()
}

pub(crate) fn standby_delay(ap: &mut Apply<'_>) -> R {
    let delay = (!ap.negated).then(|| StandbyDelay {
        minimum: ap.num("delay_minimum").unwrap_or(0),
        reload: ap.num("delay_reload").unwrap_or(0),
    });
    ap.iface().standby.delay = delay;
    changed()
}

pub(crate) fn standby_use_bia(ap: &mut Apply<'_>) -> R {
    let on = !ap.negated;
    ap.iface().standby.use_bia = on;
    changed()
}

pub(crate) fn standby_ip(ap: &mut Apply<'_>) -> R {
    let number = ap.group()?;
    let name = ap.iface_name();
    let vip = ap.ip("vip");
    let secondary = ap.has("secondary");
    let negated = ap.negated;
    let group = ap.group_mut(number);
    match (negated, vip) {
        (true, None) => {
            group.ip = None;
            group.secondary_ips.clear();
        }
        (true, Some(vip)) => {
            if group.ip == Some(vip) {
                group.ip = None;
            }
            group.secondary_ips.retain(|&s| s != vip);
        }
        (false, None) => {}
        (false, Some(vip)) if secondary => {
            if group.ip != Some(vip) && !group.secondary_ips.contains(&vip) {
                group.secondary_ips.push(vip);
            }
        }
        (false, Some(vip)) => {
            group.secondary_ips.retain(|&s| s != vip);
            group.ip = Some(vip);
        }
    }
    if !secondary {
        ap.note(format!("interface {name} standby {number} ip"));
    }
    changed()
}

pub(crate) fn standby_priority(ap: &mut Apply<'_>) -> R {
    let number = ap.group()?;
    let priority = if ap.negated {
        defaults::STANDBY_PRIORITY
    } else {
        ap.num("priority").unwrap_or(100)
    };
    ap.group_mut(number).priority = priority;
    let key = format!("interface {} standby {number} priority", ap.iface_name());
    ap.note(key);
    changed()
}

pub(crate) fn standby_preempt(ap: &mut Apply<'_>) -> R {
    let number = ap.group()?;
    let preempt = (!ap.negated).then(|| Preempt {
        delay_minimum: ap.num("preempt_minimum"),
        delay_reload: ap.num("preempt_reload"),
        delay_sync: ap.num("preempt_sync"),
    });
    ap.group_mut(number).preempt = preempt;
    changed()
}

pub(crate) fn standby_timers(ap: &mut Apply<'_>) -> R {
    let number = ap.group()?;
    let timers = if ap.negated {
        None
    } else {
        let hello = TimerValue {
            value: ap.num("hello").unwrap_or(0),
            msec: ap.has("hello_msec"),
        };
        let hold = TimerValue {
            value: ap.num("hold").unwrap_or(0),
            msec: ap.has("hold_msec"),
        };
        if hold.as_millis() <= hello.as_millis() {
            return Err(ap.err("hold", "the hold time must be greater than the hello time"));
        }
        Some(StandbyTimers { hello, hold })
    };
    ap.group_mut(number).timers = timers;
    let key = format!("interface {} standby {number} timers", ap.iface_name());
    ap.note(key);
    changed()
}

pub(crate) fn standby_auth(ap: &mut Apply<'_>) -> R {
    let number = ap.group()?;
    let auth = if ap.negated {
        None
    } else if let Some(key) = ap.val("md5_key") {
        if key.len() > 64 {
            return Err(ap.err("md5_key", "an MD5 key string has at most 64 characters"));
        }
        Some(StandbyAuth::Md5(key.to_string()))
    } else {
        let text = ap.val("auth_text").unwrap_or(defaults::STANDBY_AUTH_TEXT);
        if text.len() > 8 {
            return Err(ap.err(
                "auth_text",
                "a text authentication string has at most 8 characters",
            ));
        }
        Some(StandbyAuth::Text(text.to_string()))
    };
    ap.group_mut(number).authentication = auth;
    changed()
}

pub(crate) fn standby_name(ap: &mut Apply<'_>) -> R {
    let number = ap.group()?;
    let name = if ap.negated {
        None
    } else {
        ap.val("name").map(str::to_string)
    };
    ap.group_mut(number).name = name;
    let key = format!("interface {} standby {number} name", ap.iface_name());
    ap.note(key);
    changed()
}

pub(crate) fn standby_mac(ap: &mut Apply<'_>) -> R {
    let number = ap.group()?;
    let mac = if ap.negated {
        None
    } else {
        ap.val("mac").map(str::to_string)
    };
    ap.group_mut(number).mac_address = mac;
    changed()
}

pub(crate) use super::actions_fw::*;
