//! Tracking objects in the command language: `track N interface IF line-protocol` with `config-track`
//! (`delay up/down`), `no track N`, `standby [N] track OBJECT [decrement D | shutdown]` beside the older
//! interface form, `show track`, `debug track`, IOS errors with the caret, and the running-config round trip.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cli::config::{Config, Track, TrackObject, render};
use cli::lang::{Interpreter, LineErrorKind, Mode, Outcome, load_config};

fn session(lines: &[&str]) -> (Config, Mode) {
    let i = Interpreter::new();
    let mut cfg = Config::default();
    let mut mode = Mode::Config;
    for line in lines {
        match i.execute(&mode, &cfg, line) {
            Ok(Outcome::Config { candidate, mode: m }) => {
                cfg = candidate;
                mode = m;
            }
            Ok(Outcome::ModeChange(m)) => mode = m,
            Ok(Outcome::Nothing) => {}
            other => panic!("{line}: {other:?}"),
        }
    }
    (cfg, mode)
}

fn shown(mode: &Mode, cfg: &Config, line: &str) -> String {
    let prompt = mode.prompt("Router");
    let error = Interpreter::new().execute(mode, cfg, line).expect_err(line);
    format!("{prompt}{line}\n{}", error.render(line, prompt.chars().count()))
}

/// The IOS text of an invalid token at byte `column` of `line` (the caret under it, after the prompt).
fn invalid_at(mode: &Mode, line: &str, column: usize) -> String {
    let prompt = mode.prompt("Router");
    let pad = " ".repeat(prompt.len() + column);
    format!("{prompt}{line}\n{pad}^\n% Invalid input detected at '^' marker.")
}

fn help(mode: &Mode, cfg: &Config, line: &str) -> Vec<String> {
    Interpreter::new()
        .help(mode, cfg, line)
        .unwrap()
        .into_iter()
        .map(|h| h.token)
        .collect()
}

fn if_mode() -> Mode {
    Mode::Interface("Ethernet0/0".into())
}

#[test]
fn track_object_enters_config_track_and_takes_delays() {
    let (cfg, mode) = session(&["track 1 interface e1/0 line-protocol"]);
    assert_eq!(mode, Mode::Track(1));
    assert_eq!(mode.prompt("R1"), "R1(config-track)#");
    assert_eq!(mode.parent(), Some(Mode::Config));
    assert_eq!(
        cfg.track_objects,
        vec![TrackObject {
            number: 1,
            interface: "Ethernet1/0".into(),
            delay_up: None,
            delay_down: None
        }]
    );
    let (cfg, _) = session(&[
        "track 1 interface Ethernet 1/0 line-protocol",
        "delay down 5 up 10",
        "exit",
        "track 1000 interface eth2 line-protocol",
        "delay up 0",
    ]);
    assert_eq!(
        cfg.track_object(1).map(|t| (t.delay_up, t.delay_down)),
        Some((Some(10), Some(5)))
    );
    assert_eq!(
        cfg.track_object(1000).map(|t| (t.interface.as_str(), t.delay_up)),
        Some(("eth2", Some(0)))
    );
    // Re-entering an existing object by number alone; `no delay` clears both; parent-mode commands work.
    let (cfg, mode) = session(&[
        "track 1 interface e1/0 line-protocol",
        "delay up 30 down 30",
        "exit",
        "track 1",
        "no delay",
        "interface Ethernet0/0",
    ]);
    assert_eq!(mode, if_mode());
    assert_eq!(
        cfg.track_object(1).map(|t| (t.delay_up, t.delay_down)),
        Some((None, None))
    );
    // `no track N` removes the object.
    let (cfg, _) = session(&["track 2 interface e1/0 line-protocol", "exit", "no track 2"]);
    assert!(cfg.track_objects.is_empty());
}

