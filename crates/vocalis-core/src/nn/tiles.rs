//! A register-blocked f32 product of weight rows with columns laid out in groups of 8
//! (`[group][k][8]`, one vector per `k`), shared by the q8_0 prefill (activation rows as
//! columns) and the FFT convolutions' per-bin products (blocks as columns).
//!
//! The micro-kernel broadcasts one weight at a time against two column vectors into twelve
//! accumulators (six rows × two groups): an FMA's result is ready 4 cycles after it issues on
//! two pipes, so eight independent sums only just cover that latency and twelve leave slack.
//! Written out, because as an array of vectors the compiler spilled them every iteration; with
//! three groups (four rows) it needed one register more than there are and spilled one.

/// Columns per group (one AVX vector).
pub const LANES: usize = 8;
/// Weight rows per micro-kernel call.
pub const ROWS: usize = 6;
/// Groups per micro-kernel call.
pub const GROUPS: usize = 2;
/// Depth of one micro-kernel call: its two groups (2 × 128 × 8 floats) and six weight rows
/// stay in L1.
const KC: usize = 128;

/// `c [rows][ldc] += a [rows][lda] (first k columns) · b`, where `b` holds `ldc / 8` groups of
/// 8 columns, each `[k][8]`, at stride `ldb`. `rows` a multiple of [`ROWS`], the groups of
/// [`GROUPS`].
pub fn products(a: &[f32], lda: usize, b: &[f32], ldb: usize, k: usize, c: &mut [f32], ldc: usize) {
    let rows = c.len() / ldc;
    let groups = ldc / LANES;
    assert!(ldc.is_multiple_of(LANES * GROUPS) && c.len() == rows * ldc);
    assert!(
        rows.is_multiple_of(ROWS) && k <= lda && (rows == 0 || a.len() >= (rows - 1) * lda + k)
    );
    assert!(groups == 0 || b.len() >= (groups - 1) * ldb + k * LANES);
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
        for k0 in (0..k).step_by(KC) {
            let kc = KC.min(k - k0);
            for r in (0..rows).step_by(ROWS) {
                for g in (0..groups).step_by(GROUPS) {
                    // SAFETY: avx2 and fma detected; rows r..r+6 of `a` from column k0 (kc
                    // read), groups g, g+1 of `b` from k0·8 (kc·8 read) and rows r..r+6 of `c`
                    // at columns g·8..g·8+16 are inside the lengths asserted above.
                    unsafe {
                        x86::kernel6x2(
                            a.as_ptr().add(r * lda + k0),
                            lda,
                            b.as_ptr().add(g * ldb + k0 * LANES),
                            ldb,
                            kc,
                            c.as_mut_ptr().add(r * ldc + g * LANES),
                            ldc,
                        )
                    }
                }
            }
        }
        return;
    }
    products_portable(a, lda, b, ldb, k, c, ldc)
}

/// [`products`] without SIMD.
fn products_portable(
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
            let bg = &b[(j / LANES) * ldb + j % LANES..];
            *v += ar.iter().enumerate().map(|(kk, w)| w * bg[kk * LANES]).sum::<f32>();
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::uniform;

    #[test]
    fn products_equal_the_plain_sum() {
        // depths below, at and above one pass; several row and group blocks
        for (rows, groups, k, lda, ldb) in
            [(6, 2, 5, 5, 40), (12, 4, 128, 130, 1024), (18, 6, 300, 300, 2410)]
        {
            let a = uniform(rows * lda, 1);
            let b = uniform(groups * ldb, 2);
            let c0 = uniform(rows * groups * LANES, 3);
            let ldc = groups * LANES;
            let mut c = c0.clone();
            products(&a, lda, &b, ldb, k, &mut c, ldc);
            let mut portable = c0.clone();
            products_portable(&a, lda, &b, ldb, k, &mut portable, ldc);
            for r in 0..rows {
                for j in 0..ldc {
                    let want = c0[r * ldc + j] as f64
                        + (0..k)
                            .map(|kk| {
                                a[r * lda + kk] as f64
                                    * b[(j / LANES) * ldb + kk * LANES + j % LANES] as f64
                            })
                            .sum::<f64>();
                    for got in [c[r * ldc + j], portable[r * ldc + j]] {
                        let got = got as f64;
                        assert!(
                            (got - want).abs() < 1e-4,
                            "({rows},{groups},{k}) [{r}][{j}]: {got} vs {want}"
                        );
                    }
                }
            }
        }
    }
}
