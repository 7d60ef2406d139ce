//! The Linux driver (feature `runtime`): feeds a [`Speaker`] from sockets, netlink link events and a
//! command channel, and executes its actions.
//!
//! ```text
//!  UDP 1985 per interface ──recv task──┐
//!  rtnetlink link events ──────────────┤
//!  HsrpHandle commands ────────────────┼──► driver task: Speaker.handle_*() → poll_action() → execute
//!  timer (Speaker.poll_timeout) ───────┘        │ Send: UDP socket, or AF_PACKET frame from the vMAC
//!                                               │ Install/RemoveVirtual: macvlan hsrpNgM + VIP/32
//!                                               │ GratuitousArp: AF_PACKET (spawned, repeated)
//!                                               └ StateChanged: %HSRP-5-STATECHANGE + HsrpEvent
//! ```
//!
//! At start the driver removes macvlans a crashed run left behind (recognised by name and parent), sets
//! `arp_ignore=1` and `arp_announce=2` on every HSRP interface so only the macvlan of the Active router
//! answers ARP for the virtual IP, and reads the initial link states. [`HsrpHandle::shutdown`] makes
//! every Active group resign and removes every macvlan. Logging uses the `tracing` targets `syslog`,
//! `debug.standby.events`, `debug.standby.packets`, `debug.standby.packets.terse` and
//! `debug.standby.errors`; tracking objects log `%TRACK-6-STATE` (target `syslog`) and `debug.track`.

mod io;
mod net;

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;

use futures::StreamExt;
use rtnetlink::{Handle, MulticastGroup, new_connection, new_multicast_connection};
use serde::{Deserialize, Serialize};
use thiserror::Error;
use timebase::MonotonicClock;
use tokio::net::UdpSocket;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::config::{GroupConfig, InterfaceConfig, StartDelay, Version};
use crate::frame::{gratuitous_arp, udp_multicast_frame};
use crate::packet::{Packet, State, UDP_PORT, V1_MULTICAST, V2_MULTICAST};
use crate::speaker::{Action, DropReason, GroupSelector, Speaker};
use crate::status::{GroupStatus, short_interface};
use crate::track::{TrackObjectConfig, TrackStatus, Tracker};

/// Errors starting or running the driver.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DriverError {
    /// A netlink request failed.
    #[error("netlink: {0}")]
    Netlink(String),
    /// A socket operation failed.
    #[error("socket on {iface}: {source}")]
    Socket {
        /// Linux interface.
        iface: String,
        /// Cause.
        source: std::io::Error,
    },
    /// An interface named in the specification does not exist.
    #[error("no such interface {0}")]
    NoInterface(String),
    /// An HSRP interface has no IPv4 address.
    #[error("interface {0} has no IPv4 address")]
    NoAddress(String),
    /// A sysctl could not be written.
    #[error("sysctl {0}")]
    Sysctl(String),
    /// The configuration was refused by the core.
    #[error(transparent)]
    Config(#[from] crate::error::ConfigError),
    /// The driver task is gone.
    #[error("the HSRP driver has stopped")]
    Stopped,
}

impl DriverError {
    fn netlink(e: rtnetlink::Error) -> Self {
        Self::Netlink(e.to_string())
    }
}

/// One interface to run HSRP on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriverInterface {
    /// Name in the configuration (`Ethernet0/0`), used in logs, `show` and tracking.
    pub name: String,
    /// Linux interface name (`eth0`).
    pub linux_name: String,
    /// `standby delay minimum/reload`.
    pub delay: Option<StartDelay>,
    /// Groups configured on it.
    pub groups: Vec<GroupConfig>,
}

/// Everything the driver needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriverSpec {
    /// HSRP interfaces.
    pub interfaces: Vec<DriverInterface>,
    /// Configuration name → Linux name for tracked interfaces that do not run HSRP (unlisted names are
    /// taken to be Linux names).
    pub tracked: Vec<(String, String)>,
    /// Spacing of repeated gratuitous ARPs.
    pub garp_interval_ms: u64,
}

/// A notification for the redundancy manager and the daemon.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum HsrpEvent {
    /// A group changed state.
    StateChange {
        /// Interface (configuration name).
        interface: String,
        /// Group.
        group: u16,
        /// Group name.
        name: Option<String>,
        /// Old state.
        from: State,
        /// New state.
        to: State,
        /// Why.
        reason: String,
    },
}