#[test]
fn track_errors_and_ranges() {
    let cfg = Config::default();
    assert_eq!(
        shown(&Mode::Config, &cfg, "track 1001 interface e1/0 line-protocol"),
        invalid_at(&Mode::Config, "track 1001 interface e1/0 line-protocol", 6)
    );
    assert_eq!(
        shown(&Mode::Config, &cfg, "track 0 interface e1/0 line-protocol"),
        invalid_at(&Mode::Config, "track 0 interface e1/0 line-protocol", 6)
    );
    assert_eq!(
        shown(&Mode::Config, &cfg, "track 1 interface e1/0"),
        "Router(config)#track 1 interface e1/0\n% Incomplete command."
    );
    assert_eq!(
        shown(&Mode::Track(1), &cfg, "delay up 181"),
        invalid_at(&Mode::Track(1), "delay up 181", 9)
    );
    // An undefined object cannot be entered without its type.
    let e = Interpreter::new()
        .execute(&Mode::Config, &cfg, "track 7")
        .expect_err("undefined");
    assert!(
        matches!(e.kind, LineErrorKind::Invalid { column: 6, .. }),
        "{e:?}"
    );
    assert_eq!(help(&Mode::Config, &cfg, "track "), ["<1-1000>"]);
    assert_eq!(help(&Mode::Config, &cfg, "track 1 "), ["interface", "<cr>"]);
    assert_eq!(
        help(&Mode::Config, &cfg, "track 1 interface e1/0 "),
        ["NUMBER", "line-protocol"]
    );
    assert_eq!(help(&Mode::Track(1), &cfg, "delay "), ["down", "up"]);
    assert_eq!(help(&Mode::Track(1), &cfg, "delay up "), ["<0-180>"]);
    assert_eq!(help(&Mode::Track(1), &cfg, "delay up 5 "), ["down", "<cr>"]);
}

#[test]
fn standby_track_objects_and_interfaces_side_by_side() {
    let (cfg, _) = session(&[
        "interface Ethernet0/0",
        "standby 1 track 1 decrement 20",
        "standby 1 track 2 shutdown",
        "standby 1 track 3",
        "standby 1 track Serial0",
        "standby 1 track e1/0 decrement 15",
        "standby track 4",
    ]);
    let iface = cfg.interface("Ethernet0/0").unwrap();
    let g1 = iface.standby.groups.iter().find(|g| g.group == 1).unwrap();
    let obj = |o: u16, d: u8, s: bool| Track {
        interface: String::new(),
        object: Some(o),
        decrement: d,
        shutdown: s,
    };
    let ifc = |n: &str, d: u8| Track {
        interface: n.into(),
        object: None,
        decrement: d,
        shutdown: false,
    };
    assert_eq!(
        g1.tracks,
        vec![
            obj(1, 20, false),
            obj(2, 10, true),
            obj(3, 10, false),
            ifc("Serial0", 10),
            ifc("Ethernet1/0", 15)
        ]
    );
    let g0 = iface.standby.groups.iter().find(|g| g.group == 0).unwrap();
    assert_eq!(g0.tracks, vec![obj(4, 10, false)]);
    // Changing an object's option replaces it; `no` removes one object or all.
    let (cfg, _) = session(&[
        "interface Ethernet0/0",
        "standby 1 track 1 decrement 20",
        "standby 1 track 1 shutdown",
        "standby 1 track 5",
        "standby 1 track Serial0",
        "no standby 1 track 5",
    ]);
    let g = &cfg.interface("Ethernet0/0").unwrap().standby.groups[0];
    assert_eq!(g.tracks, vec![obj(1, 10, true), ifc("Serial0", 10)]);
    let (cfg, _) = session(&[
        "interface Ethernet0/0",
        "standby 1 track 1",
        "standby 1 track Serial0",
        "no standby 1 track",
    ]);
    assert!(
        cfg.interface("Ethernet0/0").unwrap().standby.groups[0]
            .tracks
            .is_empty()
    );
}

#[test]
fn standby_track_help_and_errors() {
    let cfg = Config::default();
    assert_eq!(
        help(&if_mode(), &cfg, "standby 1 track "),
        ["<1-1000>", "INTERFACE"]
    );
    assert_eq!(
        help(&if_mode(), &cfg, "standby 1 track 1 "),
        ["decrement", "shutdown", "<cr>"]
    );
    assert_eq!(
        help(&if_mode(), &cfg, "standby 1 track 1 decrement "),
        ["<1-255>"]
    );
    assert_eq!(
        shown(&if_mode(), &cfg, "standby 1 track 1001"),
        invalid_at(&if_mode(), "standby 1 track 1001", 16)
    );
    assert_eq!(
        shown(&if_mode(), &cfg, "standby 1 track 1 decrement 0"),
        invalid_at(&if_mode(), "standby 1 track 1 decrement 0", 28)
    );
    // `shutdown` belongs to objects only, and it does not combine with a decrement.
    assert_eq!(
        shown(&if_mode(), &cfg, "standby 1 track e1/0 shutdown"),
        invalid_at(&if_mode(), "standby 1 track e1/0 shutdown", 21)
    );
    assert_eq!(
        shown(&if_mode(), &cfg, "standby 1 track 1 decrement 20 shutdown"),
        invalid_at(&if_mode(), "standby 1 track 1 decrement 20 shutdown", 31)
    );
}

