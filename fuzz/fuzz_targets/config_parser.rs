//! Fuzzes the IOS command language: arbitrary bytes (lossy UTF-8) as a configuration file through
//! `load_config` / `parse_config`, and every line through `Interpreter::execute`, `help` and `complete` in a
//! mode picked by the first byte, and the first line as an output-filter pattern over the rest. No input
//! may panic; any configuration that parses must survive render → parse unchanged.
#![no_main]

use std::sync::OnceLock;

use cli::config::{Config, render};
use cli::lang::{Interpreter, Mode, OutputFilter, load_config, parse_config};
use libfuzzer_sys::fuzz_target;

fn interpreter() -> &'static Interpreter {
    static TREE: OnceLock<Interpreter> = OnceLock::new();
    TREE.get_or_init(Interpreter::new)
}

fn mode(selector: u8) -> Mode {
    match selector % 10 {
        0 => Mode::Exec,
        1 => Mode::Config,
        2 => Mode::Interface("Ethernet0/0".into()),
        3 => Mode::RedundancyInterDevice,
        4 => Mode::IpcZone,
        5 => Mode::IpcAssociation(1),
        6 => Mode::IpcProtocolSctp,
        7 => Mode::IpcLocalSctp,
        8 => Mode::IpcRemoteSctp,
        _ => Mode::ExtendedAcl("fuzz".into()),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);

    let _ = load_config(&text, "fuzz.cfg");
    let report = parse_config(&text, "fuzz.cfg");
    if let Some(cfg) = report.config {
        let rendered = render(&cfg);
        let again = parse_config(&rendered, "rendered.cfg");
        assert!(
            again.errors.is_empty(),
            "rendered config does not parse: {:?}\n{rendered}",
            again.errors
        );
        assert_eq!(
            again.config.as_ref(),
            Some(&cfg),
            "render/parse changed the config:\n{rendered}"
        );
    }

    let interp = interpreter();
    let running = Config::default();
    let mode = mode(selector);
    for line in text.lines().take(64) {
        if let Err(e) = interp.execute(&mode, &running, line) {
            let _ = e.render(line, 17);
        }
        let _ = interp.help(&mode, &running, line);
        let _ = interp.complete(&mode, &running, line);
    }

    if let Some((pattern, rest)) = text.split_once('\n') {
        for filter in [
            OutputFilter::Include(pattern.to_string()),
            OutputFilter::Section(pattern.to_string()),
        ] {
            let _ = filter.apply(rest);
        }
    }
});
