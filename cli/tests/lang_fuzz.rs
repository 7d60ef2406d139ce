//! Property: arbitrary text never panics the loader or the interpreter (execute, help, TAB) in any mode.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cli::config::{Config, render};
use cli::lang::{Interpreter, Mode, load_config, parse_config};
use proptest::prelude::*;

fn modes() -> Vec<Mode> {
    vec![
        Mode::Exec,
        Mode::Config,
        Mode::Interface("Ethernet0/0".into()),
        Mode::RedundancyInterDevice,
        Mode::IpcZone,
        Mode::IpcAssociation(1),
        Mode::IpcProtocolSctp,
        Mode::IpcLocalSctp,
        Mode::IpcRemoteSctp,
        Mode::ExtendedAcl("a".into()),
    ]
}

/// Words of the command language, so random lines get deep into the tree.
const WORDS: &[&str] = &[
    "standby",
    "1",
    "ip",
    "10.0.0.1",
    "255.255.255.0",
    "timers",
    "msec",
    "priority",
    "preempt",
    "delay",
    "minimum",
    "reload",
    "sync",
    "track",
    "e0/0",
    "decrement",
    "authentication",
    "md5",
    "key-string",
    "text",
    "name",
    "version",
    "2",
    "mac-address",
    "0000.0c07.ac01",
    "use-bia",
    "no",
    "show",
    "sh",
    "run",
    "|",
    "include",
    "inspect",
    "ha",
    "sessions",
    "redundancy",
    "stateful",
    "interface",
    "Ethernet",
    "0/0",
    "permit",
    "deny",
    "tcp",
    "any",
    "host",
    "eq",
    "range",
    "80",
    "remark",
    "local-port",
    "local-ip",
    "remote-port",
    "retransmit-timeout",
    "300",
    "ipc",
    "zone",
    "default",
    "association",
    "protocol",
    "sctp",
    "do",
    "exit",
    "end",
    "?",
    "!",
    "",
    "4096",
    "99999999999999999999",
    "é",
    "\t",
];

fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        proptest::collection::vec(proptest::sample::select(WORDS), 0..9).prop_map(|w| w.join(" ")),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn interpreter_never_panics(line in line(), mode_index in 0usize..10) {
        let interp = Interpreter::new();
        let mode = &modes()[mode_index];
        let cfg = Config::default();
        if let Err(e) = interp.execute(mode, &cfg, &line) {
            let _ = e.render(&line, 7);
        }
        let _ = interp.help(mode, &cfg, &line);
        let _ = interp.complete(mode, &cfg, &line);
    }

    #[test]
    fn loader_never_panics(lines in proptest::collection::vec(line(), 0..24)) {
        let text = lines.join("\n");
        let report = load_config(&text, "fuzz.cfg");
        if let Some(cfg) = report.config {
            let _ = render(&cfg);
        }
        // Whatever parses must survive render -> parse unchanged.
        if let Some(cfg) = parse_config(&text, "fuzz.cfg").config {
            let rendered = render(&cfg);
            let again = parse_config(&rendered, "rendered.cfg");
            prop_assert!(again.errors.is_empty(), "{:?}\n{}", again.errors, rendered);
            prop_assert_eq!(again.config, Some(cfg), "{}", rendered);
        }
    }
}

proptest! {
    /// Without special characters a filter pattern is a plain substring search.
    #[test]
    fn literal_patterns_are_substring_searches(pattern in "[a-z0-9 /]{0,4}", line in "[a-z0-9 /]{0,30}") {
        prop_assert_eq!(cli::lang::Pattern::new(&pattern).is_match(&line), line.contains(&pattern));
    }

    /// Any pattern over any line terminates without panicking.
    #[test]
    fn patterns_never_panic(pattern in any::<String>(), line in any::<String>()) {
        let _ = cli::lang::Pattern::new(&pattern).is_match(&line);
    }
}
