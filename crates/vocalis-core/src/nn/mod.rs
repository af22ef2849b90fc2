//! Building blocks shared by the XTTS networks: linear layers (float or quantized, one code
//! path), weight-normalised convolutions folded at load, normalisation layers and the
//! attention KV cache.

pub mod act;
pub mod attn;
pub mod conv;
pub mod conv_cpu;
pub mod conv_fft;
pub mod conv_winograd;
pub mod gemv;
pub mod kv_cache;
pub mod linear;
pub mod norm;
pub mod pages;
pub mod q8;
pub mod q8_vnni;
pub mod tiles;
pub mod weight_norm;

pub use conv::{Conv1d, Conv1dSpec};
pub use kv_cache::KvCache;
pub use linear::Linear;
pub use norm::{BatchNorm, LayerNorm};

use candle::{D, Result, Storage, Tensor};

/// Softmax over the last dim: candle's fused kernel for inference, the composed (max-shifted)
/// form when gradients are needed (the fused op has no backward).
pub fn softmax_last_dim(x: &Tensor, differentiable: bool) -> Result<Tensor> {
    if !differentiable {
        return candle_nn::ops::softmax_last_dim(x);
    }
    let max = x.max_keepdim(D::Minus1)?.detach();
    let e = x.broadcast_sub(&max)?.exp()?;
    e.broadcast_div(&e.sum_keepdim(D::Minus1)?)
}

/// Dropout with masks drawn from a seeded RNG, so a training step is reproducible (and a
/// resumed run repeats it exactly). On the CPU the mask comes from a ChaCha8 stream seeded per
/// step; on accelerators from the device RNG, which the trainer seeds per step.
pub struct Dropout {
    p: f32,
    rng: std::cell::RefCell<rand_chacha::ChaCha8Rng>,
}

impl Dropout {
    /// Dropout with probability `p`, masks seeded by `seed`.
    pub fn new(p: f32, seed: u64) -> Self {
        use rand::SeedableRng;
        Dropout { p, rng: std::cell::RefCell::new(rand_chacha::ChaCha8Rng::seed_from_u64(seed)) }
    }

    /// Zeroes each element with probability `p` and scales the rest by `1/(1−p)`.
    pub fn apply(&self, x: &Tensor) -> Result<Tensor> {
        use rand::Rng;
        if self.p <= 0.0 {
            return Ok(x.clone());
        }
        if !x.device().is_cpu() {
            return candle_nn::ops::dropout(x, self.p);
        }
        let scale = 1.0 / (1.0 - self.p);
        let mut rng = self.rng.borrow_mut();
        let mask: Vec<f32> = (0..x.elem_count())
            .map(|_| if rng.random::<f32>() < self.p { 0.0 } else { scale })
            .collect();
        x * Tensor::from_vec(mask, x.shape(), x.device())?.to_dtype(x.dtype())?
    }
}

/// A zeroed f32 buffer of `n` values, for weights that live as long as the model and for
/// large buffers reused across calls. On Linux its memory is advised for transparent huge pages
/// (where the system leaves that to `madvise`): a model's gigabytes then fault in 2 MiB at a
/// time rather than 4 KiB, which made page faults the largest cost of loading, and data
/// streamed through (weights per token, the decoder's stages) take fewer TLB misses. The
/// advice does not change memory the allocator hands back already faulted in as 4 KiB pages;
/// the packed q8_0 weights use `nn::pages` instead, which maps its own.
pub(crate) fn huge_page_buffer(n: usize) -> Vec<f32> {
    let v = vec![0f32; n];
    advise_huge_pages(v.as_ptr().cast(), n * 4);
    v
}

/// Advises the whole 2 MiB pages inside `len` bytes at `addr` for transparent huge pages (see
/// [`huge_page_buffer`]); nothing elsewhere than on Linux.
pub(crate) fn advise_huge_pages(addr: *const u8, len: usize) {
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let addr = addr as usize;
        let (start, end) = (addr.next_multiple_of(HUGE), (addr + len) / HUGE * HUGE);
        if end > start {
            // SAFETY: the range lies inside the caller's allocation; MADV_HUGEPAGE changes only
            // how the kernel backs it, not its contents.
            unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE) };
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (addr, len);
}

/// `dst [m×n] = scale · lhs [m×k] · rhs [k×n]`, plus the previous `dst` with `accumulate`: the
/// `gemm` crate's f32 product with its argument order (column stride before row stride, the
/// two scales, the conjugation flags) spelled out once. Each operand is `(first element, row
/// stride, column stride)`.
///
/// # Safety
/// Each operand's pointer with its strides must address its whole shape; `dst` must be valid
/// for writes there, and no one else may read or write it meanwhile.
pub(crate) unsafe fn sgemm(
    (m, n, k): (usize, usize, usize),
    dst: (*mut f32, usize, usize),
    lhs: (*const f32, usize, usize),
    rhs: (*const f32, usize, usize),
    scale: f32,
    accumulate: bool,
    parallelism: gemm::Parallelism,
) {
    let s = |x: usize| x as isize;
    // SAFETY: the caller's promise.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.0,
            s(dst.2),
            s(dst.1),
            accumulate,
            lhs.0,
            s(lhs.2),
            s(lhs.1),
            rhs.0,
            s(rhs.2),
            s(rhs.1),
            if accumulate { 1.0 } else { 0.0 },
            scale,
            false,
            false,
            false,
            parallelism,
        )
    }
}

/// Adds `b` to every row of `y` (rows of `b.len()`): a linear layer's bias.
pub(crate) fn add_to_rows(y: &mut [f32], b: &[f32]) {
    if b.is_empty() {
        return;
    }
    for row in y.chunks_exact_mut(b.len()) {
        row.iter_mut().zip(b).for_each(|(v, b)| *v += b);
    }
}

/// Runs `f` on the values of a contiguous CPU tensor of dtype `T`; `None` for any other tensor.
///
/// The dtype is compared first: candle's `as_slice` of another dtype returns an error that
/// captures a backtrace when `RUST_BACKTRACE` is set (~7 µs each; the KV cache's prefetch,
/// which probes f32 then f16, took 0.5 ms of a 15 ms q8_0 step that way).
pub(crate) fn with_cpu<T: candle::WithDType, R>(
    t: &Tensor,
    f: impl FnOnce(&[T]) -> R,
) -> Option<R> {
    if t.dtype() != T::DTYPE {
        return None;
    }
    let (storage, layout) = t.storage_and_layout();
    match (&*storage, layout.contiguous_offsets()) {
        (Storage::Cpu(s), Some((a, b))) => s.as_slice::<T>().ok().map(|v| f(&v[a..b])),
        _ => None,
    }
}

/// [`with_cpu`] for an f32 tensor.
pub(crate) fn with_cpu_f32<R>(t: &Tensor, f: impl FnOnce(&[f32]) -> R) -> Option<R> {
    with_cpu(t, f)
}
