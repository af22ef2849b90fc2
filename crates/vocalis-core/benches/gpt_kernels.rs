//! The GPT's per-token matrix–vector products, on one layer's four weight shapes of the v2
//! model (`c_attn` 3072×1024, `c_proj` 1024×1024, `c_fc` 4096×1024, `mlp.c_proj` 1024×4096):
//! Vocalis's q8_0 and f32 kernels against candle's `QMatMul` on the same q8_0 weights, for one
//! row (a decoding step) and for 67 rows (a prefill). On CPUs with AVX-512 VNNI "q8_0 vocalis"
//! is the repacked layout of `nn::q8_vnni`, elsewhere the kernels of `nn::q8`.
//!
//! ```text
//! cargo bench --workspace --bench gpt_kernels
//! ```
//!
//! One layer's weights (4.3 MB in q8_0) stay in the cache between iterations, so these figures
//! are the kernels' compute speed; `vocalis bench` measures a whole step, where the 30 layers'
//! 405 MB stream from memory.

use std::hint::black_box;
use std::time::Duration;

use candle::quantized::{GgmlDType, QMatMul, QTensor};
use candle::{Device, Module, Tensor};
use criterion::{Criterion, criterion_group, criterion_main};
use vocalis_core::nn::Linear;

const SHAPES: [(usize, usize); 4] = [(3072, 1024), (1024, 1024), (4096, 1024), (1024, 4096)];

fn bench(c: &mut Criterion) {
    let dev = Device::Cpu;
    let mut layers = Vec::new();
    for (i, &(n, k)) in SHAPES.iter().enumerate() {
        let w = Tensor::randn(0f32, 0.02, (n, k), &dev).unwrap();
        let x = Tensor::randn(0f32, 1.0, (1, k), &dev).unwrap();
        let q = QTensor::quantize(&w, GgmlDType::Q8_0).unwrap();
        let candle_q = QMatMul::from_qtensor(QTensor::quantize(&w, GgmlDType::Q8_0).unwrap());
        let ours_q = Linear::from_qtensor(q, None).unwrap();
        layers.push((i, x, w, candle_q.unwrap(), ours_q));
    }
    let mut g = c.benchmark_group("gpt_layer_step");
    g.warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));
    g.bench_function("q8_0 vocalis", |b| {
        b.iter(|| {
            for (_, x, _, _, l) in &layers {
                black_box(l.forward(x).unwrap());
            }
        })
    });
    g.bench_function("q8_0 candle QMatMul", |b| {
        b.iter(|| {
            for (_, x, _, q, _) in &layers {
                black_box(q.forward(x).unwrap());
            }
        })
    });
    g.bench_function("f32 vocalis", |b| {
        let lin: Vec<Linear> = layers.iter().map(|l| Linear::new(l.2.clone(), None)).collect();
        b.iter(|| {
            for (l, (_, x, ..)) in lin.iter().zip(&layers) {
                black_box(l.forward(x).unwrap());
            }
        })
    });
    g.finish();

    // a prefill's 67 positions (32 conditioning latents, text, start code) through one layer
    let mut g = c.benchmark_group("gpt_layer_prefill_67_rows");
    g.warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));
    let xs67: Vec<Tensor> =
        SHAPES.iter().map(|&(_, k)| Tensor::randn(0f32, 1.0, (67, k), &dev).unwrap()).collect();
    g.bench_function("q8_0 vocalis", |b| {
        b.iter(|| {
            for ((.., l), x) in layers.iter().zip(&xs67) {
                black_box(l.forward(x).unwrap());
            }
        })
    });
    g.bench_function("f32 vocalis", |b| {
        let lin: Vec<Linear> = layers.iter().map(|l| Linear::new(l.2.clone(), None)).collect();
        b.iter(|| {
            for (l, x) in lin.iter().zip(&xs67) {
                black_box(l.forward(x).unwrap());
            }
        })
    });
    g.finish();

    // 30 layers: the weights stream from memory, as in a decoding step
    let mut all = Vec::new();
    for _ in 0..30 {
        for &(n, k) in &SHAPES {
            let w = Tensor::randn(0f32, 0.02, (n, k), &dev).unwrap();
            let q = QTensor::quantize(&w, GgmlDType::Q8_0).unwrap();
            all.push((Linear::from_qtensor(q, None).unwrap(), k));
        }
    }
    let xs: Vec<Tensor> =
        [1024, 4096].iter().map(|&k| Tensor::randn(0f32, 1.0, (1, k), &dev).unwrap()).collect();
    let mut g = c.benchmark_group("gpt_30_layers_from_memory");
    g.sample_size(20).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(5));
    g.bench_function("q8_0 vocalis (405 MB)", |b| {
        b.iter(|| {
            for (l, k) in &all {
                black_box(l.forward(&xs[usize::from(*k == 4096)]).unwrap());
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
