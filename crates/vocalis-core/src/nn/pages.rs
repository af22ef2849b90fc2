//! Zeroed byte buffers of their own pages, for weights streamed once per decoding step.
//!
//! [`super::huge_page_buffer`] advises a `Vec`'s memory for transparent huge pages, but a
//! `Vec` of a few MB comes from the allocator, often from memory an earlier allocation (the
//! checkpoint's bytes) already faulted in as 4 KiB pages, which the advice does not change: in
//! a q8_0 GPT loaded that way about half of the packed weights had no huge page. A
//! [`PageBuffer`] is mapped on its own, starts on a 2 MiB boundary and is advised before
//! anything touches it, so it is backed by huge pages wherever the system has them free.

/// A zeroed, 2 MiB-aligned byte buffer mapped for itself (a `Vec` elsewhere than on Linux).
pub struct PageBuffer {
    #[cfg(target_os = "linux")]
    map: Mapping,
    #[cfg(not(target_os = "linux"))]
    vec: Vec<u8>,
}

#[cfg(target_os = "linux")]
struct Mapping {
    /// Start of the mapping, and its length.
    base: *mut u8,
    map_len: usize,
    /// Start of the buffer inside it, and its length.
    ptr: *mut u8,
    len: usize,
}

// SAFETY: the mapping is owned by the buffer alone, as a `Vec`'s memory is.
#[cfg(target_os = "linux")]
unsafe impl Send for Mapping {}
// SAFETY: shared access only reads it.
#[cfg(target_os = "linux")]
unsafe impl Sync for Mapping {}

/// Bytes of a transparent huge page.
const HUGE: usize = 2 << 20;

impl PageBuffer {
    /// `len` zero bytes; `None` if the system refuses the memory.
    pub fn zeroed(len: usize) -> Option<Self> {
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
            Some(PageBuffer { map: Mapping { base, map_len, ptr, len } })
        }
        #[cfg(not(target_os = "linux"))]
        Some(PageBuffer { vec: vec![0u8; len] })
    }
}

impl std::ops::Deref for PageBuffer {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        #[cfg(target_os = "linux")]
        // SAFETY: `ptr..ptr + len` lies inside the mapping, which lives as long as `self`.
        return unsafe { std::slice::from_raw_parts(self.map.ptr, self.map.len) };
        #[cfg(not(target_os = "linux"))]
        &self.vec
    }
}

impl std::ops::DerefMut for PageBuffer {
    fn deref_mut(&mut self) -> &mut [u8] {
        #[cfg(target_os = "linux")]
        // SAFETY: as in `deref`, and `&mut self` makes this the only reference.
        return unsafe { std::slice::from_raw_parts_mut(self.map.ptr, self.map.len) };
        #[cfg(not(target_os = "linux"))]
        &mut self.vec
    }
}

#[cfg(target_os = "linux")]
impl Drop for PageBuffer {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `zeroed`, unmapped once.
        unsafe { libc::munmap(self.map.base.cast(), self.map.map_len) };
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
}
