//! The IOS command language: one declarative command tree drives config-file loading, `execute`, `?` help,
//! TAB completion, unique-prefix abbreviation, `no` forms, parent-mode fallback and output pipes.

mod actions;
mod actions_fw;
mod actions_track;
mod build;
mod build_acl;
mod build_track;
mod engine;
mod filter;
mod ifname;
mod load;
mod tree;

use serde::{Deserialize, Serialize};

use crate::config::Config;

pub use filter::{OutputFilter, Pattern};
pub use ifname::{canonical_interface, short_interface};
pub use load::{load_config, parse_config};

use build::Roots;
use tree::Tree;

/// The configuration/exec modes with their IOS prompts.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug, Hash)]
pub enum Mode {
    /// Privileged exec (`Router#`).
    Exec,
    /// Global configuration (`Router(config)#`).
    Config,
    /// `interface NAME` (`Router(config-if)#`), with the canonical interface name.
    Interface(String),
    /// `redundancy inter-device` (`Router(config-red-interdevice)#`).
    RedundancyInterDevice,
    /// `ipc zone default` (`Router(config-ipczone)#`).
    IpcZone,
    /// `association N` (`Router(config-ipczone-assoc)#`).
    IpcAssociation(u32),
    /// `protocol sctp` (`Router(config-ipc-protocol-sctp)#`).
    IpcProtocolSctp,
    /// `local-port P` (`Router(config-ipc-local-sctp)#`).
    IpcLocalSctp,
    /// `remote-port P` (`Router(config-ipc-remote-sctp)#`).
    IpcRemoteSctp,
    /// `ip access-list extended NAME` (`Router(config-ext-nacl)#`).
    ExtendedAcl(String),
    /// `track N ...` (`Router(config-track)#`), with the object number.
    Track(u16),
}

impl Mode {
    /// The prompt for this mode.
    pub fn prompt(&self, hostname: &str) -> String {
        let suffix = match self {
            Self::Exec => return format!("{hostname}#"),
            Self::Config => "config",
            Self::Interface(_) => "config-if",
            Self::RedundancyInterDevice => "config-red-interdevice",
            Self::IpcZone => "config-ipczone",
            Self::IpcAssociation(_) => "config-ipczone-assoc",
            Self::IpcProtocolSctp => "config-ipc-protocol-sctp",
            Self::IpcLocalSctp => "config-ipc-local-sctp",
            Self::IpcRemoteSctp => "config-ipc-remote-sctp",
            Self::ExtendedAcl(_) => "config-ext-nacl",
            Self::Track(_) => "config-track",
        };
        format!("{hostname}({suffix})#")
    }

    /// The mode `exit` returns to (None from exec).
    pub fn parent(&self) -> Option<Self> {
        Some(match self {
            Self::Exec => return None,
            Self::Config => Self::Exec,
            Self::Interface(_)
            | Self::RedundancyInterDevice
            | Self::IpcZone
            | Self::ExtendedAcl(_)
            | Self::Track(_) => Self::Config,
            Self::IpcAssociation(_) => Self::IpcZone,
            Self::IpcProtocolSctp => Self::IpcAssociation(1),
            Self::IpcLocalSctp | Self::IpcRemoteSctp => Self::IpcProtocolSctp,
        })
    }
}

/// A diagnostic of a loaded configuration file.
#[derive(Serialize, Clone, PartialEq, Eq, Debug)]
pub struct Diagnostic {
    /// File name as given to [`load_config`].
    pub file: String,
    /// 1-based line number (0 when the diagnostic concerns the whole file).
    pub line: usize,
    /// Fully rendered text, IOS style (may span several lines).
    pub text: String,
}

/// Result of loading a configuration file.
#[derive(Clone, Debug, Default)]
pub struct LoadReport {
    /// The configuration, when there are no errors.
    pub config: Option<Config>,
    /// Accepted-but-ignored lines and other remarks.
    pub warnings: Vec<Diagnostic>,
    /// Invalid lines and whole-config validation errors.
    pub errors: Vec<Diagnostic>,
}