enum Command {
    Status(oneshot::Sender<Vec<GroupStatus>>),
    Hold(GroupSelector, Option<String>, oneshot::Sender<usize>),
    Resign(GroupSelector, oneshot::Sender<usize>),
    Shutdown(oneshot::Sender<()>),
    Track(oneshot::Sender<Vec<TrackStatus>>),
}

/// Control of a running driver.
#[derive(Debug)]
pub struct HsrpHandle {
    cmds: mpsc::UnboundedSender<Command>,
    events: broadcast::Sender<HsrpEvent>,
    task: JoinHandle<()>,
}

impl HsrpHandle {
    /// Snapshots for `show standby`.
    pub async fn status(&self) -> Result<Vec<GroupStatus>, DriverError> {
        let (tx, rx) = oneshot::channel();
        self.cmds
            .send(Command::Status(tx))
            .map_err(|_| DriverError::Stopped)?;
        rx.await.map_err(|_| DriverError::Stopped)
    }

    /// Snapshots for `show track` (each object's `tracked_by` names the groups that use it).
    pub async fn track_status(&self) -> Result<Vec<TrackStatus>, DriverError> {
        let (tx, rx) = oneshot::channel();
        self.cmds
            .send(Command::Track(tx))
            .map_err(|_| DriverError::Stopped)?;
        rx.await.map_err(|_| DriverError::Stopped)
    }

    /// The redundancy manager's hold on preemption (see [`Speaker::set_preempt_hold`]); returns how
    /// many groups matched.
    pub async fn set_preempt_hold(
        &self,
        which: GroupSelector,
        reason: Option<String>,
    ) -> Result<usize, DriverError> {
        let (tx, rx) = oneshot::channel();
        self.cmds
            .send(Command::Hold(which, reason, tx))
            .map_err(|_| DriverError::Stopped)?;
        rx.await.map_err(|_| DriverError::Stopped)
    }

    /// Planned switchover: the selected Active groups resign (see [`Speaker::resign`]); returns how many
    /// groups resigned.
    pub async fn resign(&self, which: GroupSelector) -> Result<usize, DriverError> {
        let (tx, rx) = oneshot::channel();
        self.cmds
            .send(Command::Resign(which, tx))
            .map_err(|_| DriverError::Stopped)?;
        rx.await.map_err(|_| DriverError::Stopped)
    }

    /// State-change notifications.
    pub fn subscribe(&self) -> broadcast::Receiver<HsrpEvent> {
        self.events.subscribe()
    }

    /// Graceful stop: Active groups resign, macvlans and VIPs are removed.
    pub async fn shutdown(self) {
        let (tx, rx) = oneshot::channel();
        if self.cmds.send(Command::Shutdown(tx)).is_ok() {
            let _ = rx.await;
        }
        let _ = self.task.await;
    }

    /// Stops the driver task without any cleanup (crash simulation in tests).
    pub fn abort(self) {
        self.task.abort();
    }
}

struct Iface {
    name: String,
    linux: String,
    index: u32,
    addr: Ipv4Addr,
    udp: Arc<UdpSocket>,
    raw: Arc<io::PacketSocket>,
}

struct Rx {
    iface: usize,
    src: Ipv4Addr,
    ttl: u8,
    bytes: Vec<u8>,
}

/// Entry point of the Linux driver.
#[derive(Debug)]
pub struct HsrpDriver;

impl HsrpDriver {
    /// Starts the driver on the current tokio runtime (the calling thread's network namespace).
    pub async fn start(spec: DriverSpec) -> Result<HsrpHandle, DriverError> {
        Self::start_with_objects(spec, Vec::new()).await
    }

