//! Remarks about tracking objects that do not make a configuration invalid. IOS accepts `standby N track
//! OBJECT` for an object that is not defined (yet): the group simply sees it down until a `track OBJECT ...`
//! line defines it. iosha does the same and reports it as a warning (`iosha check`, file loading).

use super::{Config, Problem};

/// Warnings: groups tracking undefined objects, and objects no group uses.
pub fn track_warnings(cfg: &Config) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut used = Vec::new();
    for (iface, g) in cfg.standby_groups() {
        for o in g.tracks.iter().filter_map(|t| t.object) {
            used.push(o);
            if cfg.track_object(o).is_none() {
                let key = format!("interface {} standby {} track {o}", iface.name, g.group);
                out.push(Problem {
                    message: format!(
                        "{} standby {} tracks object {o}, which is not defined: the object counts as down",
                        iface.name, g.group
                    ),
                    lines: cfg.origins.line(&key).into_iter().collect(),
                    objects: vec![key],
                    pending: true,
                });
            }
        }
    }
    for t in &cfg.track_objects {
        if !used.contains(&t.number) {
            let key = format!("track {}", t.number);
            out.push(Problem {
                message: format!("track {} is not used by any standby group", t.number),
                lines: cfg.origins.line(&key).into_iter().collect(),
                objects: vec![key],
                pending: true,
            });
        }
    }
    out
}
