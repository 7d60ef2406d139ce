//! Kernel SCTP backend (placeholder while being written).

/// Whether the kernel backend can carry the association in this build.
pub const BACKEND_READY: bool = false;