    /// As [`HsrpDriver::start`], with tracking objects (`track N interface IF line-protocol`). An object's
    /// interface is a configuration name, mapped to Linux through `spec.tracked` (else taken as a Linux
    /// name). Groups that track an undefined object see it down.
    pub async fn start_with_objects(
        spec: DriverSpec,
        objects: Vec<TrackObjectConfig>,
    ) -> Result<HsrpHandle, DriverError> {
        let (conn, handle, _) = new_connection().map_err(|e| DriverError::Netlink(e.to_string()))?;
        tokio::spawn(conn);
        let (mconn, _mh, mut link_events) = new_multicast_connection(&[MulticastGroup::Link])
            .map_err(|e| DriverError::Netlink(e.to_string()))?;
        tokio::spawn(mconn);

        let all = net::links(&handle).await?;
        let by_name: HashMap<&str, &net::LinkState> = all.iter().map(|l| (l.name.as_str(), l)).collect();
        let mut ifaces = Vec::new();
        let mut cfgs = Vec::new();
        for di in &spec.interfaces {
            let l = by_name
                .get(di.linux_name.as_str())
                .ok_or_else(|| DriverError::NoInterface(di.linux_name.clone()))?;
            let addr = net::primary_ipv4(&handle, l.index)
                .await?
                .ok_or_else(|| DriverError::NoAddress(di.linux_name.clone()))?;
            cfgs.push(InterfaceConfig {
                name: di.name.clone(),
                address: addr,
                mac: l.mac,
                delay: di.delay,
                groups: di.groups.clone(),
            });
            let sock_err = |source| DriverError::Socket {
                iface: di.linux_name.clone(),
                source,
            };
            let udp = io::open_udp(&di.linux_name, addr).map_err(sock_err)?;
            let raw = io::PacketSocket::open(l.index).map_err(sock_err)?;
            ifaces.push(Iface {
                name: di.name.clone(),
                linux: di.linux_name.clone(),
                index: l.index,
                addr,
                udp: Arc::new(udp),
                raw: Arc::new(raw),
            });
        }
        let parents: Vec<u32> = ifaces.iter().map(|i| i.index).collect();
        for name in net::remove_stale(&handle, &parents).await? {
            tracing::info!(target: "debug.standby.events", "HSRP: removed stale virtual MAC device {name}");
        }
        for i in &ifaces {
            for (k, v) in [("arp_ignore", "1"), ("arp_announce", "2")] {
                if let Err(e) = net::set_conf(&i.linux, k, v) {
                    tracing::warn!(target: "debug.standby.errors", "HSRP: {e}");
                }
            }
        }
        let mut speaker = Speaker::new(cfgs)?;
        let clock = MonotonicClock::start();
        // Linux name → configuration names (HSRP interfaces and tracked ones).
        let mut names: HashMap<String, Vec<String>> = HashMap::new();
        for i in &ifaces {
            names.entry(i.linux.clone()).or_default().push(i.name.clone());
        }
        for (cfg, linux) in &spec.tracked {
            names.entry(linux.clone()).or_default().push(cfg.clone());
        }
        for di in &spec.interfaces {
            for g in &di.groups {
                for t in &g.track {
                    if !spec.tracked.iter().any(|(c, _)| c == &t.interface)
                        && !names.values().flatten().any(|n| n == &t.interface)
                    {
                        names
                            .entry(t.interface.clone())
                            .or_default()
                            .push(t.interface.clone());
                    }
                }
            }
        }
        for o in &objects {
            if !names.values().flatten().any(|n| n == &o.interface) {
                names
                    .entry(o.interface.clone())
                    .or_default()
                    .push(o.interface.clone());
            }
        }
        let mut tracker = Tracker::new(objects);
        let mut link_up: HashMap<String, bool> = HashMap::new();
        let now = clock.now();
        for (linux, cfg_names) in &names {
            let up = by_name.get(linux.as_str()).is_some_and(|l| l.up);
            link_up.insert(linux.clone(), up);
            for n in cfg_names {
                speaker.handle_link(now, n, up);
                tracker.handle_link(now, n, up);
            }
        }
        for di in &spec.interfaces {
            for g in &di.groups {
                for t in &g.track_objects {
                    if !tracker.defines(t.object) {
                        speaker.handle_track(now, t.object, false);
                    }
                }
            }
        }
        feed_tracker(&mut tracker, &mut speaker, now);
        speaker.handle_start(now);
        let clients = track_clients(&spec);

        let (rx_tx, rx_rx) = mpsc::unbounded_channel();
        for (idx, i) in ifaces.iter().enumerate() {
            let sock = i.udp.clone();
            let tx = rx_tx.clone();
            let linux = i.linux.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 2048];
                loop {
                    match io::recv_with_ttl(&sock, &mut buf).await {
                        Ok((src, ttl, n)) => {
                            if tx
                                .send(Rx {
                                    iface: idx,
                                    src,
                                    ttl,
                                    bytes: buf[..n].to_vec(),
                                })
                                .is_err()
                            {
                                return;
                            }
                        }
                        Err(e) => {
                            tracing::warn!(target: "debug.standby.errors", "HSRP: receive on {linux}: {e}");
                            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                        }
                    }
                }
            });
        }
        let (cmd_tx, mut cmd_rx) = mpsc::unbounded_channel();
        let (ev_tx, _) = broadcast::channel(256);
        let mut core = Core {
            speaker,
            clock,
            handle,
            ifaces,
            vmacs: HashMap::new(),
            events: ev_tx.clone(),
            garp_interval: std::time::Duration::from_millis(spec.garp_interval_ms.max(1)),
            tracker,
            clients,
        };
        let task = tokio::spawn(async move {
            let mut rx_rx = rx_rx;
            core.execute().await;
            loop {
                let deadline = [core.speaker.poll_timeout(), core.tracker.poll_timeout()]
                    .into_iter()
                    .flatten()
                    .min()
                    .map(|t| tokio::time::Instant::from_std(core.clock.to_std(t)));
                tokio::select! {
                    Some(rx) = rx_rx.recv() => core.receive(rx),
                    Some((msg, _)) = link_events.next() => {
                        if let rtnetlink::packet_core::NetlinkPayload::InnerMessage(
                            rtnetlink::packet_route::RouteNetlinkMessage::NewLink(m)
                            | rtnetlink::packet_route::RouteNetlinkMessage::DelLink(m),
                        ) = &msg.payload
                        {
                            let st = net::parse_link(m);
                            if let Some(prev) = link_up.get_mut(&st.name)
                                && *prev != st.up
                            {
                                *prev = st.up;
                                let now = core.clock.now();
                                tracing::debug!(target: "debug.standby.events", "HSRP: interface {} {}", st.name, if st.up { "up" } else { "down" });
                                for n in names.get(&st.name).into_iter().flatten() {
                                    core.speaker.handle_link(now, n, st.up);
                                    core.tracker.handle_link(now, n, st.up);
                                }
                                feed_tracker(&mut core.tracker, &mut core.speaker, now);
                            }
                        }
                    }
                    cmd = cmd_rx.recv() => match cmd {
                        Some(Command::Status(tx)) => { let _ = tx.send(core.standby_status()); }
                        Some(Command::Hold(sel, reason, tx)) => {
                            let n = core.speaker.set_preempt_hold(core.clock.now(), &sel, reason);
                            let _ = tx.send(n);
                        }
                        Some(Command::Resign(sel, tx)) => {
                            let n = core.speaker.resign(core.clock.now(), &sel);
                            let _ = tx.send(n);
                        }
                        Some(Command::Track(tx)) => { let _ = tx.send(core.track_status()); }
                        Some(Command::Shutdown(tx)) => { core.shutdown().await; let _ = tx.send(()); return; }
                        None => { core.shutdown().await; return; }
                    },
                    () = async { match deadline { Some(d) => tokio::time::sleep_until(d).await, None => std::future::pending().await } } => {
                        let now = core.clock.now();
                        core.tracker.handle_timeout(now);
                        feed_tracker(&mut core.tracker, &mut core.speaker, now);
                        core.speaker.handle_timeout(now);
                    }
                }
                core.execute().await;
            }
        });
        Ok(HsrpHandle {
            cmds: cmd_tx,
            events: ev_tx,
            task,
        })
    }
}

