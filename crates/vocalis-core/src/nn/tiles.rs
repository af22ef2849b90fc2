//! A register-blocked f32 product of weight rows with columns laid out in groups of 8 or 16
//! (`[group][k][width]`, one vector per `k`), shared by the q8_0 prefill (activation rows as
//! columns, groups of 8) and the FFT convolutions' per-bin products (blocks as columns, groups
//! of [`group_width`]).
//!
//! The micro-kernels broadcast one weight at a time against two column vectors into twelve
//! accumulators (six rows × two groups): an FMA's result is ready 4 cycles after it issues on
//! two pipes, so eight independent sums only just cover that latency and twelve leave slack.
//! Written out, because as an array of vectors the compiler spilled them every iteration; with
//! three groups (four rows) it needed one register more than AVX2 has and spilled one. With
//! AVX-512 the groups are 16 wide: each broadcast weight then feeds twice the columns. On a
//! Zen 4 (whose 512-bit FMAs take both 256-bit pipes: the same FLOPs per cycle) that kernel
//! runs at ~97 % of a core's peak on inputs in cache, and its share of the decoder's time is
//! 21 % against the AVX2 kernel's 25 %.

use std::sync::OnceLock;

/// Columns per group of the AVX2 layout (one 256-bit vector).
pub const LANES: usize = 8;
/// Weight rows per micro-kernel call.
pub const ROWS: usize = 6;
/// Groups per micro-kernel call.
pub const GROUPS: usize = 2;
/// Depth of one micro-kernel call: its two groups (2 × 128 × 16 floats at most) and six
/// weight rows stay in L1.
const KC: usize = 128;

/// Columns per group of the layout [`products`] takes on this CPU: 16 with AVX-512, else 8.
pub fn group_width() -> usize {
    static WIDTH: OnceLock<usize> = OnceLock::new();
    *WIDTH.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx512f") {
            return 2 * LANES;
        }
        LANES
    })
}

/// `c [rows][ldc] += a [rows][lda] (first k columns) · b`, where `b` holds `ldc / w` groups of
/// `w` = [`group_width`] columns, each `[k][w]`, at stride `ldb`. `rows` a multiple of
/// [`ROWS`], `ldc` of `GROUPS · LANES` (16).
pub fn products(a: &[f32], lda: usize, b: &[f32], ldb: usize, k: usize, c: &mut [f32], ldc: usize) {
    products_in(group_width(), a, lda, b, ldb, k, c, ldc)
}

/// [`products`] for groups of `width` (8 or 16) columns.
#[allow(clippy::too_many_arguments)]
fn products_in(
    width: usize,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    k: usize,
    c: &mut [f32],
    ldc: usize,
) {
    let rows = c.len() / ldc;
    let groups = ldc / width;
    assert!(width == LANES || width == 2 * LANES);
    assert!(ldc.is_multiple_of(LANES * GROUPS) && c.len() == rows * ldc);
    assert!(
        rows.is_multiple_of(ROWS) && k <= lda && (rows == 0 || a.len() >= (rows - 1) * lda + k)
    );
    assert!(groups == 0 || b.len() >= (groups - 1) * ldb + k * width);
    #[cfg(target_arch = "x86_64")]
    {
        let avx512 = width == 2 * LANES && std::is_x86_feature_detected!("avx512f");
        let avx2 = width == LANES
            && std::is_x86_feature_detected!("avx2")
            && std::is_x86_feature_detected!("fma");
        if avx512 || avx2 {
            for k0 in (0..k).step_by(KC) {
                let kc = KC.min(k - k0);
                for r in (0..rows).step_by(ROWS) {
                    for g in (0..groups).step_by(GROUPS) {
                        // SAFETY: the kernel's instructions were detected; rows r..r+6 of `a`
                        // from column k0 (kc read), groups g and g+1 (g alone when it is the
                        // last, only with 16 columns: with 8, `ldc` makes their number even)
                        // of `b` from k0·width (kc·width read) and rows r..r+6 of `c` at
                        // columns g·width.. are inside the lengths asserted above.
                        unsafe {
                            let ap = a.as_ptr().add(r * lda + k0);
                            let bp = b.as_ptr().add(g * ldb + k0 * width);
                            let cp = c.as_mut_ptr().add(r * ldc + g * width);
                            if avx2 {
                                x86::kernel6x2(ap, lda, bp, ldb, kc, cp, ldc)
                            } else if g + 1 < groups {
                                x86::kernel6x2_512(ap, lda, bp, ldb, kc, cp, ldc)
                            } else {
                                x86::kernel6x1_512(ap, lda, bp, kc, cp, ldc)
                            }
                        }
                    }
                }
            }
            return;
        }
    }
    products_portable(width, a, lda, b, ldb, k, c, ldc)
}

