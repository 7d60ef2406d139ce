//! Transport selection: `auto` probes kernel SCTP, then raw IP protocol 132, then UDP.

use std::net::IpAddr;

use socket2::{Domain, Protocol, Socket, Type};

use super::io::{PacketIo, open_raw};
use super::kernel;
use crate::config::{AssociationConfig, TransportChoice};
use crate::error::IpcError;

/// The outcome of transport selection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selected {
    /// The transport to use.
    pub transport: TransportChoice,
    /// Why (for the log and `show`).
    pub reason: String,
}

/// Whether the kernel offers SCTP: `socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP)` succeeds (on hosts with
/// the module this also loads it).
pub fn kernel_sctp_available() -> Result<(), std::io::Error> {
    Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::SCTP)).map(drop)
}

/// Whether a raw IP protocol 132 socket can be opened on `local` (needs CAP_NET_RAW).
pub fn raw_ip_available(local: IpAddr) -> Result<(), std::io::Error> {
    open_raw(local).map(drop)
}

/// Resolves `cfg.transport` (`auto` included) to a concrete transport.
pub fn select_transport(cfg: &AssociationConfig) -> Selected {
    match cfg.transport {
        TransportChoice::Auto => {}
        other => {
            return Selected {
                transport: other,
                reason: "configured".into(),
            };
        }
    }
    match kernel_sctp_available() {
        Ok(()) if kernel::BACKEND_READY => Selected {
            transport: TransportChoice::Kernel,
            reason: "kernel SCTP available".into(),
        },
        Ok(()) => {
            // Userspace SCTP over raw IP would fight the kernel's own SCTP (it answers our packets with
            // ABORT), so UDP encapsulation is the userspace choice on such hosts.
            Selected {
                transport: TransportChoice::Udp,
                reason:
                    "kernel SCTP present but its backend is not enabled in this build; raw IP would clash"
                        .into(),
            }
        }
        Err(e) => {
            let first = cfg.local_ips.first().copied();
            match first.map(raw_ip_available) {
                Some(Ok(())) => Selected {
                    transport: TransportChoice::Raw,
                    reason: format!("no kernel SCTP ({e}); raw IP protocol 132 allowed"),
                },
                Some(Err(raw)) => Selected {
                    transport: TransportChoice::Udp,
                    reason: format!("no kernel SCTP ({e}); raw IP not allowed ({raw})"),
                },
                None => Selected {
                    transport: TransportChoice::Udp,
                    reason: "no local address".into(),
                },
            }
        }
    }
}

/// An opened transport.
pub(crate) enum Opened {
    /// Userspace SCTP over this packet path.
    Userspace(PacketIo, &'static str),
    /// The kernel's SCTP (the kernel backend opens its sockets itself).
    Kernel,
}

/// Opens the selected transport.
pub(crate) fn open(cfg: &AssociationConfig) -> Result<Opened, IpcError> {
    let sel = select_transport(cfg);
    tracing::debug!(target: "debug.ipc", "IPC: transport {} ({})", sel.transport, sel.reason);
    match sel.transport {
        TransportChoice::Raw => Ok(Opened::Userspace(PacketIo::raw(cfg)?, "raw")),
        TransportChoice::Udp | TransportChoice::Auto => Ok(Opened::Userspace(PacketIo::udp(cfg)?, "udp")),
        TransportChoice::Kernel => match kernel_sctp_available() {
            Ok(()) => Ok(Opened::Kernel),
            Err(e) => Err(IpcError::TransportUnavailable {
                transport: "kernel",
                reason: format!("the kernel has no SCTP: {e}"),
            }),
        },
    }
}
