//! The `iosha` binary: `daemon`, `exec`, `shell`, `check`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};

use cli::control::{self, Client, Op};
use cli::daemon::{self, DaemonCore, DaemonSettings, InterfaceMap};
use cli::logging::{self, DebugFlags, LogBuffer};

/// Exit status when a command failed or a configuration is invalid.
const EXIT_FAILED: u8 = 1;
/// Exit status when the daemon cannot be reached or answers nonsense.
const EXIT_NO_DAEMON: u8 = 3;

#[derive(Debug, Parser)]
#[command(
    name = "iosha",
    version,
    about = "IOS-style high availability (HSRP, SSO, stateful inspection) for Linux routers"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HA daemon on an IOS configuration file.
    Daemon(DaemonArgs),
    /// Run commands in one session of a running daemon (e.g. "conf t" "interface Ethernet0/0" "shutdown" "end").
    Exec(ExecArgs),
    /// Open the interactive IOS shell of a running daemon.
    Shell(ShellArgs),
    /// Check a configuration file, or two files meant to form an HA pair.
    Check(CheckArgs),
    /// Build the seed's two-router lab in network namespaces, fail the Active router and report (root).
    Lab(cli::lab::run::LabArgs),
}

#[derive(Debug, Args)]
struct ControlArg {
    /// Control socket of the daemon.
    #[arg(long, value_name = "SOCK", default_value = control::DEFAULT_SOCKET)]
    control: PathBuf,
}

#[derive(Debug, Args)]
struct DaemonArgs {
    /// The IOS configuration file (saved by `write memory`, reread on SIGHUP).
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    #[command(flatten)]
    control: ControlArg,
    /// Map an IOS interface name of the configuration to a Linux interface (repeatable).
    #[arg(long = "interface", value_name = "IOS=LINUX")]
    interfaces: Vec<String>,
    /// Serve the configuration and the shell only: start no HSRP, IPC, redundancy or inspect component
    /// (for tests of the control plane, and for checking a configuration on a machine it does not run on).
    #[arg(long)]
    no_components: bool,
}

#[derive(Debug, Args)]
struct ExecArgs {
    #[command(flatten)]
    control: ControlArg,
    /// Print the JSON document of show commands instead of their text.
    #[arg(long)]
    json: bool,
    /// Command lines, run in order in one session.
    #[arg(value_name = "COMMAND", required = true)]
    commands: Vec<String>,
}

#[derive(Debug, Args)]
struct ShellArgs {
    #[command(flatten)]
    control: ControlArg,
}

#[derive(Debug, Args)]
struct CheckArgs {
    /// The configuration file.
    file: PathBuf,
    /// The peer router's configuration file (checks that the two form a working pair).
    peer_file: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Daemon(args) => daemon_main(&args),
        Command::Exec(args) => exec_main(&args),
        Command::Shell(args) => match cli::shell::run(&args.control.control) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("iosha: {e}");
                ExitCode::from(EXIT_NO_DAEMON)
            }
        },
        Command::Lab(args) => cli::lab::run::main(&args),
        Command::Check(args) => {
            let mut paths: Vec<&Path> = vec![&args.file];
            if let Some(peer) = &args.peer_file {
                paths.push(peer);
            }
            let (text, ok) = cli::check::check_files(&paths);
            write_stdout(&text);
            if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(EXIT_FAILED)
            }
        }
    }
}

fn daemon_main(args: &DaemonArgs) -> ExitCode {
    let interfaces = match InterfaceMap::from_specs(&args.interfaces) {
        Ok(map) => map,
        Err(e) => {
            eprintln!("iosha: --interface: {e}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    let file_name = args.config.display().to_string();
    let text = match std::fs::read_to_string(&args.config) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("iosha: cannot read {file_name}: {e}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    let (loaded, warnings) = daemon::core::load_with_warnings(&text, &file_name);
    for w in &warnings {
        eprintln!("{w}");
    }
    let initial = match loaded {
        Ok(config) => config,
        Err(errors) => {
            for e in &errors {
                eprintln!("{e}");
            }
            eprintln!(
                "iosha: {file_name} is not a valid configuration ({} errors); not starting",
                errors.len()
            );
            return ExitCode::from(EXIT_FAILED);
        }
    };
    for name in interfaces.unmapped(&initial) {
        eprintln!(
            "iosha: warning: interface {name} is not a Linux interface name and has no mapping \
             (add --interface {name}=LINUX)"
        );
    }
    let flags = DebugFlags::new();
    let log = LogBuffer::default();
    if let Err(e) = logging::install(flags.clone(), log.clone(), true) {
        eprintln!("iosha: cannot install logging: {e}");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("iosha: cannot start the runtime: {e}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    let control = args.control.control.clone();
    let settings = DaemonSettings {
        config_path: args.config.clone(),
        control_path: control.clone(),
        interfaces,
        console_log: true,
    };
    let no_components = args.no_components;
    let result = runtime.block_on(async move {
        // Components (HSRP, IPC, SSO, inspect) are created here and handed to the core.
        let components: Vec<Box<dyn daemon::Component>> = if no_components {
            Vec::new()
        } else {
            cli::node::components(timebase::MonotonicClock::start())
        };
        let interpreter = Arc::new(cli::lang::Interpreter::new());
        let core = DaemonCore::new(settings, interpreter, initial, components, flags, log)
            .map_err(|e| format!("cannot start the components: {e}"))?;
        daemon::run(core, &control).await.map_err(|e| e.to_string())
    });
    // Open sessions and stuck blocking calls must not hold the exit.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("iosha: {e}");
            ExitCode::from(EXIT_FAILED)
        }
    }
}

fn exec_main(args: &ExecArgs) -> ExitCode {
    let mut client = match Client::connect(&args.control.control) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("iosha: {e}");
            return ExitCode::from(EXIT_NO_DAEMON);
        }
    };
    let mut prompt = match client.call(Op::Prompt, "", false) {
        Ok(r) => r.prompt,
        Err(e) => {
            eprintln!("iosha: {e}");
            return ExitCode::from(EXIT_NO_DAEMON);
        }
    };
    for command in &args.commands {
        let response = match client.call(Op::Exec, command, args.json) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("iosha: {e}");
                return ExitCode::from(EXIT_NO_DAEMON);
            }
        };
        if !response.ok {
            // Echo the line after its prompt so the caret of the error lands under the right token.
            eprintln!("{prompt}{command}");
            eprintln!("{}", response.output.trim_end_matches('\n'));
            return ExitCode::from(EXIT_FAILED);
        }
        match (&response.json, args.json) {
            (Some(doc), true) => {
                let text = serde_json::to_string_pretty(doc).unwrap_or_default();
                if !write_stdout(&format!("{text}\n")) {
                    return ExitCode::SUCCESS;
                }
            }
            _ => {
                if !response.output.is_empty() {
                    let text = response.output.trim_end_matches('\n');
                    if !write_stdout(&format!("{text}\n")) {
                        return ExitCode::SUCCESS;
                    }
                }
            }
        }
        prompt = response.prompt;
        if response.close {
            break;
        }
    }
    ExitCode::SUCCESS
}

/// Writes to stdout; false when stdout is gone (e.g. `iosha exec ... | head -1`), which is not an error.
fn write_stdout(text: &str) -> bool {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes()).and_then(|()| out.flush()).is_ok()
}
