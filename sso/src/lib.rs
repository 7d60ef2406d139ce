//! SSO: the redundancy manager of an inter-device HA pair (IOS `redundancy inter-device`).
//!
//! Contract: sans-IO and deterministic. The manager follows the HSRP group named by the scheme, runs the
//! RF state progression with the peer over messages it hands to the caller, and orchestrates its clients'
//! bulk synchronization. Time is passed in; outputs are drained with `poll_action()`.