/// One `?` help line.
#[derive(Serialize, Clone, PartialEq, Eq, Debug)]
pub struct HelpItem {
    /// `brief`, `<0-255>`, `WORD`, `A.B.C.D`, `<cr>`, ...
    pub token: String,
    /// What it means.
    pub help: String,
}

/// What a line does.
#[derive(Clone, PartialEq, Debug)]
#[allow(clippy::large_enum_variant)] // shape fixed by the cli contract; one per typed line
pub enum Outcome {
    /// Empty line or comment.
    Nothing,
    /// A mode change without a configuration change.
    ModeChange(Mode),
    /// A configuration command applied to a copy of the running configuration; the caller validates the
    /// candidate whole and commits or rejects it. `mode` is the mode after the command.
    Config {
        /// The changed copy.
        candidate: Config,
        /// Mode after the command.
        mode: Mode,
    },
    /// An exec command for the daemon to run.
    Exec(ExecCommand),
}

/// An exec command recognised by the tree.
#[derive(Serialize, Clone, PartialEq, Eq, Debug)]
pub struct ExecCommand {
    /// Canonical full keyword path (arguments left out), e.g. `show standby brief`.
    pub key: String,
    /// Argument values in order (interface names canonicalized).
    pub args: Vec<String>,
    /// `| include|exclude|begin|section TEXT`.
    pub filter: Option<OutputFilter>,
}

/// The kind of a line error.
#[derive(Serialize, Clone, PartialEq, Eq, Debug)]
pub enum LineErrorKind {
    /// `% Invalid input detected at '^' marker.`
    Invalid {
        /// Character column in the line of the offending token.
        column: usize,
        /// Why (not printed by IOS; for logs and file diagnostics).
        reason: Option<String>,
    },
    /// `% Ambiguous command:  "LINE"`.
    Ambiguous,
    /// `% Incomplete command.`
    Incomplete,
    /// `% Unrecognized command` (nothing matched at all, IOS prints this for exec words).
    Unrecognized,
}

/// An IOS error for one line.
#[derive(Serialize, Clone, PartialEq, Eq, Debug)]
pub struct LineError {
    /// What went wrong.
    pub kind: LineErrorKind,
}

impl LineError {
    /// The IOS text; `prompt_len` is the number of characters echoed before the line.
    pub fn render(&self, line: &str, prompt_len: usize) -> String {
        match &self.kind {
            LineErrorKind::Invalid { column, .. } => {
                format!(
                    "{}^\n% Invalid input detected at '^' marker.",
                    " ".repeat(prompt_len + column)
                )
            }
            LineErrorKind::Ambiguous => format!("% Ambiguous command:  \"{}\"", line.trim()),
            LineErrorKind::Incomplete => "% Incomplete command.".to_string(),
            LineErrorKind::Unrecognized => {
                format!(
                    "{}^\n% Invalid input detected at '^' marker.",
                    " ".repeat(prompt_len)
                )
            }
        }
    }
}

/// The command tree. Build once, share in an `Arc`.
#[derive(Debug)]
pub struct Interpreter {
    tree: Tree,
    roots: Roots,
}

impl Default for Interpreter {
    fn default() -> Self {
        Self::new()
    }
}

impl Interpreter {
    /// Builds the tree.
    pub fn new() -> Self {
        let (tree, roots) = build::build();
        Self { tree, roots }
    }

    /// Runs one line typed in `mode` against the running configuration.
    pub fn execute(&self, mode: &Mode, running: &Config, line: &str) -> Result<Outcome, LineError> {
        self.run(mode, running, line, None)
            .map(|ran| ran.outcome)
            .map_err(|e| e.error)
    }

    /// `?` help for the text before the `?`.
    pub fn help(&self, mode: &Mode, running: &Config, line: &str) -> Result<Vec<HelpItem>, LineError> {
        engine::help(self, mode, running, line)
    }

    /// Every exec key the tree can produce (sorted, deduplicated), e.g. for the daemon to check that each key
    /// has a handler. Arguments are not part of keys.
    pub fn exec_keys(&self) -> Vec<String> {
        engine::exec_keys(self)
    }

    /// TAB: the completed line when the last word has a unique completion.
    pub fn complete(&self, mode: &Mode, running: &Config, line: &str) -> Option<String> {
        engine::complete(self, mode, running, line)
    }
}
