//! Memory hints for the session table's hot paths. Neither changes a value the program can observe.
//!
//! * [`prefetch`]: ask the CPU to start loading the cache line holding a value that will be read soon;
//!   used by [`Engine::process_batch`](crate::Engine::process_batch) to overlap the lookups of several
//!   packets. A no-op on targets without a prefetch instruction.
//! * [`huge_pages`]: ask Linux to back a large allocation with transparent huge pages
//!   (`madvise(MADV_HUGEPAGE)`), so that random lookups over a table of a million sessions do not pay a
//!   TLB miss each. Effective where `/sys/kernel/mm/transparent_hugepage/enabled` is `always` or
//!   `madvise`; a no-op without the `runtime` feature or off Linux, and failures are ignored (the
//!   memory simply stays in small pages).
#![allow(unsafe_code)]

/// Allocations below this are left alone (a huge page is 2 MiB).
const HUGE_PAGE_MIN: usize = 4 << 20;

/// Starts loading the cache line holding `*value` into all cache levels.
#[inline(always)]
pub(crate) fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: PREFETCHT0 is a hint with no architectural effect: it cannot fault (even on an invalid
        // address) and reads or writes nothing the program can observe; SSE is part of the x86_64 baseline.
        // The pointer comes from a live reference anyway.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(std::ptr::from_ref(value).cast::<i8>()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

/// Asks for huge pages under the whole capacity of `v` (call before its memory is first written).
pub(crate) fn huge_pages<T>(v: &Vec<T>) {
    let bytes = v.capacity() * size_of::<T>();
    if bytes < HUGE_PAGE_MIN {
        return;
    }
    #[cfg(all(target_os = "linux", feature = "runtime"))]
    {
        const PAGE: usize = 4096;
        let start = v.as_ptr() as usize;
        let first = start.next_multiple_of(PAGE);
        let end = (start + bytes) / PAGE * PAGE;
        if end > first {
            // SAFETY: the range [first, end) lies inside the allocation owned by `v` (page-aligned inward);
            // MADV_HUGEPAGE only changes how the kernel backs those pages, never their contents, and the
            // call has no other effect on memory the program uses.
            let _ = unsafe { libc::madvise(first as *mut libc::c_void, end - first, libc::MADV_HUGEPAGE) };
        }
    }
}

/// Grows `v` to twice its capacity (at least `min`) in a fresh allocation advised for huge pages before
/// the elements are copied in, so the whole table ends up in huge pages (a plain `Vec` growth would
/// `mremap` the old small pages).
pub(crate) fn grow<T: Copy>(v: &mut Vec<T>, min: usize) {
    let mut bigger = Vec::with_capacity((v.capacity() * 2).max(min));
    huge_pages(&bigger);
    bigger.extend_from_slice(v);
    *v = bigger;
}
