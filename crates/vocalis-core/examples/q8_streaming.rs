//! How fast the packed q8_0 kernel streams weights from memory when they come as one large
//! matrix–vector product or as many small ones (a GPT step is 120 of them: four per layer,
//! 1.1–4.4 MB each), beside the memory read bandwidth `vocalis bench` measures
//! (`nn::gemv::read_bandwidth_gbs`).
//!
//!     RAYON_NUM_THREADS=2 cargo run --release --example q8_streaming [ROUNDS]
//!
//! Each row of the output streams 428 MB of weights (k = 1024, as in the GPT's `c_proj`) split
//! into matrices of `n` rows, every product started from a worker of the pool as a step's are.
//! Needs a CPU with AVX-512 VNNI (the packed layout's kernel).

use std::time::Instant;

use anyhow::{Context, Result, bail};
use vocalis_core::nn::gemv;
use vocalis_core::nn::q8_vnni::{self, PackedQ8};

const K: usize = 1024;
const TOTAL_ROWS: usize = 384 * 1024;

/// An `[n, K]` q8_0 weight with scale 1.0 and varied weights (their values do not matter here).
fn packed(n: usize, seed: usize) -> Result<PackedQ8> {
    let mut ggml = vec![0u8; n * K / 32 * 34];
    for (i, block) in ggml.chunks_exact_mut(34).enumerate() {
        block[..2].copy_from_slice(&half::f16::ONE.to_le_bytes());
        for (j, w) in block[2..].iter_mut().enumerate() {
            *w = (i * 31 + j * 7 + seed) as u8;
        }
    }
    PackedQ8::from_ggml(&ggml, n, K).context("the packed layout does not apply")
}

fn main() -> Result<()> {
    if !q8_vnni::available() {
        bail!("this CPU has no AVX-512 VNNI: the packed q8_0 kernel does not run here")
    }
    let rounds: usize = match std::env::args().nth(1) {
        Some(r) => r.parse().with_context(|| format!("ROUNDS must be a number, got {r:?}"))?,
        None => 3,
    };
    let sizes = [1024, 4096, 16384, 65536, TOTAL_ROWS];
    let sets = sizes
        .iter()
        .map(|&n| (0..TOTAL_ROWS / n).map(|i| packed(n, i)).collect::<Result<Vec<_>>>())
        .collect::<Result<Vec<_>>>()?;
    let x: Vec<f32> = (0..K).map(|i| (i as f32 * 0.1).sin()).collect();
    let mut y = vec![0f32; TOTAL_ROWS];
    let bytes = (TOTAL_ROWS * K / 32 * 34) as f64;
    println!(
        "{:.0} MB of q8_0 weights per row, {} threads",
        bytes / 1e6,
        rayon::current_num_threads()
    );
    vocalis_core::util::in_pool(|| {
        for round in 0..rounds {
            let mut line = format!("round {round}: probe {:.1} GB/s", gemv::read_bandwidth_gbs());
            for (n, mats) in sizes.iter().zip(&sets) {
                let t = Instant::now();
                for m in mats {
                    m.matmul(&x, 1, &mut y[..*n]);
                }
                let secs = t.elapsed().as_secs_f64();
                line += &format!(
                    " | n {n}: {:.1} GB/s, {:.0} µs a product",
                    bytes / secs / 1e9,
                    secs / mats.len() as f64 * 1e6
                );
            }
            println!("{line}");
        }
    });
    Ok(())
}
