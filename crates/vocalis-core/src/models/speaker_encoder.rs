//! The HiFi-GAN decoder's speaker encoder: `ResNetSpeakerEncoder` (ResNet-34 with
//! squeeze-excitation and attentive statistics pooling) of `TTS/encoder/models/resnet.py`,
//! spec §4.4.
//!
//! Traps reproduced: ReLU *before* BatchNorm in the stem and in every block; the mel front-end
//! uses the checkpoint's stored window and filterbank; `log(x + 1e-6)` then InstanceNorm; the
//! embedding is L2-normalised. BatchNorms are folded into per-channel affine maps at load.

use candle::{D, DType, Device, Module, Result, Tensor};
use candle_nn::VarBuilder;

use crate::audio::features::SpeakerFrontend;
use crate::nn::{BatchNorm, Linear};

struct Conv2d {
    weight: Tensor,
    bias: Option<Tensor>,
    stride: usize,
    padding: usize,
}

impl Conv2d {
    fn load(
        vb: &VarBuilder,
        cin: usize,
        cout: usize,
        k: usize,
        stride: usize,
        bias: bool,
    ) -> Result<Self> {
        Ok(Conv2d {
            weight: vb.get((cout, cin, k, k), "weight")?,
            bias: if bias { Some(vb.get(cout, "bias")?) } else { None },
            stride,
            padding: k / 2,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (b, c_in, h, w) = x.dims4()?;
        let (c_out, _, k, _) = self.weight.dims4()?;
        let y = if x.device().is_cpu() && x.dtype() == DType::F32 && b == 1 && !x.track_op() {
            let xs = x.flatten_all()?.to_vec1::<f32>()?;
            let ws = self.weight.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
            let (y, oh, ow) = crate::nn::conv_cpu::conv2d(
                &xs,
                c_in,
                h,
                w,
                &ws,
                c_out,
                k,
                self.stride,
                self.padding,
            );
            Tensor::from_vec(y, (1, c_out, oh, ow), x.device())?
        } else {
            x.conv2d(&self.weight, self.padding, self.stride, 1, 1)?
        };
        match &self.bias {
            Some(b) => y.broadcast_add(&b.reshape((1, (), 1, 1))?),
            None => Ok(y),
        }
    }
}

struct SeBlock {
    conv1: Conv2d,
    bn1: BatchNorm,
    conv2: Conv2d,
    bn2: BatchNorm,
    fc1: Linear,
    fc2: Linear,
    downsample: Option<(Conv2d, BatchNorm)>,
}

impl SeBlock {
    fn new(vb: VarBuilder, cin: usize, planes: usize, stride: usize) -> Result<Self> {
        let downsample = if stride != 1 || cin != planes {
            let d = vb.pp("downsample");
            Some((
                Conv2d::load(&d.pp("0"), cin, planes, 1, stride, false)?,
                BatchNorm::load(&d.pp("1"), planes, 1e-5)?,
            ))
        } else {
            None
        };
        Ok(SeBlock {
            conv1: Conv2d::load(&vb.pp("conv1"), cin, planes, 3, stride, false)?,
            bn1: BatchNorm::load(&vb.pp("bn1"), planes, 1e-5)?,
            conv2: Conv2d::load(&vb.pp("conv2"), planes, planes, 3, 1, false)?,
            bn2: BatchNorm::load(&vb.pp("bn2"), planes, 1e-5)?,
            fc1: Linear::load(&vb.pp("se.fc.0"), planes, planes / 8, true)?,
            fc2: Linear::load(&vb.pp("se.fc.2"), planes / 8, planes, true)?,
            downsample,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let o = self.bn1.forward(&self.conv1.forward(x)?.relu()?)?;
        let o = self.bn2.forward(&self.conv2.forward(&o)?)?;
        // squeeze-excitation
        let y = o.mean((2, 3))?; // [B, C]
        let y = candle_nn::ops::sigmoid(&self.fc2.forward(&self.fc1.forward(&y)?.relu()?)?)?;
        let o = o.broadcast_mul(&y.unsqueeze(2)?.unsqueeze(3)?)?;
        let res = match &self.downsample {
            Some((c, bn)) => bn.forward(&c.forward(x)?)?,
            None => x.clone(),
        };
        (o + res)?.relu()
    }
}

/// `ResNetSpeakerEncoder(input_dim=64, proj_dim=512, layers=[3,4,6,3], filters=[32,64,128,256],
/// encoder_type="ASP", log_input=True, use_torch_spec=True)`.
pub struct SpeakerEncoder {
    frontend: SpeakerFrontend,
    conv1: Conv2d,
    bn1: BatchNorm,
    layers: Vec<SeBlock>,
    att1: Linear,
    att_bn: BatchNorm,
    att2: Linear,
    fc: Linear,
    device: Device,
}

impl SpeakerEncoder {
    /// Loads `hifigan_decoder.speaker_encoder` (pass that prefix).
    pub fn new(vb: VarBuilder) -> Result<Self> {
        let frontend = if vb.contains_tensor("torch_spec.1.mel_scale.fb") {
            let w = vb
                .get(400, "torch_spec.1.spectrogram.window")?
                .to_dtype(DType::F32)?
                .to_vec1::<f32>()?;
            let fb = vb
                .get((257, 64), "torch_spec.1.mel_scale.fb")?
                .to_dtype(DType::F32)?
                .flatten_all()?
                .to_vec1::<f32>()?;
            let filt = vb
                .get((1, 1, 2), "torch_spec.0.filter")?
                .to_dtype(DType::F32)?
                .flatten_all()?
                .to_vec1::<f32>()?;
            SpeakerFrontend::new(&w, &fb, -filt[0])
        } else {
            SpeakerFrontend::computed()
        };
        let filters = [32usize, 64, 128, 256];
        let counts = [3usize, 4, 6, 3];
        let mut layers = Vec::new();
        let mut cin = 32;
        for (li, (&planes, &n)) in filters.iter().zip(&counts).enumerate() {
            for bi in 0..n {
                let stride = if li > 0 && bi == 0 { 2 } else { 1 };
                layers.push(SeBlock::new(
                    vb.pp(format!("layer{}", li + 1)).pp(bi),
                    cin,
                    planes,
                    stride,
                )?);
                cin = planes;
            }
        }
        let out_dim = 256 * 8;
        Ok(SpeakerEncoder {
            frontend,
            conv1: Conv2d::load(&vb.pp("conv1"), 1, 32, 3, 1, true)?,
            bn1: BatchNorm::load(&vb.pp("bn1"), 32, 1e-5)?,
            layers,
            att1: Linear::load_pointwise_conv(&vb.pp("attention.0"), out_dim, 128)?,
            att_bn: BatchNorm::load(&vb.pp("attention.2"), 128, 1e-5)?,
            att2: Linear::load_pointwise_conv(&vb.pp("attention.3"), 128, out_dim)?,
            fc: Linear::load(&vb.pp("fc"), out_dim * 2, 512, true)?,
            device: vb.device().clone(),
        })
    }

    /// The final projection's weight `[512, 4096]` (for profile fingerprints).
    pub fn fc_weight(&self) -> Option<&Tensor> {
        self.fc.weight()
    }

    /// The log-mel + InstanceNorm features `[64][T]` of a 16 kHz waveform.
    pub fn features(&self, wav16: &[f32]) -> crate::Result<(Vec<f32>, usize)> {
        let (mut mel, t) = self.frontend.mel_power(wav16)?;
        SpeakerFrontend::log_instance_norm(&mut mel, t);
        Ok((mel, t))
    }

    /// The linear mel power of the front-end (golden `spk_mel`).
    pub fn mel_power(&self, wav16: &[f32]) -> crate::Result<(Vec<f32>, usize)> {
        self.frontend.mel_power(wav16)
    }

    /// Embedding `[512]` (L2-normalised) of normalised features `[64][T]`.
    pub fn embed_features(&self, feats: &[f32], t: usize) -> Result<Tensor> {
        let x = Tensor::from_slice(feats, (1, 1, 64, t), &self.device)?;
        let x = self.bn1.forward(&self.conv1.forward(&x)?.relu()?)?;
        let mut x = x;
        for l in &self.layers {
            x = l.forward(&x)?;
        }
        let (b, c, f, tt) = x.dims4()?;
        let x = x.reshape((b, c * f, tt))?; // [B, 2048, T']
        let xt = x.transpose(1, 2)?; // [B, T', 2048]
        let w = self.att1.forward(&xt)?.relu()?; // [B, T', 128]
        let w = self.att_bn.forward(&w.transpose(1, 2)?)?; // [B, 128, T']
        let w = self.att2.forward(&w.transpose(1, 2)?)?.transpose(1, 2)?; // [B, 2048, T']
        let w = candle_nn::ops::softmax_last_dim(&w.contiguous()?)?;
        let mu = (&x * &w)?.sum(D::Minus1)?;
        let sg =
            ((x.sqr()? * &w)?.sum(D::Minus1)? - mu.sqr()?)?.clamp(1e-5, f64::INFINITY)?.sqrt()?;
        let e = self.fc.forward(&Tensor::cat(&[&mu, &sg], 1)?)?; // [B, 512]
        let norm = e.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12, f64::INFINITY)?;
        e.broadcast_div(&norm)?.squeeze(0)
    }

    /// `get_speaker_embedding` of a 16 kHz waveform: `[512]`.
    pub fn embed(&self, wav16: &[f32]) -> crate::Result<Tensor> {
        let (f, t) = self.features(wav16)?;
        Ok(self.embed_features(&f, t)?)
    }
}

impl Module for SpeakerEncoder {
    fn forward(&self, feats: &Tensor) -> Result<Tensor> {
        let t = feats.dim(D::Minus1)?;
        let v = feats.flatten_all()?.to_vec1::<f32>()?;
        self.embed_features(&v, t)
    }
}
