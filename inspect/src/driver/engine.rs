//! The data plane running the real [`Engine`]: shard setup and typed control-plane requests that
//! gather and merge the answers of every worker.

use serde::Serialize;

use std::collections::HashSet;

use super::{Backend, DataPlaneError, DataPlaneHandle, FlowId, Shard, WorkerStatus};
use crate::acl::AclStatus;
use crate::config::EngineConfig;
use crate::engine::{BatchPacket, Engine};
use crate::record::{HaSessionId, SessionRecord};
use crate::status::{EngineEvent, EngineStats, HaRole, SessionStatus, Verdict};
use timebase::Instant;

/// The data plane of the daemon.
pub type EngineDataPlane = DataPlaneHandle<Engine>;

impl Shard for Engine {
    type Config = EngineConfig;
    type Event = EngineEvent;

    fn new_shard(mut cfg: EngineConfig, index: u16, count: u16, hash_seed: u64) -> Self {
        cfg.shard_index = u32::from(index);
        cfg.shard_count = u32::from(count.max(1));
        Self::new(cfg, hash_seed)
    }

    fn reconfigure_shard(&mut self, mut cfg: EngineConfig, index: u16, count: u16) {
        cfg.shard_index = u32::from(index);
        cfg.shard_count = u32::from(count.max(1));
        self.reconfigure(cfg);
    }

    fn queued_interfaces(cfg: &EngineConfig) -> Vec<u16> {
        cfg.interfaces
            .iter()
            .enumerate()
            .filter(|(_, i)| {
                i.inspect_in.is_some() || i.inspect_out.is_some() || i.acl_in.is_some() || i.acl_out.is_some()
            })
            .filter_map(|(pos, _)| u16::try_from(pos).ok())
            .collect()
    }

    fn process(&mut self, now: Instant, packet: &[u8], ingress: Option<u16>, egress: Option<u16>) -> bool {
        matches!(Self::process(self, now, packet, ingress, egress), Verdict::Accept)
    }

    fn process_batch(&mut self, now: Instant, packets: &[BatchPacket<'_>], accepted: &mut Vec<bool>) {
        accepted.reserve(packets.len());
        self.process_batch_with(now, packets, |v| accepted.push(v == Verdict::Accept));
    }

    fn handle_timeout(&mut self, now: Instant) {
        Self::handle_timeout(self, now);
    }

    fn poll_timeout(&self) -> Option<Instant> {
        Self::poll_timeout(self)
    }

    fn poll_event(&mut self) -> Option<EngineEvent> {
        Self::poll_event(self)
    }

    fn flow_of(packet: &[u8]) -> Option<FlowId> {
        FlowId::of_packet(packet)
    }

    fn held_flows(&mut self, now: Instant) -> HashSet<FlowId> {
        self.export_ha(now).map(|r| record_flow(&r)).collect()
    }
}

fn record_flow(r: &SessionRecord) -> FlowId {
    FlowId::new(r.key.proto.0, r.key.initiator, r.key.responder)
}

/// `show`-style snapshot of the whole data plane.
#[derive(Clone, Debug, Serialize)]
pub struct DataPlaneStatus {
    /// Rule backend in use (None once stopped).
    pub backend: Option<Backend>,
    /// Fail-open mode.
    pub fail_open: bool,
    /// Engine counters summed over all shards.
    pub engine: EngineStats,
    /// Per worker: queue, driver counters, resolved interfaces and that shard's engine counters.
    pub workers: Vec<WorkerStatus<EngineStats>>,
}

impl DataPlaneHandle<Engine> {
    /// Counters of every shard and worker, and their sum.
    pub fn status(&self) -> Result<DataPlaneStatus, DataPlaneError> {
        let workers = self.on_each(|e: &mut Engine, _| e.stats())?;
        let mut engine = EngineStats::default();
        for w in &workers {
            engine.merge(&w.shard);
        }
        Ok(DataPlaneStatus {
            backend: self.backend(),
            fail_open: self.fail_open(),
            engine,
            workers,
        })
    }

    /// Every session of every shard (`show ip inspect sessions`), ordered by id.
    pub fn sessions(&self) -> Result<Vec<SessionStatus>, DataPlaneError> {
        let per = self.on_each(|e: &mut Engine, now| e.sessions(now))?;
        let mut all: Vec<SessionStatus> = per.into_iter().flat_map(|w| w.shard).collect();
        all.sort_by_key(|s| s.id);
        Ok(all)
    }