struct Core {
    speaker: Speaker,
    clock: MonotonicClock,
    handle: Handle,
    ifaces: Vec<Iface>,
    vmacs: HashMap<(String, u16), (u32, [u8; 6])>,
    events: broadcast::Sender<HsrpEvent>,
    garp_interval: std::time::Duration,
    tracker: Tracker,
    /// Object → `HSRP Ethernet0/0 1` clients.
    clients: Vec<(u16, String)>,
}

/// Passes the tracker's reported changes to the speaker, with their log lines.
fn feed_tracker(tracker: &mut Tracker, speaker: &mut Speaker, now: timebase::Instant) {
    while let Some(c) = tracker.poll_action() {
        let word = |up: bool| if up { "Up" } else { "Down" };
        let iface = tracker
            .interface_of(c.object)
            .map(short_interface)
            .unwrap_or_default();
        match c.from {
            Some(from) => {
                tracing::info!(target: "syslog", "%TRACK-6-STATE: {} interface {iface} line-protocol {} -> {}", c.object, word(from), word(c.up));
            }
            None => {
                tracing::debug!(target: "debug.track", "Track: {} initial state {}", c.object, word(c.up));
            }
        }
        tracing::debug!(target: "debug.track", "Track: {} change state to {}", c.object, word(c.up));
        speaker.handle_track(now, c.object, c.up);
    }
}