#[test]
fn exec_show_and_debug_track() {
    let i = Interpreter::new();
    let cfg = Config::default();
    let exec = |line: &str| match i.execute(&Mode::Exec, &cfg, line) {
        Ok(Outcome::Exec(cmd)) => (cmd.key, cmd.args),
        other => panic!("{line}: {other:?}"),
    };
    assert_eq!(exec("show track"), ("show track".to_string(), vec![]));
    assert_eq!(exec("sh track brief"), ("show track brief".to_string(), vec![]));
    assert_eq!(
        exec("show track 12"),
        ("show track".to_string(), vec!["12".to_string()])
    );
    assert_eq!(
        exec("show track 12 brief"),
        ("show track brief".to_string(), vec!["12".to_string()])
    );
    assert_eq!(exec("debug track").0, "debug track");
    assert_eq!(exec("no debug track").0, "no debug track");
    assert_eq!(
        help(&Mode::Exec, &cfg, "show track "),
        ["<1-1000>", "brief", "<cr>", "|"]
    );
}

const CONFIG: &str = "\
hostname r1
!
track 1 interface Ethernet1/0 line-protocol
 delay up 10 down 2
!
track 2 interface Ethernet2/0 line-protocol
!
interface Ethernet0/0
 ip address 10.0.0.1 255.255.255.0
 standby 1 ip 10.0.0.3
 standby 1 preempt
 standby 1 track 1 decrement 20
 standby 1 track 2 shutdown
 standby 1 track Serial0 decrement 5
!
end
";

#[test]
fn running_config_round_trip() {
    let report = load_config(CONFIG, "r1.cfg");
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let cfg = report.config.unwrap();
    let text = render(&cfg);
    for line in [
        "track 1 interface Ethernet1/0 line-protocol\n delay up 10 down 2\n!\n",
        "track 2 interface Ethernet2/0 line-protocol\n!\n",
        " standby 1 track 1 decrement 20\n",
        " standby 1 track 2 shutdown\n",
        " standby 1 track Serial0 decrement 5\n",
    ] {
        assert!(text.contains(line), "{line:?} in\n{text}");
    }
    let again = load_config(&text, "again.cfg");
    assert!(again.errors.is_empty(), "{:?}", again.errors);
    assert_eq!(again.config.unwrap(), cfg);
    // JSON of the model.
    let json = serde_json::to_value(&cfg).unwrap();
    assert_eq!(
        json["track_objects"][0],
        serde_json::json!({"number": 1, "interface": "Ethernet1/0", "delay_up": 10, "delay_down": 2})
    );
    let tracks = &json["interfaces"][0]["standby"]["groups"][0]["tracks"];
    assert_eq!(
        tracks[1],
        serde_json::json!({"interface": "", "object": 2, "decrement": 10, "shutdown": true})
    );
    assert_eq!(
        tracks[2],
        serde_json::json!({"interface": "Serial0", "decrement": 5})
    );
}

#[test]
fn undefined_objects_are_accepted_with_a_warning() {
    let text = "interface Ethernet0/0\n ip address 10.0.0.1 255.255.255.0\n standby 1 ip 10.0.0.3\n standby 1 track 9 decrement 20\n!\ntrack 4 interface e2/0 line-protocol\n";
    let report = load_config(text, "r.cfg");
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert!(report.config.is_some());
    let texts: Vec<&str> = report.warnings.iter().map(|w| w.text.as_str()).collect();
    assert!(
        texts.contains(
            &"r.cfg:4: Ethernet0/0 standby 1 tracks object 9, which is not defined: the object counts as down"
        ),
        "{texts:?}"
    );
    assert!(
        texts.contains(&"r.cfg:6: track 4 is not used by any standby group"),
        "{texts:?}"
    );
    // Defined later in the file: no warning.
    let text = "interface Ethernet0/0\n standby 1 ip 10.0.0.3\n standby 1 track 9\n!\ntrack 9 interface e2/0 line-protocol\n";
    let report = load_config(text, "r.cfg");
    assert!(
        report.warnings.iter().all(|w| !w.text.contains("not defined")),
        "{:?}",
        report.warnings
    );
}
