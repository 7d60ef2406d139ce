//! What the two benchmark threads share: the command-line knobs, the standby's counters and add
//! timestamps, the bulk result, and the flags that sequence the start.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration as StdDuration, Instant as StdInstant};

use anyhow::{Context, bail};

use crate::DYN_SLOTS;

/// What the standby measured of the bulk synchronization.
pub(crate) struct BulkResult {
    /// Time from the request to `BulkComplete`.
    pub(crate) wall: StdDuration,
    /// CPU time of the standby's sync thread from the request to the end.
    pub(crate) standby_cpu: StdDuration,
    /// CPU time of the standby's IPC driver thread over the same time.
    pub(crate) standby_driver_cpu: StdDuration,
    /// The `BulkComplete` report: digest and count matched, sessions announced, sessions held.
    pub(crate) ok: bool,
    pub(crate) sessions: u64,
    pub(crate) local_sessions: u64,
}

/// Association knobs from the command line.
#[derive(Clone, Debug, Default)]
pub(crate) struct Knobs {
    /// `--key STRING`: `security key` (every message authenticated with HMAC).
    pub(crate) key: Option<String>,
    /// `--mtu N`: SCTP packet size of the userspace stack.
    pub(crate) mtu: Option<u16>,
    /// `--send-queue-bytes N`.
    pub(crate) send_queue_bytes: Option<usize>,
}

impl Knobs {
    /// Reads the knobs from the command line.
    pub(crate) fn parse() -> anyhow::Result<Self> {
        let mut k = Self::default();
        let mut args = std::env::args().skip(1);
        while let Some(a) = args.next() {
            let mut value = || args.next().with_context(|| format!("{a} needs a value"));
            match a.as_str() {
                "--key" => k.key = Some(value()?),
                "--mtu" => k.mtu = Some(value()?.parse()?),
                "--send-queue-bytes" => k.send_queue_bytes = Some(value()?.parse()?),
                _ => bail!("usage: ha_sync_bench [--key STRING] [--mtu N] [--send-queue-bytes N]"),
            }
        }
        Ok(k)
    }
}

/// State shared by the Active's and the standby's threads.
pub(crate) struct Shared {
    pub(crate) knobs: Knobs,
    pub(crate) epoch: StdInstant,
    pub(crate) stop: AtomicBool,
    pub(crate) request_bulk: AtomicBool,
    pub(crate) bulk: Mutex<Option<BulkResult>>,
    pub(crate) standby_up: AtomicBool,
    pub(crate) adds: AtomicU64,
    pub(crate) updates: AtomicU64,
    pub(crate) deletes: AtomicU64,
    /// Send time (µs since `epoch`, plus one; wraps after 71 min) of each dynamic add, by id - DYN_BASE.
    pub(crate) stamps: Vec<AtomicU32>,
    /// The Active's association is started (the standby starts its own after, see `task_ids`).
    pub(crate) active_spawned: AtomicBool,
}

impl Shared {
    /// Nothing applied yet; `epoch` is now.
    pub(crate) fn new(knobs: Knobs) -> Self {
        Self {
            knobs,
            epoch: StdInstant::now(),
            stop: AtomicBool::new(false),
            request_bulk: AtomicBool::new(false),
            bulk: Mutex::new(None),
            standby_up: AtomicBool::new(false),
            adds: AtomicU64::new(0),
            updates: AtomicU64::new(0),
            deletes: AtomicU64::new(0),
            stamps: (0..DYN_SLOTS).map(|_| AtomicU32::new(0)).collect(),
            active_spawned: AtomicBool::new(false),
        }
    }

    /// Microseconds since `epoch`.
    pub(crate) fn micros(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// Records the standby applied: adds, updates and deletes.
    pub(crate) fn applied(&self) -> u64 {
        self.adds.load(Ordering::Relaxed)
            + self.updates.load(Ordering::Relaxed)
            + self.deletes.load(Ordering::Relaxed)
    }
}
