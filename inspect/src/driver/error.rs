//! Errors of the Linux data plane (rules, queues, workers).

use thiserror::Error;

pub use super::nfqueue::NfQueueError;

/// Installing or removing the daemon's packet-filter rules failed.
#[derive(Debug, Error)]
pub enum RuleError {
    /// The command could not be started (binary missing, pipe broken).
    #[error("cannot run `{cmd}`: {source}")]
    Spawn {
        /// The command line.
        cmd: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The command ran and failed.
    #[error("`{cmd}` failed (exit {status:?}): {stderr}")]
    Failed {
        /// The command line.
        cmd: String,
        /// Exit code (None when killed by a signal).
        status: Option<i32>,
        /// What it printed on stderr.
        stderr: String,
    },
    /// An interface name that cannot be put in a rule safely.
    #[error("interface name {0:?} cannot be used in a packet-filter rule")]
    InvalidInterfaceName(String),
    /// The queue range does not fit in 16 bits.
    #[error("queues {base}..+{count} exceed queue number 65535")]
    QueueRange {
        /// First queue.
        base: u16,
        /// Number of queues.
        count: u16,
    },
    /// Neither `nft` (with kernel queue support) nor `iptables` is available.
    #[error("no packet-filter backend: neither nft with the queue statement nor iptables is usable")]
    NoBackend,
}

/// Errors of the data plane as a whole.
#[derive(Debug, Error)]
pub enum DataPlaneError {
    /// Rule management failed.
    #[error(transparent)]
    Rules(#[from] RuleError),
    /// A queue could not be opened or configured.
    #[error(transparent)]
    Queue(#[from] NfQueueError),
    /// The specification is unusable.
    #[error("invalid data-plane specification: {0}")]
    InvalidSpec(String),
    /// Entering the router's network namespace (for rule changes from another thread) failed.
    #[error("network namespace: {0}")]
    Namespace(nix::errno::Errno),
    /// A worker thread could not be started.
    #[error("cannot start worker thread: {0}")]
    Thread(std::io::Error),
    /// The worker is gone (stopped or crashed).
    #[error("data-plane worker {0} is not running")]
    WorkerGone(u16),
}
