//! A cache hint: ask the CPU to start loading the line holding a value that will be read soon.
//!
//! Used by [`Engine::process_batch`](crate::Engine::process_batch) to overlap the memory latency of the
//! session lookups of a batch of packets. It is only a hint: it never faults, never changes a value and
//! is a no-op on targets without a prefetch instruction.
#![allow(unsafe_code)]

/// Starts loading the cache line holding `*value` into all cache levels.
#[inline(always)]
pub(crate) fn read<T>(value: &T) {
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