/// Which groups use which object (for `show track`'s "Tracked by").
fn track_clients(spec: &DriverSpec) -> Vec<(u16, String)> {
    let mut v = Vec::new();
    for di in &spec.interfaces {
        for g in &di.groups {
            for t in &g.track_objects {
                v.push((t.object, format!("HSRP {} {}", di.name, g.group)));
            }
        }
    }
    v
}

impl Core {
    fn track_status(&self) -> Vec<TrackStatus> {
        let mut st = self.tracker.status(self.clock.now());
        for s in &mut st {
            s.tracked_by = self
                .clients
                .iter()
                .filter(|(o, _)| *o == s.object)
                .map(|(_, c)| c.clone())
                .collect();
        }
        st
    }

    fn standby_status(&self) -> Vec<GroupStatus> {
        let mut st = self.speaker.status(self.clock.now());
        for g in &mut st {
            for t in &mut g.tracked {
                if let Some(o) = t.object {
                    t.interface = self.tracker.interface_of(o).unwrap_or_default().to_owned();
                }
            }
        }
        st
    }
}

fn describe(bytes: &[u8]) -> String {
    match Packet::decode(bytes) {
        Ok(Packet::V1(p)) => format!(
            "{} {} pri {} hel {} hol {} ip {}",
            p.opcode,
            p.state.state().map_or("?", State::name),
            p.priority,
            p.hellotime,
            p.holdtime,
            p.virtual_ip
        ),
        Ok(Packet::V2(p)) => match p.group_state() {
            Some(g) => format!(
                "{} {} pri {} hel {} hol {} ip {}",
                g.opcode,
                g.state.state().map_or("?", State::name),
                g.priority,
                g.hellotime_ms,
                g.holdtime_ms,
                g.virtual_ipv4()
            ),
            None => "v2 without group state".to_owned(),
        },
        Ok(Packet::Advertise(_)) => "Advertise".to_owned(),
        Err(e) => format!("undecodable ({e})"),
    }
}

impl Core {
    fn receive(&mut self, rx: Rx) {
        let Some(i) = self.ifaces.get(rx.iface) else {
            return;
        };
        let what = describe(&rx.bytes);
        tracing::debug!(target: "debug.standby.packets", "HSRP: {} in {} {what}", short_interface(&i.name), rx.src);
        if !what.starts_with("Hello") {
            tracing::debug!(target: "debug.standby.packets.terse", "HSRP: {} in {} {what}", short_interface(&i.name), rx.src);
        }
        let name = i.name.clone();
        self.speaker
            .handle_packet(self.clock.now(), &name, rx.src, rx.ttl, &rx.bytes);
    }

    fn iface(&self, name: &str) -> Option<&Iface> {
        self.ifaces.iter().find(|i| i.name == name)
    }

    async fn execute(&mut self) {
        while let Some(a) = self.speaker.poll_action() {
            match a {
                Action::Send {
                    iface,
                    group,
                    version,
                    bytes,
                    from_virtual_mac,
                } => self.send(&iface, group, version, &bytes, from_virtual_mac).await,
                Action::InstallVirtual {
                    iface,
                    group,
                    vips,
                    vmac,
                } => self.install(&iface, group, &vips, vmac).await,
                Action::RemoveVirtual { iface, group, .. } => self.remove(&iface, group).await,
                Action::GratuitousArp {
                    iface,
                    vips,
                    vmac,
                    count,
                    ..
                } => {
                    if let Some(i) = self.iface(&iface) {
                        let raw = i.raw.clone();
                        let interval = self.garp_interval;
                        tokio::spawn(async move {
                            for n in 0..count.max(1) {
                                if n > 0 {
                                    tokio::time::sleep(interval).await;
                                }
                                for vip in &vips {
                                    if let Err(e) = raw.send(&gratuitous_arp(vmac, *vip)) {
                                        tracing::warn!(target: "debug.standby.errors", "HSRP: gratuitous ARP: {e}");
                                    }
                                }
                            }
                        });
                    }
                }
                Action::StateChanged {
                    iface,
                    group,
                    name,
                    from,
                    to,
                    reason,
                } => {
                    tracing::info!(target: "syslog", "%HSRP-5-STATECHANGE: {iface} Grp {group} state {from} -> {to}");
                    tracing::debug!(target: "debug.standby.events", "HSRP: {} Grp {group} {from} -> {to} ({reason})", short_interface(&iface));
                    let _ = self.events.send(HsrpEvent::StateChange {
                        interface: iface,
                        group,
                        name,
                        from,
                        to,
                        reason,
                    });
                }
                Action::Dropped {
                    iface,
                    src,
                    group,
                    reason,
                } => {
                    if reason == DropReason::AuthFailure {
                        tracing::warn!(target: "syslog", "%HSRP-4-BADAUTH: Bad authentication from {src}, group {}", group.unwrap_or(0));
                    }
                    tracing::debug!(target: "debug.standby.errors", "HSRP: {} packet from {src} dropped: {reason:?}", short_interface(&iface));
                }
            }
        }
    }

