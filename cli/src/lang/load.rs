//! Loading a configuration file: every line through the command tree, then whole-config validation.

use std::sync::OnceLock;

use super::{Diagnostic, Interpreter, LineErrorKind, LoadReport, Mode, Outcome};
use crate::config::{Config, track_warnings, validate};

fn interpreter() -> &'static Interpreter {
    static TREE: OnceLock<Interpreter> = OnceLock::new();
    TREE.get_or_init(Interpreter::new)
}

/// Loads an IOS configuration text. Lines iosha does not implement are warnings; a supported command with a bad
/// value is an error with file, line and caret; whole-config problems are errors naming the lines involved.
pub fn load_config(text: &str, file_name: &str) -> LoadReport {
    let mut report = parse_config(text, file_name);
    let Some(cfg) = report.config.take() else {
        return report;
    };
    for problem in validate(&cfg) {
        let where_ = if problem.lines.is_empty() {
            file_name.to_string()
        } else {
            let lines: Vec<String> = problem.lines.iter().map(usize::to_string).collect();
            format!("{file_name}:{}", lines.join(","))
        };
        report.errors.push(Diagnostic {
            file: file_name.to_string(),
            line: problem.lines.first().copied().unwrap_or(0),
            text: format!("{where_}: {}", problem.message),
        });
    }
    for problem in track_warnings(&cfg) {
        report.warnings.push(Diagnostic {
            file: file_name.to_string(),
            line: problem.lines.first().copied().unwrap_or(0),
            text: match problem.lines.first() {
                Some(line) => format!("{file_name}:{line}: {}", problem.message),
                None => format!("{file_name}: {}", problem.message),
            },
        });
    }
    if report.errors.is_empty() {
        report.config = Some(cfg);
    }
    report
}

/// Parses an IOS configuration text line by line without the whole-config validation: `config` is the
/// result whenever no line is in error (used by `load_config`, tests and tools that inspect invalid configs).
pub fn parse_config(text: &str, file_name: &str) -> LoadReport {
    let interp = interpreter();
    let mut report = LoadReport::default();
    let mut cfg = Config::default();
    let mut mode = Mode::Config;
    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        let line = raw.trim_end_matches('\r');
        let line = if index == 0 {
            line.trim_start_matches('\u{feff}')
        } else {
            line
        };
        let head = format!("{file_name}:{number}: ");
        let diag = |text: String| Diagnostic {
            file: file_name.to_string(),
            line: number,
            text,
        };
        match interp.run(&mode, &cfg, line, Some(number)) {
            Ok(ran) => {
                for warning in ran.warnings {
                    report
                        .warnings
                        .push(diag(format!("{head}{}\n% {warning}", line.trim())));
                }
                match ran.outcome {
                    Outcome::Nothing => {}
                    Outcome::ModeChange(m) => mode = if m == Mode::Exec { Mode::Config } else { m },
                    Outcome::Config { candidate, mode: m } => {
                        cfg = candidate;
                        mode = if m == Mode::Exec { Mode::Config } else { m };
                    }
                    Outcome::Exec(cmd) => report.warnings.push(diag(format!(
                        "{head}{}\n% exec command `{}` ignored in a configuration file",
                        line.trim(),
                        cmd.key
                    ))),
                }
            }
            Err(e) if e.foreign => report.warnings.push(diag(format!(
                "{head}{}\n% not an iosha command: accepted and ignored",
                line.trim()
            ))),
            Err(e) => {
                let mut text = match e.error.kind {
                    LineErrorKind::Invalid { .. } | LineErrorKind::Unrecognized => {
                        format!("{head}{line}\n{}", e.error.render(line, head.chars().count()))
                    }
                    _ => format!("{head}{}\n{}", line.trim(), e.error.render(line.trim(), 0)),
                };
                if let Some(reason) = e.reason {
                    text.push_str(&format!("\n  ({reason})"));
                }
                report.errors.push(diag(text));
            }
        }
    }
    if report.errors.is_empty() {
        report.config = Some(cfg);
    }
    report
}