    /// ACLs with hit counters summed over the shards (`show ip access-lists`).
    pub fn acl_status(&self) -> Result<Vec<AclStatus>, DataPlaneError> {
        let per = self.on_each(|e: &mut Engine, _| e.acl_status())?;
        let mut iter = per.into_iter().map(|w| w.shard);
        let mut total = iter.next().unwrap_or_default();
        for other in iter {
            for (a, b) in total.iter_mut().zip(&other) {
                a.merge(b);
            }
        }
        Ok(total)
    }

    /// `clear ip inspect sessions` on every shard.
    pub fn clear_sessions(&self) -> Result<(), DataPlaneError> {
        self.on_each(|e: &mut Engine, _| e.clear_sessions()).map(drop)
    }

    /// `clear ip access-lists counters` on every shard.
    pub fn clear_acl_counters(&self) -> Result<(), DataPlaneError> {
        self.on_each(|e: &mut Engine, _| e.clear_acl_counters()).map(drop)
    }

    /// Sets the HA role on every shard (Standby → Active promotes the standby copies).
    pub fn set_ha_role(&self, role: HaRole) -> Result<(), DataPlaneError> {
        self.on_each(move |e: &mut Engine, now| e.set_ha_role(now, role))
            .map(drop)
    }

    /// Applies the Active's session records as standby copies; returns how many were accepted.
    ///
    /// All copies go to the home shard (worker 0): the kernel's queue choice for a flow cannot be computed
    /// here. With several queues their flows are also listed for steering, so whichever worker receives
    /// such a packet re-queues it to the home queue (see docs/inspect-dataplane.md).
    pub fn apply_standby(&self, records: Vec<SessionRecord>) -> Result<usize, DataPlaneError> {
        let steer = (self.queues().len() > 1).then(|| self.steer.clone());
        self.on_worker(0, move |e: &mut Engine, now| {
            let accepted: Vec<FlowId> = records
                .iter()
                .filter(|r| e.apply_standby(now, r))
                .map(record_flow)
                .collect();
            let n = accepted.len();
            if let Some(steer) = steer {
                steer.insert(accepted);
            }
            n
        })
    }

    /// Removes standby copies by HA id (the Active's deletes); returns how many were known. (Their
    /// flows leave the steering set at the home worker's next prune.)
    pub fn remove_standby(&self, ids: Vec<HaSessionId>) -> Result<usize, DataPlaneError> {
        self.on_worker(0, move |e: &mut Engine, _| {
            ids.iter().filter(|id| e.remove_standby(**id)).count()
        })
    }

    /// Drops every HA session of every shard without events (before a bulk sync, on an HA reload).
    pub fn clear_ha_sessions(&self) -> Result<(), DataPlaneError> {
        self.on_each(|e: &mut Engine, _| e.clear_ha_sessions())?;
        self.steer.clear();
        Ok(())
    }

    /// Every HA session of every shard as a record (the source of a bulk sync).
    pub fn export_ha(&self) -> Result<Vec<SessionRecord>, DataPlaneError> {
        let per = self.on_each(|e: &mut Engine, now| e.export_ha(now).collect::<Vec<_>>())?;
        Ok(per.into_iter().flat_map(|w| w.shard).collect())
    }

    /// `(count, digest)` of the HA sessions of all shards (shards combine by `+` and `wrapping_add`).
    pub fn ha_digest(&self) -> Result<(u64, u64), DataPlaneError> {
        let per = self.on_each(|e: &mut Engine, _| e.ha_digest())?;
        Ok(per
            .iter()
            .fold((0, 0), |(c, d), w| (c + w.shard.0, d.wrapping_add(w.shard.1))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handle_can_be_shared_between_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<EngineDataPlane>();
    }

    #[test]
    fn queued_interfaces_are_those_with_inspect_or_acl() {
        use crate::config::{InterfaceConfig, InterfaceInspect};
        let mut cfg = EngineConfig::default();
        let insp = InterfaceInspect {
            rule: "P".into(),
            redundancy_group: None,
        };
        cfg.interfaces = vec![
            InterfaceConfig {
                name: "a".into(),
                ..Default::default()
            },
            InterfaceConfig {
                name: "b".into(),
                inspect_in: Some(insp.clone()),
                ..Default::default()
            },
            InterfaceConfig {
                name: "c".into(),
                acl_out: Some("X".into()),
                ..Default::default()
            },
            InterfaceConfig {
                name: "d".into(),
                inspect_out: Some(insp),
                ..Default::default()
            },
            InterfaceConfig {
                name: "e".into(),
                acl_in: Some("Y".into()),
                ..Default::default()
            },
        ];
        assert_eq!(<Engine as Shard>::queued_interfaces(&cfg), vec![1, 2, 3, 4]);
    }
}