    async fn send(&mut self, iface: &str, group: u16, version: Version, bytes: &[u8], from_vmac: bool) {
        let Some(i) = self.iface(iface) else { return };
        let dst = match version {
            Version::V1 => V1_MULTICAST,
            Version::V2 => V2_MULTICAST,
        };
        let what = describe(bytes);
        tracing::debug!(target: "debug.standby.packets", "HSRP: {} out {} {what}", short_interface(iface), i.addr);
        if !what.starts_with("Hello") {
            tracing::debug!(target: "debug.standby.packets.terse", "HSRP: {} out {} {what}", short_interface(iface), i.addr);
        }
        let vmac = self.vmacs.get(&(iface.to_owned(), group)).map(|(_, m)| *m);
        let r = match (from_vmac, vmac) {
            (true, Some(m)) => i.raw.send(&udp_multicast_frame(m, i.addr, dst, UDP_PORT, bytes)),
            _ => i
                .udp
                .send_to(bytes, SocketAddrV4::new(dst, UDP_PORT))
                .await
                .map(|_| ()),
        };
        if let Err(e) = r {
            tracing::warn!(target: "debug.standby.errors", "HSRP: send on {}: {e}", i.linux);
        }
    }

    async fn install(&mut self, iface: &str, group: u16, vips: &[Ipv4Addr], vmac: [u8; 6]) {
        let Some(i) = self.iface(iface) else { return };
        let (parent, linux) = (i.index, i.linux.clone());
        let version2 = self
            .speaker
            .status(self.clock.now())
            .iter()
            .any(|g| g.interface == iface && g.group == group && g.version == 2);
        let name = net::vmac_name(parent, version2, group);
        // A device of that name can only be ours from an earlier failed removal.
        if let Ok(links) = net::links(&self.handle).await
            && let Some(old) = links.iter().find(|l| l.name == name)
        {
            let _ = net::delete_link(&self.handle, old.index).await;
        }
        let index = match net::create_vmac(&self.handle, &name, parent, vmac).await {
            Ok(ix) => ix,
            Err(e) => {
                tracing::error!(target: "debug.standby.errors", "HSRP: cannot create {name} on {linux}: {e}");
                return;
            }
        };
        for (k, v) in [("rp_filter", "2"), ("arp_ignore", "1"), ("arp_announce", "2")] {
            if let Err(e) = net::set_conf(&name, k, v) {
                tracing::warn!(target: "debug.standby.errors", "HSRP: {e}");
            }
        }
        for vip in vips {
            if let Err(e) = net::add_vip(&self.handle, index, *vip).await {
                tracing::error!(target: "debug.standby.errors", "HSRP: cannot add {vip} to {name}: {e}");
            }
        }
        self.vmacs.insert((iface.to_owned(), group), (index, vmac));
    }

    async fn remove(&mut self, iface: &str, group: u16) {
        if let Some((index, _)) = self.vmacs.remove(&(iface.to_owned(), group))
            && let Err(e) = net::delete_link(&self.handle, index).await
        {
            tracing::warn!(target: "debug.standby.errors", "HSRP: cannot remove virtual MAC device {index}: {e}");
        }
    }

    async fn shutdown(&mut self) {
        self.speaker.handle_shutdown(self.clock.now());
        self.execute().await;
        let left: Vec<(String, u16)> = self.vmacs.keys().cloned().collect();
        for (iface, group) in left {
            self.remove(&iface, group).await;
        }
    }
}
