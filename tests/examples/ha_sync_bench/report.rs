//! The figures the Active's thread collects and the report printed at the end.

use std::time::Duration as StdDuration;

use crate::load::{DynResult, PeriodicResult};
use crate::{PERIOD_S, SESSIONS};

/// Everything the Active's thread measured.
#[derive(Default)]
pub(crate) struct Figures {
    /// The bulk: request to `BulkComplete`, its ok, sessions announced, sessions the standby holds.
    pub(crate) bulk: Option<(StdDuration, bool, u64, u64)>,
    /// CPU during the bulk: Active sync thread, Active IPC driver, standby sync thread, standby IPC driver.
    pub(crate) bulk_cpu: [StdDuration; 4],
    /// Bytes the Active's veth sent during the bulk (frames).
    pub(crate) bulk_wire_bytes: u64,
    /// IPC payload bytes the Active sent during the bulk.
    pub(crate) bulk_payload_bytes: u64,
    /// The dynamic run fed as fast as the association takes the events.
    pub(crate) dyn_saturated: DynResult,
    /// The dynamic runs paced at a rate (events/s).
    pub(crate) dyn_paced: Vec<(f64, DynResult)>,
    /// Wire bytes per add, update, delete.
    pub(crate) kind_bytes: [f64; 3],
    /// The periodic update round.
    pub(crate) periodic: PeriodicResult,
    /// What went wrong or could not be measured.
    pub(crate) notes: Vec<String>,
}

/// The `p` quantile of `sorted` microseconds, in milliseconds (NaN when empty).
fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)] as f64 / 1000.0
}

/// Prints the figures and the add lags `lags` (id, µs) measured on the standby.
pub(crate) fn report(fig: &Figures, lags: &[(u32, u64)]) {
    let n = f64::from(SESSIONS);
    println!();
    println!("== (1) bulk sync of {SESSIONS} sessions");
    match fig.bulk {
        Some((wall, ok, sessions, local)) => {
            println!(
                "   {:.3} s request -> BulkComplete (ok={ok}, announced {sessions}, standby holds {local}); target <= 2 s",
                wall.as_secs_f64()
            );
        }
        None => println!("   did not complete"),
    }
    println!(
        "   CPU during the bulk: Active sync thread {:.2} s, Active IPC driver {:.2} s, standby sync thread {:.2} s, standby IPC driver {:.2} s",
        fig.bulk_cpu[0].as_secs_f64(),
        fig.bulk_cpu[1].as_secs_f64(),
        fig.bulk_cpu[2].as_secs_f64(),
        fig.bulk_cpu[3].as_secs_f64()
    );
    println!(
        "   wire {:.1} B/session (veth tx of the Active, frames), IPC payload {:.1} B/session",
        fig.bulk_wire_bytes as f64 / n,
        fig.bulk_payload_bytes as f64 / n
    );
    let mut runs = vec![(
        "saturated (fed as fast as the association takes them)".to_owned(),
        &fig.dyn_saturated,
    )];
    for (rate, r) in &fig.dyn_paced {
        runs.push((format!("paced at {rate:.0} events/s"), r));
    }
    for (name, r) in runs {
        let mut lag: Vec<u64> = lags
            .iter()
            .filter(|(id, _)| (r.first_id..r.end_id).contains(id))
            .map(|&(_, l)| l)
            .collect();
        lag.sort_unstable();
        let w = r.window.as_secs_f64();
        println!("== (2) dynamic sync, {name}, {w:.2} s");
        println!(
            "   fed {} events ({:.0}/s, {} adds); standby applied {:.0}/s during the window; {} of {} expected (after coalescing) applied {:.2} s after the start ({:.0}/s)",
            r.fed,
            r.fed as f64 / w,
            r.fed_adds,
            r.applied_in_window as f64 / w,
            r.applied_total,
            r.expected,
            r.drain.as_secs_f64(),
            r.applied_total as f64 / r.drain.as_secs_f64()
        );
        println!(
            "   add-to-standby lag over {} adds: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms (target: >= 200000 events/s with p99 <= 5 ms)",
            lag.len(),
            percentile(&lag, 0.5),
            percentile(&lag, 0.99),
            percentile(&lag, 1.0)
        );
        println!(
            "   wire {:.1} B/event; {} batches refused with QueueFull and re-sent",
            r.wire_bytes as f64 / r.fed.max(1) as f64,
            r.queue_full
        );
    }
    println!(
        "   wire bytes per add {:.1}, per update {:.1}, per delete {:.1} (500 ms of each kind alone at 200,000/s)",
        fig.kind_bytes[0], fig.kind_bytes[1], fig.kind_bytes[2]
    );
    println!("== (3) periodic update round of {SESSIONS} sessions, N = {PERIOD_S} s");
    println!(
        "   Active sync thread CPU {:.3} s = {:.1} % of one core over {PERIOD_S} s (target <= 10 %); handed over in {:.2} s",
        fig.periodic.cpu.as_secs_f64(),
        fig.periodic.cpu.as_secs_f64() / PERIOD_S * 100.0,
        fig.periodic.wall.as_secs_f64()
    );
    if let Some(d) = fig.periodic.driver_cpu {
        let total = fig.periodic.cpu + d;
        println!(
            "   Active IPC driver thread CPU {:.3} s; sync thread + driver {:.3} s = {:.1} % of one core over {PERIOD_S} s",
            d.as_secs_f64(),
            total.as_secs_f64(),
            total.as_secs_f64() / PERIOD_S * 100.0
        );
    }
    println!(
        "   whole process (both sides, both IPC drivers) CPU {:.2} s = {:.1} % of one core; standby applied {} updates after {:.2} s",
        fig.periodic.process_cpu.as_secs_f64(),
        fig.periodic.process_cpu.as_secs_f64() / PERIOD_S * 100.0,
        fig.periodic.applied,
        fig.periodic.standby_wall.as_secs_f64()
    );
    println!("   wire {:.1} B/update", fig.periodic.wire_bytes as f64 / n);
    for note in &fig.notes {
        println!("note: {note}");
    }
}
