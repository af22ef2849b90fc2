//! Zeroed memory on huge pages for weights streamed once per decoding step.
//!
//! [`super::huge_page_buffer`] advises a `Vec`'s memory for transparent huge pages, but a
//! `Vec` of a few MB comes from the allocator, often from memory an earlier allocation (the
//! checkpoint's bytes) already faulted in as 4 KiB pages, which the advice does not change: in
//! a q8_0 GPT loaded that way about half of the packed weights had no huge page. And a weight
//! mapped on its own leaves the rest of its last 2 MiB in 4 KiB pages (a 1.1 MB `c_proj`
//! entirely). So packed weights are cut, 64-byte aligned, from shared mappings of [`SLAB`]
//! bytes ([`PageSlice`]) that start on a 2 MiB boundary and are advised before anything touches
//! them: backed by huge pages wherever the system has them free.

use std::sync::{Arc, Mutex, Weak};

/// Bytes of a transparent huge page.
const HUGE: usize = 2 << 20;
/// Bytes of each shared mapping [`PageSlice`]s are cut from (a GPT layer's four q8_0 weights
/// are 13.4 MB); a larger request gets a mapping of its own.
const SLAB: usize = 64 << 20;

/// A zeroed buffer of its own memory: a private mapping on a 2 MiB boundary advised for huge
/// pages on Linux, a boxed slice elsewhere.
struct PageBuffer {
    ptr: *mut u8,
    len: usize,
    /// The whole mapping (`ptr` lies inside it).
    #[cfg(target_os = "linux")]
    map: (*mut u8, usize),
}

// SAFETY: the buffer owns its memory alone, as a `Vec` does; shared access only reads it, and
// writes go through `&mut` (or through disjoint `PageSlice`s).
unsafe impl Send for PageBuffer {}
// SAFETY: as above.
unsafe impl Sync for PageBuffer {}

impl PageBuffer {
    /// `len` zero bytes; `None` if the system refuses the memory.
    fn zeroed(len: usize) -> Option<Self> {
        #[cfg(target_os = "linux")]
        {
            // one huge page more than asked, so that the buffer can start on a boundary
            let map_len = len.checked_add(HUGE)?;
            // SAFETY: a fresh private anonymous mapping; nothing else refers to it.
            let base = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    map_len,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                )
            };
            if base == libc::MAP_FAILED {
                return None;
            }
            let base = base.cast::<u8>();
            let ptr = base.wrapping_add(base.align_offset(HUGE));
            super::advise_huge_pages(ptr, len);
            Some(PageBuffer { ptr, len, map: (base, map_len) })
        }
        #[cfg(not(target_os = "linux"))]
        {
            let ptr = Box::into_raw(vec![0u8; len].into_boxed_slice()).cast::<u8>();
            Some(PageBuffer { ptr, len })
        }
    }
}

impl std::ops::Deref for PageBuffer {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: `ptr..ptr + len` is this buffer's memory, alive as long as `self`.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

impl std::ops::DerefMut for PageBuffer {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `deref`, and `&mut self` makes this the only reference.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}

impl Drop for PageBuffer {
    fn drop(&mut self) {
        #[cfg(target_os = "linux")]
        // SAFETY: the mapping made in `zeroed`, unmapped once.
        unsafe {
            libc::munmap(self.map.0.cast(), self.map.1);
        }
        #[cfg(not(target_os = "linux"))]
        // SAFETY: the boxed slice leaked in `zeroed`, reclaimed once.
        drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(self.ptr, self.len)) });
    }
}

/// Zeroed bytes cut from a shared [`PageBuffer`] of [`SLAB`] bytes (the mapping is unmapped
/// when its last slice is dropped; bytes are never handed out twice).
pub struct PageSlice {
    buf: Arc<PageBuffer>,
    start: usize,
    len: usize,
}

/// The mapping slices are being cut from, and how many of its bytes are taken.
static CURRENT: Mutex<Option<(Weak<PageBuffer>, usize)>> = Mutex::new(None);

impl PageSlice {
    /// `len` zero bytes starting on a 64-byte boundary; `None` if the system refuses the
    /// memory.
    pub fn zeroed(len: usize) -> Option<Self> {
        if len > SLAB / 2 {
            return Some(PageSlice { buf: Arc::new(PageBuffer::zeroed(len)?), start: 0, len });
        }
        let mut current = CURRENT.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((slab, used)) = current.as_mut()
            && let Some(buf) = slab.upgrade()
            && buf.len - *used >= len
        {
            let start = *used;
            *used = (start + len).next_multiple_of(64).min(buf.len);
            return Some(PageSlice { buf, start, len });
        }
        let buf = Arc::new(PageBuffer::zeroed(SLAB)?);
        *current = Some((Arc::downgrade(&buf), len.next_multiple_of(64)));
        Some(PageSlice { buf, start: 0, len })
    }
}

impl std::ops::Deref for PageSlice {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.buf[self.start..self.start + self.len]
    }
}

impl std::ops::DerefMut for PageSlice {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: `start..start + len` lies inside the buffer and belongs to this slice alone
        // (`zeroed` hands every byte out once), and `&mut self` makes this its only reference;
        // the pointer is the buffer's own, not derived from a shared reference.
        unsafe { std::slice::from_raw_parts_mut(self.buf.ptr.add(self.start), self.len) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_buffer_is_zeroed_aligned_and_writable() {
        for len in [0, 1, 5000, 3 << 20] {
            let mut b = PageBuffer::zeroed(len).expect("memory");
            assert_eq!(b.len(), len);
            assert!(b.iter().all(|&v| v == 0));
            #[cfg(target_os = "linux")]
            assert_eq!(b.as_ptr() as usize % HUGE, 0, "on a huge-page boundary");
            b.iter_mut().enumerate().for_each(|(i, v)| *v = i as u8);
            assert!(b.iter().enumerate().all(|(i, &v)| v == i as u8));
        }
    }

    #[test]
    fn slices_are_zeroed_aligned_and_disjoint() {
        // other tests may cut slices from the same mapping meanwhile: each slice is checked
        // against its own pattern only
        let lens = [1, 100, 4096, 3 << 20, 1 << 20, 0, 40 << 20, 5];
        let mut slices: Vec<PageSlice> =
            lens.iter().map(|&n| PageSlice::zeroed(n).expect("memory")).collect();
        for (i, s) in slices.iter_mut().enumerate() {
            assert_eq!(s.len(), lens[i]);
            assert_eq!(s.as_ptr() as usize % 64, 0, "slice {i} on a 64-byte boundary");
            assert!(s.iter().all(|&v| v == 0), "slice {i} zeroed");
            s.iter_mut().for_each(|v| *v = i as u8 + 1);
        }
        for (i, s) in slices.iter().enumerate() {
            assert!(s.iter().all(|&v| v == i as u8 + 1), "slice {i} kept its bytes");
        }
        // the small ones share mappings (4.2 MB in all: at most one new mapping among them),
        // the 40 MB one has its own
        let small: Vec<&PageSlice> = slices.iter().filter(|s| s.len() < 8 << 20).collect();
        assert!(small.windows(2).any(|w| Arc::ptr_eq(&w[0].buf, &w[1].buf)));
        assert!(
            slices.iter().enumerate().all(|(i, s)| i == 6 || !Arc::ptr_eq(&s.buf, &slices[6].buf))
        );
        assert_eq!(slices[6].start, 0);
    }
}
