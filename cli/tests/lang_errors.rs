//! Golden tests of the IOS error texts (caret position with the prompt echoed before the line).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cli::config::Config;
use cli::lang::{Interpreter, Mode, load_config};

fn shown(mode: &Mode, line: &str) -> String {
    let prompt = mode.prompt("Router");
    let error = Interpreter::new()
        .execute(mode, &Config::default(), line)
        .expect_err(line);
    format!("{prompt}{line}\n{}", error.render(line, prompt.chars().count()))
}

#[test]
fn invalid_input_caret_under_the_token() {
    assert_eq!(
        shown(&Mode::Interface("Ethernet0/0".into()), "standby 1 timers 0 10"),
        "Router(config-if)#standby 1 timers 0 10\n                                   ^\n% Invalid input detected at '^' marker."
    );
    assert_eq!(
        shown(&Mode::Exec, "show standy"),
        "Router#show standy\n            ^\n% Invalid input detected at '^' marker."
    );
    assert_eq!(
        shown(&Mode::Config, "ip inspect redundancy update seconds 61"),
        "Router(config)#ip inspect redundancy update seconds 61\n                                                    ^\n% Invalid input detected at '^' marker."
    );
    assert_eq!(
        shown(&Mode::IpcLocalSctp, "retransmit-timeout 200 600"),
        "Router(config-ipc-local-sctp)#retransmit-timeout 200 600\n                                                 ^\n% Invalid input detected at '^' marker."
    );
}

#[test]
fn ambiguous_and_incomplete_texts() {
    assert_eq!(
        shown(&Mode::Exec, "sh s"),
        "Router#sh s\n% Ambiguous command:  \"sh s\""
    );
    assert_eq!(
        shown(&Mode::Exec, "show ip inspect ha"),
        "Router#show ip inspect ha\n% Incomplete command."
    );
    assert_eq!(
        shown(&Mode::Interface("e".into()), "standby 1 track"),
        "Router(config-if)#standby 1 track\n% Incomplete command."
    );
}

#[test]
fn file_errors_carry_file_line_and_caret() {
    let report = load_config(
        "hostname r1\ninterface Ethernet0/0\nstandby 1 timers 0 10\n",
        "r1.cfg",
    );
    assert_eq!(report.errors.len(), 1);
    let text = &report.errors[0].text;
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("r1.cfg:3: standby 1 timers 0 10"));
    assert_eq!(lines.next(), Some("                           ^"));
    assert_eq!(lines.next(), Some("% Invalid input detected at '^' marker."));
    let report = load_config("interface Ethernet0/0\n standby 1 priority 256\n", "r1.cfg");
    assert!(
        report.errors[0]
            .text
            .starts_with("r1.cfg:2:  standby 1 priority 256\n                              ^\n")
    );
    let report = load_config("interface e0/0\n standby 1 priority\n", "r1.cfg");
    assert_eq!(
        report.errors[0].text,
        "r1.cfg:2: standby 1 priority\n% Incomplete command."
    );
}
