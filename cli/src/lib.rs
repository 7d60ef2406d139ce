//! cli: the IOS command language of iosha and the composition root of the daemon.
//!
//! One command tree drives the config-file parser, the interactive shell (`?`, TAB, abbreviations, modes,
//! `no` forms) and `show running-config`. The configuration model is plain data validated as a whole
//! candidate before it is applied.
