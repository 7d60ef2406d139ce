//! cli: the IOS command language of iosha and the composition root of the daemon.
//!
//! One command tree drives the config-file parser, the interactive shell (`?`, TAB, abbreviations, modes,
//! `no` forms) and `show running-config`. The configuration model is plain data validated as a whole
//! candidate before it is applied.

// Language and configuration (command tree, model, validation, rendering, pair check).
pub mod check;
pub mod config;
pub mod lang;

// Operator interface of the daemon (control socket, shell, logging, the daemon itself).
pub mod control;
pub mod daemon;
pub mod lab;
pub mod logging;
pub mod node;
pub mod shell;