/// [`products`] without SIMD.
#[allow(clippy::too_many_arguments)]
fn products_portable(
    width: usize,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    k: usize,
    c: &mut [f32],
    ldc: usize,
) {
    for (r, cr) in c.chunks_exact_mut(ldc).enumerate() {
        let ar = &a[r * lda..][..k];
        for (j, v) in cr.iter_mut().enumerate() {
            let bg = &b[(j / width) * ldb + j % width..];
            *v += ar.iter().enumerate().map(|(kk, w)| w * bg[kk * width]).sum::<f32>();
        }
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) mod x86 {
    use std::arch::x86_64::*;

    use super::LANES;

    /// `c[r][v·8 + j] += Σ_kk a[r·lda + kk] · b[v·ldb + kk·8 + j]` for `r < 6`, `v < 2`,
    /// `kk < kc`.
    ///
    /// # Safety
    /// AVX2 and FMA must be available; `a` must hold 6 rows of `kc` floats (stride `lda`), `b`
    /// 2 groups of `kc·8` floats (stride `ldb`) and `c` 6 rows of 16 floats (stride `ldc`).
    #[target_feature(enable = "avx2,fma")]
    pub(crate) unsafe fn kernel6x2(
        a: *const f32,
        lda: usize,
        b: *const f32,
        ldb: usize,
        kc: usize,
        c: *mut f32,
        ldc: usize,
    ) {
        // SAFETY: the caller's promise.
        unsafe {
            let (a0, a1, a2) = (a, a.add(lda), a.add(2 * lda));
            let (a3, a4, a5) = (a.add(3 * lda), a.add(4 * lda), a.add(5 * lda));
            let (b0, b1) = (b, b.add(ldb));
            let (p0, p1, p2) = (c, c.add(ldc), c.add(2 * ldc));
            let (p3, p4, p5) = (c.add(3 * ldc), c.add(4 * ldc), c.add(5 * ldc));
            let (mut c00, mut c01) = (_mm256_loadu_ps(p0), _mm256_loadu_ps(p0.add(LANES)));
            let (mut c10, mut c11) = (_mm256_loadu_ps(p1), _mm256_loadu_ps(p1.add(LANES)));
            let (mut c20, mut c21) = (_mm256_loadu_ps(p2), _mm256_loadu_ps(p2.add(LANES)));
            let (mut c30, mut c31) = (_mm256_loadu_ps(p3), _mm256_loadu_ps(p3.add(LANES)));
            let (mut c40, mut c41) = (_mm256_loadu_ps(p4), _mm256_loadu_ps(p4.add(LANES)));
            let (mut c50, mut c51) = (_mm256_loadu_ps(p5), _mm256_loadu_ps(p5.add(LANES)));
            for kk in 0..kc {
                let x0 = _mm256_loadu_ps(b0.add(kk * LANES));
                let x1 = _mm256_loadu_ps(b1.add(kk * LANES));
                let w = _mm256_broadcast_ss(&*a0.add(kk));
                c00 = _mm256_fmadd_ps(w, x0, c00);
                c01 = _mm256_fmadd_ps(w, x1, c01);
                let w = _mm256_broadcast_ss(&*a1.add(kk));
                c10 = _mm256_fmadd_ps(w, x0, c10);
                c11 = _mm256_fmadd_ps(w, x1, c11);
                let w = _mm256_broadcast_ss(&*a2.add(kk));
                c20 = _mm256_fmadd_ps(w, x0, c20);
                c21 = _mm256_fmadd_ps(w, x1, c21);
                let w = _mm256_broadcast_ss(&*a3.add(kk));
                c30 = _mm256_fmadd_ps(w, x0, c30);
                c31 = _mm256_fmadd_ps(w, x1, c31);
                let w = _mm256_broadcast_ss(&*a4.add(kk));
                c40 = _mm256_fmadd_ps(w, x0, c40);
                c41 = _mm256_fmadd_ps(w, x1, c41);
                let w = _mm256_broadcast_ss(&*a5.add(kk));
                c50 = _mm256_fmadd_ps(w, x0, c50);
                c51 = _mm256_fmadd_ps(w, x1, c51);
            }
            let rows = [(c00, c01), (c10, c11), (c20, c21), (c30, c31), (c40, c41), (c50, c51)];
            for (p, (v0, v1)) in [p0, p1, p2, p3, p4, p5].into_iter().zip(rows) {
                _mm256_storeu_ps(p, v0);
                _mm256_storeu_ps(p.add(LANES), v1);
            }
        }
    }

    /// [`kernel6x2`] for groups of 16 columns: `c[r][v·16 + j] += Σ_kk a[r·lda + kk] ·
    /// b[v·ldb + kk·16 + j]` for `r < 6`, `v < 2`, `kk < kc`.
    ///
    /// # Safety
    /// AVX-512F must be available; `a` must hold 6 rows of `kc` floats (stride `lda`), `b`
    /// 2 groups of `kc·16` floats (stride `ldb`) and `c` 6 rows of 32 floats (stride `ldc`).
    #[target_feature(enable = "avx512f")]
    pub(crate) unsafe fn kernel6x2_512(
        a: *const f32,
        lda: usize,
        b: *const f32,
        ldb: usize,
        kc: usize,
        c: *mut f32,
        ldc: usize,
    ) {
        const W: usize = 2 * LANES;
        // SAFETY: the caller's promise.
        unsafe {
            let (a0, a1, a2) = (a, a.add(lda), a.add(2 * lda));
            let (a3, a4, a5) = (a.add(3 * lda), a.add(4 * lda), a.add(5 * lda));
            let (b0, b1) = (b, b.add(ldb));
            let (p0, p1, p2) = (c, c.add(ldc), c.add(2 * ldc));
            let (p3, p4, p5) = (c.add(3 * ldc), c.add(4 * ldc), c.add(5 * ldc));
            let (mut c00, mut c01) = (_mm512_loadu_ps(p0), _mm512_loadu_ps(p0.add(W)));
            let (mut c10, mut c11) = (_mm512_loadu_ps(p1), _mm512_loadu_ps(p1.add(W)));
            let (mut c20, mut c21) = (_mm512_loadu_ps(p2), _mm512_loadu_ps(p2.add(W)));
            let (mut c30, mut c31) = (_mm512_loadu_ps(p3), _mm512_loadu_ps(p3.add(W)));
            let (mut c40, mut c41) = (_mm512_loadu_ps(p4), _mm512_loadu_ps(p4.add(W)));
            let (mut c50, mut c51) = (_mm512_loadu_ps(p5), _mm512_loadu_ps(p5.add(W)));
            for kk in 0..kc {
                let x0 = _mm512_loadu_ps(b0.add(kk * W));
                let x1 = _mm512_loadu_ps(b1.add(kk * W));
                let w = _mm512_set1_ps(*a0.add(kk));
                c00 = _mm512_fmadd_ps(w, x0, c00);
                c01 = _mm512_fmadd_ps(w, x1, c01);
                let w = _mm512_set1_ps(*a1.add(kk));
                c10 = _mm512_fmadd_ps(w, x0, c10);
                c11 = _mm512_fmadd_ps(w, x1, c11);
                let w = _mm512_set1_ps(*a2.add(kk));
                c20 = _mm512_fmadd_ps(w, x0, c20);
                c21 = _mm512_fmadd_ps(w, x1, c21);
                let w = _mm512_set1_ps(*a3.add(kk));
                c30 = _mm512_fmadd_ps(w, x0, c30);
                c31 = _mm512_fmadd_ps(w, x1, c31);
                let w = _mm512_set1_ps(*a4.add(kk));
                c40 = _mm512_fmadd_ps(w, x0, c40);
                c41 = _mm512_fmadd_ps(w, x1, c41);
                let w = _mm512_set1_ps(*a5.add(kk));
                c50 = _mm512_fmadd_ps(w, x0, c50);
                c51 = _mm512_fmadd_ps(w, x1, c51);
            }
            let rows = [(c00, c01), (c10, c11), (c20, c21), (c30, c31), (c40, c41), (c50, c51)];
            for (p, (v0, v1)) in [p0, p1, p2, p3, p4, p5].into_iter().zip(rows) {
                _mm512_storeu_ps(p, v0);
                _mm512_storeu_ps(p.add(W), v1);
            }
        }
    }

    /// [`kernel6x2_512`] for one group (the last of an odd number): `c` 6 rows of 16 floats.
    ///
    /// # Safety
    /// As [`kernel6x2_512`] with one group of `kc·16` floats at `b`.
    #[target_feature(enable = "avx512f")]
    pub(crate) unsafe fn kernel6x1_512(
        a: *const f32,
        lda: usize,
        b: *const f32,
        kc: usize,
        c: *mut f32,
        ldc: usize,
    ) {
        const W: usize = 2 * LANES;
        // SAFETY: the caller's promise.
        unsafe {
            let ar =
                [a, a.add(lda), a.add(2 * lda), a.add(3 * lda), a.add(4 * lda), a.add(5 * lda)];
            let [mut c0, mut c1, mut c2, mut c3, mut c4, mut c5] =
                std::array::from_fn(|r| _mm512_loadu_ps(c.add(r * ldc)));
            for kk in 0..kc {
                let x = _mm512_loadu_ps(b.add(kk * W));
                c0 = _mm512_fmadd_ps(_mm512_set1_ps(*ar[0].add(kk)), x, c0);
                c1 = _mm512_fmadd_ps(_mm512_set1_ps(*ar[1].add(kk)), x, c1);
                c2 = _mm512_fmadd_ps(_mm512_set1_ps(*ar[2].add(kk)), x, c2);
                c3 = _mm512_fmadd_ps(_mm512_set1_ps(*ar[3].add(kk)), x, c3);
                c4 = _mm512_fmadd_ps(_mm512_set1_ps(*ar[4].add(kk)), x, c4);
                c5 = _mm512_fmadd_ps(_mm512_set1_ps(*ar[5].add(kk)), x, c5);
            }
            for (r, v) in [c0, c1, c2, c3, c4, c5].into_iter().enumerate() {
                _mm512_storeu_ps(c.add(r * ldc), v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::uniform;

    #[test]
    fn products_equal_the_plain_sum() {
        // both layouts (the AVX2 and AVX-512 kernels where the CPU has them); depths below, at
        // and above one pass; one, two and three groups of 16 columns (the AVX-512 path's
        // trailing single group); several row blocks
        for width in [LANES, 2 * LANES] {
            for (rows, cols, k, lda, ldb) in
                [(6, 16, 5, 5, 100), (12, 32, 128, 130, 2100), (18, 48, 300, 300, 4810)]
            {
                let groups = cols / width;
                let a = uniform(rows * lda, 1);
                let b = uniform(groups * ldb, 2);
                let c0 = uniform(rows * cols, 3);
                let mut c = c0.clone();
                products_in(width, &a, lda, &b, ldb, k, &mut c, cols);
                let mut portable = c0.clone();
                products_portable(width, &a, lda, &b, ldb, k, &mut portable, cols);
                for r in 0..rows {
                    for j in 0..cols {
                        let want = c0[r * cols + j] as f64
                            + (0..k)
                                .map(|kk| {
                                    a[r * lda + kk] as f64
                                        * b[(j / width) * ldb + kk * width + j % width] as f64
                                })
                                .sum::<f64>();
                        for got in [c[r * cols + j], portable[r * cols + j]] {
                            let got = got as f64;
                            assert!(
                                (got - want).abs() < 1e-4,
                                "width {width} ({rows},{cols},{k}) [{r}][{j}]: {got} vs {want}"
                            );
                        }
                    }
                }
            }
        }
    }
}
