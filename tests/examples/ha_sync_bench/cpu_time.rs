//! CPU time of threads and of the whole process, read from `/proc`, and the search for the IPC driver
//! thread an association starts.

use std::time::{Duration as StdDuration, Instant as StdInstant};

/// CPU time in a `schedstat` file (its first field: nanoseconds on CPU); zero when it cannot be read.
fn schedstat_cpu(path: &str) -> StdDuration {
    let ns = std::fs::read_to_string(path)
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|f| f.parse::<u64>().ok()))
        .unwrap_or(0);
    StdDuration::from_nanos(ns)
}

/// CPU time of the calling thread (`/proc/thread-self/schedstat`, nanoseconds on CPU).
pub(crate) fn thread_cpu() -> StdDuration {
    schedstat_cpu("/proc/thread-self/schedstat")
}

/// CPU time of thread `tid` of this process.
pub(crate) fn task_cpu(tid: u32) -> StdDuration {
    schedstat_cpu(&format!("/proc/self/task/{tid}/schedstat"))
}

/// CPU time of the IPC driver thread `tid`, zero when it was not found.
pub(crate) fn driver_cpu(tid: Option<u32>) -> StdDuration {
    tid.map(task_cpu).unwrap_or_default()
}

/// Thread ids of this process with their names.
pub(crate) fn task_ids() -> Vec<(u32, String)> {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    dir.filter_map(|e| {
        let e = e.ok()?;
        let tid = e.file_name().to_str()?.parse::<u32>().ok()?;
        let comm = std::fs::read_to_string(e.path().join("comm")).ok()?;
        Some((tid, comm.trim().to_owned()))
    })
    .collect()
}

/// The IPC driver thread started since `before` was listed.
pub(crate) fn new_driver_thread(before: &[(u32, String)]) -> Option<u32> {
    let deadline = StdInstant::now() + StdDuration::from_secs(2);
    while StdInstant::now() < deadline {
        let found = task_ids()
            .into_iter()
            .find(|(tid, comm)| comm.starts_with("ipc-assoc") && !before.iter().any(|(t, _)| t == tid));
        if let Some((tid, _)) = found {
            return Some(tid);
        }
        std::thread::sleep(StdDuration::from_millis(1));
    }
    None
}

/// CPU time of the whole process (user + system, `/proc/self/stat`, clock ticks of 10 ms).
pub(crate) fn process_cpu() -> StdDuration {
    let ticks = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let rest = s.rsplit_once(')')?.1.to_owned();
            let f: Vec<&str> = rest.split_whitespace().collect();
            // After the command: state is field 3; utime 14 and stime 15 are at 11 and 12 here.
            Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
        })
        .unwrap_or(0);
    StdDuration::from_millis(ticks * 10)
}
