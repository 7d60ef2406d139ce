//! Tracking-object actions: global `track N interface IF line-protocol` (entering `config-track`), its
//! `delay up S down S`, `no track N`, and `standby [N] track {OBJECT [decrement D | shutdown] | IF [decrement D]}`.

use super::Mode;
use super::actions::{R, changed, enter};
use super::build::{Apply, Next};
use crate::config::{Track, TrackObject, defaults};

/// `track N interface IF line-protocol`, `track N` (enter an existing object), `no track N`.
pub(crate) fn track_object(ap: &mut Apply<'_>) -> R {
    let Some(number) = ap.num::<u16>("track_number") else {
        return changed();
    };
    if ap.negated {
        ap.cfg.track_objects.retain(|t| t.number != number);
        return changed();
    }
    let interface = ap.interface_arg("track_iface");
    let objects = &mut ap.cfg.track_objects;
    match (objects.iter_mut().find(|t| t.number == number), interface) {
        // Retyping an existing object with another interface follows the new one (same object type).
        (Some(existing), Some(name)) => existing.interface = name,
        (None, Some(name)) => objects.push(TrackObject {
            number,
            interface: name,
            delay_up: None,
            delay_down: None,
        }),
        (Some(_), None) => {}
        (None, None) => {
            return Err(ap.err(
                "track_number",
                format!("track {number} is not defined: give its type (interface NAME line-protocol)"),
            ));
        }
    }
    ap.note(format!("track {number}"));
    enter(Mode::Track(number))
}

/// `delay up S [down S]`, `delay down S [up S]`, `no delay` in `config-track`.
pub(crate) fn track_delay(ap: &mut Apply<'_>) -> R {
    let Mode::Track(number) = *ap.mode else {
        return Ok(Next::default());
    };
    let (up, down) = if ap.negated {
        (None, None)
    } else {
        (ap.num::<u32>("delay_up"), ap.num::<u32>("delay_down"))
    };
    if let Some(t) = ap.cfg.track_objects.iter_mut().find(|t| t.number == number) {
        t.delay_up = up;
        t.delay_down = down;
    }
    changed()
}

/// `standby [N] track {OBJECT | IF} ...` and its `no` forms. A token that starts with a digit is an object
/// number, one that starts with a letter an interface name (the older form).
pub(crate) fn standby_track(ap: &mut Apply<'_>) -> R {
    let number = ap.group()?;
    let object = ap.num::<u16>("track_object");
    let interface = ap.interface_arg("track_if");
    let shutdown = ap.has("shutdown") && object.is_some();
    let decrement = ap.num("decrement").unwrap_or(defaults::TRACK_DECREMENT);
    let negated = ap.negated;
    if let (Some(o), false) = (object, negated) {
        let key = format!("interface {} standby {number} track {o}", ap.iface_name());
        ap.note(key);
    }
    let group = ap.group_mut(number);
    let same = |t: &Track| match object {
        Some(o) => t.object == Some(o),
        None => t.object.is_none() && Some(&t.interface) == interface.as_ref(),
    };
    if negated {
        if object.is_none() && interface.is_none() {
            group.tracks.clear();
        } else {
            group.tracks.retain(|t| !same(t));
        }
        return changed();
    }
    if object.is_none() && interface.is_none() {
        return changed();
    }
    match group.tracks.iter_mut().find(|t| same(t)) {
        Some(track) => {
            track.decrement = decrement;
            track.shutdown = shutdown;
        }
        None => group.tracks.push(Track {
            interface: interface.unwrap_or_default(),
            object,
            decrement,
            shutdown,
        }),
    }
    changed()
}
