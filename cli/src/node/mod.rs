//! The HA node: the daemon's components (HSRP, IPC, redundancy, inspect) composed from the cores and
//! drivers, and the orchestration that wires their events together.
//!
//! * [`mapping`]: pure mapping of the running configuration onto each core's and driver's configuration.
//! * [`runtime::Node`]: one tokio task owning the HSRP driver, the IPC association and the SSO manager; it
//!   routes HSRP state changes, association events and peer messages, executes the manager's actions and
//!   drives its timer.
//! * [`ha`]: the `iosha-ha` thread owning the NFQUEUE data plane and the HA sync; store operations run on
//!   the data-plane worker that owns the engine.
//! * [`components`]: create the four daemon components; each is a thin proxy to the node task.

pub mod ha;
pub mod mapping;
pub mod runtime;

use tokio::sync::{mpsc, oneshot};

use crate::config::Config;
use crate::daemon::{Component, ExecContext, ExecOutput, InterfaceMap};
use crate::lang::ExecCommand;
use runtime::{Node, NodeMsg};

/// The four parts of the node, one daemon component each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// HSRP (`show standby ...`).
    Hsrp,
    /// The IPC association (`show sctp ...`).
    Ipc,
    /// The redundancy manager (`show redundancy ...`, `redundancy force-switchover`).
    Redundancy,
    /// Inspection and HA sync (`show ip inspect ...`, `show ip access-lists`, `clear ...`).
    Inspect,
}

impl Part {
    fn name(self) -> &'static str {
        match self {
            Self::Hsrp => "HSRP",
            Self::Ipc => "IPC",
            Self::Redundancy => "Redundancy",
            Self::Inspect => "Inspect",
        }
    }

    fn handles(self, key: &str) -> bool {
        match self {
            Self::Hsrp => key.starts_with("show standby") || key.starts_with("show track"),
            Self::Ipc => key.starts_with("show sctp"),
            Self::Redundancy => key.starts_with("show redundancy") || key == "redundancy force-switchover",
            Self::Inspect => {
                key.starts_with("show ip inspect")
                    || key.starts_with("show ip access-lists")
                    || key.starts_with("clear ip inspect")
                    || key.starts_with("clear ip access-list")
            }
        }
    }
}

/// Waits for a reply of the node task from synchronous daemon code (on a multi-threaded runtime).
fn wait<T>(rx: oneshot::Receiver<T>) -> Option<T> {
    if tokio::runtime::Handle::try_current().is_ok() {
        tokio::task::block_in_place(|| rx.blocking_recv().ok())
    } else {
        rx.blocking_recv().ok()
    }
}

/// One daemon component: a proxy to the node task.
struct NodeComponent {
    part: Part,
    tx: mpsc::UnboundedSender<NodeMsg>,
}

impl Component for NodeComponent {
    fn name(&self) -> &'static str {
        self.part.name()
    }

    fn handles(&self, key: &str) -> bool {
        self.part.handles(key)
    }

    fn exec(&mut self, _ctx: &ExecContext<'_>, cmd: &ExecCommand) -> ExecOutput {
        let (reply, rx) = oneshot::channel();
        let msg = NodeMsg::Exec {
            part: self.part,
            key: cmd.key.clone(),
            args: cmd.args.clone(),
            reply,
        };
        if self.tx.send(msg).is_err() {
            return ExecOutput::error(format!("% {} is not running", self.part.name()));
        }
        wait(rx).unwrap_or_else(|| ExecOutput::error(format!("% {} is not running", self.part.name())))
    }

    fn apply(&mut self, interfaces: &InterfaceMap, _old: &Config, new: &Config) -> Result<(), String> {
        let (reply, rx) = oneshot::channel();
        let msg = NodeMsg::Apply {
            part: self.part,
            interfaces: interfaces.clone(),
            new: Box::new(new.clone()),
            reply,
        };
        self.tx
            .send(msg)
            .map_err(|_| format!("{} is not running", self.part.name()))?;
        wait(rx).unwrap_or_else(|| Err(format!("{} stopped", self.part.name())))
    }

    fn shutdown(&mut self) {
        let (reply, rx) = oneshot::channel();
        if self
            .tx
            .send(NodeMsg::Shutdown {
                part: self.part,
                reply,
            })
            .is_ok()
        {
            let _ = wait(rx);
        }
    }
}

/// Starts the node task on the current tokio runtime and returns the daemon components, in the order the
/// daemon must apply them: HSRP first (so the redundancy manager's preemption hold reaches running groups),
/// then IPC, inspect (the HA client must exist before the manager hands it a role or a bulk sync), and
/// the redundancy manager.
pub fn components(clock: timebase::MonotonicClock) -> Vec<Box<dyn Component>> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(Node::new(clock).run(rx));
    [Part::Hsrp, Part::Ipc, Part::Inspect, Part::Redundancy]
        .into_iter()
        .map(|part| Box::new(NodeComponent { part, tx: tx.clone() }) as Box<dyn Component>)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::Part;

    const PARTS: [Part; 4] = [Part::Hsrp, Part::Ipc, Part::Inspect, Part::Redundancy];

    /// Every exec key of the command tree that is not a daemon built-in has exactly one node component.
    #[test]
    fn every_component_key_of_the_tree_has_one_handler() {
        let builtin = |k: &str| {
            [
                "show running-config",
                "show logging",
                "show version",
                "show debugging",
                "write",
                "copy",
                "debug",
                "undebug",
                "no debug",
                "configure",
                "end",
                "exit",
                "enable",
                "disable",
                "terminal",
            ]
            .iter()
            .any(|b| k == *b || k.starts_with(&format!("{b} ")))
        };
        let keys = crate::lang::Interpreter::new().exec_keys();
        let mut checked = 0;
        let mut wrong = Vec::new();
        for key in keys.iter().filter(|k| !builtin(k)) {
            let handlers: Vec<&str> = PARTS
                .iter()
                .filter(|p| p.handles(key))
                .map(|p| p.name())
                .collect();
            if handlers.len() != 1 {
                wrong.push(format!("{key:?} -> {handlers:?}"));
            }
            checked += 1;
        }
        assert!(
            wrong.is_empty(),
            "exec keys without exactly one handler: {wrong:#?}"
        );
        assert!(
            checked >= 15,
            "the tree lists the show/clear commands ({checked} checked)"
        );
        for key in [
            "show standby brief",
            "show sctp statistics",
            "show redundancy states",
            "clear ip inspect ha sessions-all",
        ] {
            assert!(keys.iter().any(|k| k == key), "{key} is in the tree");
        }
    }
}
