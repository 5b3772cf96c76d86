package kernels

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"

	"github.com/qilin-ai/qilin/quant"
)

var (
	bwOnce sync.Once
	bwGBs  float64
)

// machineBandwidth measures the read bandwidth once per test binary, with
// every CPU streaming through 1 GiB.
func machineBandwidth() float64 {
	bwOnce.Do(func() {
		p := NewPool(runtime.NumCPU())
		defer p.Close()
		bwGBs = p.ReadBandwidth(1<<30, 5) / 1e9
	})
	return bwGBs
}

// BenchmarkReadBandwidth reports the streaming read bandwidth of all
// threads over a buffer much larger than the caches: the decode roofline.
func BenchmarkReadBandwidth(b *testing.B) {
	for _, threads := range []int{1, runtime.NumCPU()} {
		b.Run(fmt.Sprintf("t=%d", threads), func(b *testing.B) {
			p := NewPool(threads)
			defer p.Close()
			var bw float64
			for i := 0; i < b.N; i++ {
				bw = p.ReadBandwidth(512<<20, 3)
			}
			b.ReportMetric(bw/1e9, "GB/s")
		})
	}
}

// benchTypes are the formats of real downloads.
var benchTypes = []quant.Type{quant.Q2_K, quant.Q3_K, quant.Q4_K, quant.Q5_K, quant.Q6_K, quant.Q8_0, quant.Q5_0, quant.Q4_0, quant.Q4_1, quant.Q5_1, quant.F16, quant.BF16, quant.F32}

// randomMatrix quantizes a rows x cols matrix of normal values to t.
func randomMatrix(tb testing.TB, t quant.Type, rows, cols int) Matrix {
	rng := rand.New(rand.NewPCG(uint64(rows), uint64(cols)))
	rb, err := t.RowSize(cols)
	if err != nil {
		tb.Fatal(err)
	}
	data := make([]byte, rows*rb)
	row := make([]float32, cols)
	for r := 0; r < rows; r++ {
		for i := range row {
			row[i] = float32(rng.NormFloat64())
		}
		if err := quant.Quantize(t, row, data[r*rb:(r+1)*rb]); err != nil {
			tb.Fatal(err)
		}
	}
	m, err := NewMatrix(t, rows, cols, data)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// BenchmarkDot times each kernel set's dot kernels on cache-resident rows of
// 4864 elements (Qwen2.5-0.5B's ffn width): the kernels' own speed, in
// weight bytes per second, one activation row and four.
func BenchmarkDot(b *testing.B) {
	const rows, cols = 64, 4864
	for _, ks := range kernelSets {
		for _, t := range benchTypes {
			if cols%t.BlockLen() != 0 {
				continue
			}
			w := randomMatrix(b, t, rows, cols)
			x := randVec(rand.New(rand.NewPCG(1, 1)), 4*cols, 1)
			at := quant.VecDotType(t)
			arb, _ := at.RowSize(cols)
			act := make([]byte, 4*arb)
			var ad []float32
			for i := 0; i < 4; i++ {
				ks.quantizeRow(at, x[i*cols:(i+1)*cols], act[i*arb:(i+1)*arb])
			}
			if at == quant.Q8_0 {
				ad = make([]float32, 4*cols/32)
				for i := 0; i < 4; i++ {
					q8Scales(act[i*arb:(i+1)*arb], ad[i*cols/32:(i+1)*cols/32])
				}
			}
			k := ks.dot(t)
			b.Run(fmt.Sprintf("%s/%s/n=1", ks.name, t), func(b *testing.B) {
				b.SetBytes(int64(w.RowBytes))
				var s float32
				for i := 0; i < b.N; i++ {
					r := i % rows
					s += k.one(cols, w.Data[r*w.RowBytes:(r+1)*w.RowBytes], act, ad)
				}
				sink = s
			})
			if k.rows != nil {
				b.Run(fmt.Sprintf("%s/%s/rows", ks.name, t), func(b *testing.B) {
					b.SetBytes(int64(len(w.Data)))
					out := make([]float32, rows)
					for i := 0; i < b.N; i++ {
						k.rows(cols, w.Data, w.RowBytes, act, ad, out)
					}
				})
			}
			if k.four == nil {
				continue
			}
			b.Run(fmt.Sprintf("%s/%s/n=4", ks.name, t), func(b *testing.B) {
				b.SetBytes(int64(w.RowBytes))
				out := make([]float32, 4)
				for i := 0; i < b.N; i++ {
					r := i % rows
					k.four(cols, w.Data[r*w.RowBytes:(r+1)*w.RowBytes], act, arb, ad, cols/32, out, 1)
				}
			})
			if k.tile.run == nil {
				continue
			}
			// The tiled kernel over 16 repacked rows (L2-resident, as a
			// MatMul chunk is), four activation rows: bytes are those of
			// the original weights, as for n=4.
			const tileRows = 16
			pb := tileBytes(cols)
			packed := make([]byte, tileRows/2*pb)
			for p := 0; p < tileRows/2; p++ {
				k.tile.repack(cols, w.Data[2*p*w.RowBytes:], w.Data[(2*p+1)*w.RowBytes:], packed[p*pb:])
			}
			b.Run(fmt.Sprintf("%s/%s/tile", ks.name, t), func(b *testing.B) {
				b.SetBytes(int64(tileRows * w.RowBytes))
				out := make([]float32, 4*tileRows)
				for i := 0; i < b.N; i++ {
					k.tile.run(cols, packed, tileRows/2, act, arb, ad, cols/32, out, tileRows)
				}
			})
		}
	}
}

var sink float32

// BenchmarkMatMul times MatMul on the matrix shapes of Qwen2.5-0.5B at
// decode (n=1) and prefill (n=64, 512) batch sizes, reporting weight GB/s,
// GFLOP/s (2*rows*cols*n per call) and, for decode, the share of the
// machine's measured read bandwidth (the roofline; "%bw"). Decode cycles
// through copies of the matrix totalling at least 256 MiB, so that weights
// come from memory as in a real model, not from the caches. Run with
// -benchtime=20x or so; the 151936-row output matrix is large.
func BenchmarkMatMul(b *testing.B) {
	shapes := []struct{ rows, cols int }{{896, 896}, {4864, 896}, {896, 4864}, {151936, 896}}
	bw := machineBandwidth()
	for _, t := range []quant.Type{quant.Q8_0, quant.Q5_0, quant.Q4_0, quant.Q4_K, quant.Q6_K, quant.F16} {
		for _, s := range shapes {
			if s.cols%t.BlockLen() != 0 || (s.rows > 100000 && t != quant.Q8_0 && t != quant.Q6_K) {
				continue
			}
			w := randomMatrix(b, t, s.rows, s.cols)
			copies := []Matrix{w}
			for len(copies)*len(w.Data) < 256<<20 {
				c := w
				c.Data = append([]byte(nil), w.Data...)
				copies = append(copies, c)
			}
			for _, n := range []int{1, 64, 512} {
				if n > 1 && s.rows > 100000 {
					continue
				}
				x := randVec(rand.New(rand.NewPCG(2, 2)), n*s.cols, 1)
				out := make([]float32, n*s.rows)
				scratch := make([]byte, ActivationBytes(t, s.cols, n))
				for _, threads := range []int{1, runtime.NumCPU()} {
					b.Run(fmt.Sprintf("%s/%dx%d/n=%d/t=%d", t, s.rows, s.cols, n, threads), func(b *testing.B) {
						p := NewPool(threads)
						defer p.Close()
						b.SetBytes(int64(len(w.Data)))
						for i := 0; i < b.N; i++ {
							p.MatMul(out, copies[i%len(copies)], x, n, scratch)
						}
						sec := b.Elapsed().Seconds() / float64(b.N)
						b.ReportMetric(2*float64(s.rows*s.cols*n)/sec/1e9, "GFLOP/s")
						if n == 1 && threads == runtime.NumCPU() {
							b.ReportMetric(100*float64(len(w.Data))/sec/1e9/bw, "%bw")
						}
					})
				}
			}
		}
	}
}

// BenchmarkParallelOverhead times an empty Parallel call over the pool's
// threads: the synchronization cost each MatMul pays.
func BenchmarkParallelOverhead(b *testing.B) {
	p := NewPool(runtime.NumCPU())
	defer p.Close()
	task := &sumTask{hits: make([]int32, 64)}
	for i := 0; i < b.N; i++ {
		p.Parallel(64, 8, task)
	}
}

// BenchmarkAttentionHead times one head of attention (head size 64) over
// 512 cached positions.
func BenchmarkAttentionHead(b *testing.B) {
	const hd, n = 64, 512
	rng := rand.New(rand.NewPCG(3, 3))
	k, v := make([]uint16, n*hd), make([]uint16, n*hd)
	for i := range k {
		k[i] = quant.FP32ToFP16(float32(rng.NormFloat64()))
		v[i] = quant.FP32ToFP16(float32(rng.NormFloat64()))
	}
	q := randVec(rng, hd, 1)
	out := make([]float32, hd)
	for _, ks := range kernelSets {
		b.Run(ks.name, func(b *testing.B) {
			s := NewAttnScratch(hd, hd)
			b.SetBytes(int64(4 * n * hd))
			for i := 0; i < b.N; i++ {
				attentionHead(ks, out, q, k, hd, v, hd, n, 0.125, s)
			}
		})
	}
}

// fastMatrix fills a rows x cols matrix of type t with random quants and
// small finite scales, without running the (slow) reference quantizer:
// speed does not depend on the values.
func fastMatrix(rng *rand.Rand, t quant.Type, rows, cols int) Matrix {
	rb, _ := t.RowSize(cols)
	data := make([]byte, rows*rb)
	for i := 0; i+8 <= len(data); i += 8 {
		binary.LittleEndian.PutUint64(data[i:], rng.Uint64())
	}
	switch t {
	case quant.F16, quant.BF16, quant.F32:
		x := randVec(rng, cols, 1)
		for r := 0; r < rows; r++ {
			quant.Quantize(t, x, data[r*rb:(r+1)*rb])
		}
	default:
		bs := t.BlockSize()
		for b := 0; b < len(data)/bs; b++ {
			for _, off := range scaleFields(t) {
				binary.LittleEndian.PutUint16(data[b*bs+off:], quant.FP32ToFP16(0.01))
			}
		}
	}
	m, _ := NewMatrix(t, rows, cols, data)
	return m
}

// qwen05Layer is one decoder layer of Qwen2.5-0.5B (n_embd 896, 14 heads
// of 64, 2 KV heads, n_ff 4864) as the weight types of a file.
type qwen05Layer struct{ q, k, v, o, gate, up, down Matrix }

// qwen05Weights builds the 24 layers and the tied output of Qwen2.5-0.5B
// with the tensor types llama-quantize gives the file: "q8_0" everywhere
// Q8_0; "q4_k_m" Q4_K with Q6_K for attn_v and ffn_down in the layers
// llama.cpp's use_more_bits picks, where 896-column tensors fall back to
// Q5_0 (for Q4_K) and Q8_0 (for Q6_K), and a Q8_0 output.
func qwen05Weights(mix string) (layers []qwen05Layer, output Matrix, bytes int) {
	const E, F, KV, L = 896, 4864, 128, 24
	rng := rand.New(rand.NewPCG(9, 9))
	moreBits := func(i int) bool { return i < L/8 || i >= 7*L/8 || (i-L/8)%3 == 2 }
	for i := 0; i < L; i++ {
		base, v, down := quant.Q8_0, quant.Q8_0, quant.Q8_0
		if mix == "q4_k_m" {
			base, v, down = quant.Q5_0, quant.Q5_0, quant.Q4_K
			if moreBits(i) {
				v, down = quant.Q8_0, quant.Q6_K
			}
		}
		l := qwen05Layer{
			q: fastMatrix(rng, base, E, E), k: fastMatrix(rng, base, KV, E), v: fastMatrix(rng, v, KV, E),
			o: fastMatrix(rng, base, E, E), gate: fastMatrix(rng, base, F, E), up: fastMatrix(rng, base, F, E),
			down: fastMatrix(rng, down, E, F),
		}
		for _, m := range []Matrix{l.q, l.k, l.v, l.o, l.gate, l.up, l.down} {
			bytes += len(m.Data)
		}
		layers = append(layers, l)
	}
	output = fastMatrix(rng, quant.Q8_0, 151936, E)
	return layers, output, bytes + len(output.Data)
}

// BenchmarkDecodeQwen05 runs the matrix products of one decode step of
// Qwen2.5-0.5B (every weight read once, as in generation) and reports
// tokens/s, weight GB/s and the share of the measured read bandwidth
// ("%bw", the roofline), with the bandwidth measured by the same threads
// just before the timed loop (machines here are shared and their bandwidth
// varies from minute to minute). Attention, norms and sampling are not
// included: they read little memory.
func BenchmarkDecodeQwen05(b *testing.B) {
	for _, mix := range []string{"q8_0", "q4_k_m"} {
		layers, output, bytes := qwen05Weights(mix)
		for _, threads := range []int{1, runtime.NumCPU()} {
			b.Run(fmt.Sprintf("%s/t=%d", mix, threads), func(b *testing.B) {
				p := NewPool(threads)
				defer p.Close()
				x := randVec(rand.New(rand.NewPCG(4, 4)), 4864, 1)
				out := make([]float32, 151936)
				scratch := make([]byte, ActivationBytes(quant.Q4_K, 4864, 1)+ActivationBytes(quant.Q8_0, 4864, 1))
				b.SetBytes(int64(bytes))
				bw := p.ReadBandwidth(512<<20, 3) / 1e9
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					qwen05Step(p, layers, output, x, 1, 1, out, scratch)
				}
				sec := b.Elapsed().Seconds() / float64(b.N)
				b.ReportMetric(1/sec, "tok/s")
				b.ReportMetric(bw, "bwGB/s")
				b.ReportMetric(100*float64(bytes)/sec/1e9/bw, "%bw")
			})
		}
	}
}

// qwen05Step runs the matrix products of one forward step of n tokens
// through the Qwen2.5-0.5B weights, the output projection for the first
// logits of them: x holds n rows of 4864 (the first 896 of each row feed
// the projections from the model width).
func qwen05Step(p *Pool, layers []qwen05Layer, output Matrix, x []float32, n, logits int, out []float32, scratch []byte) {
	for _, l := range layers {
		for _, m := range []Matrix{l.q, l.k, l.v, l.o, l.gate, l.up} {
			p.MatMul(out, m, x[:n*896], n, scratch)
		}
		p.MatMul(out, l.down, x[:n*4864], n, scratch)
	}
	p.MatMul(out, output, x[:logits*896], logits, scratch)
}

// BenchmarkPrefillQwen05 runs the matrix products of a 64-token prompt
// through Qwen2.5-0.5B (logits for the last token only, as generation
// needs) and reports tokens/s and GFLOP/s (2 x weights x tokens).
func BenchmarkPrefillQwen05(b *testing.B) {
	const n = 64
	for _, mix := range []string{"q8_0", "q4_k_m"} {
		layers, output, _ := qwen05Weights(mix)
		var params int
		for _, l := range layers {
			for _, m := range []Matrix{l.q, l.k, l.v, l.o, l.gate, l.up, l.down} {
				params += m.Rows * m.Cols
			}
		}
		for _, threads := range []int{1, runtime.NumCPU()} {
			b.Run(fmt.Sprintf("%s/n=%d/t=%d", mix, n, threads), func(b *testing.B) {
				p := NewPool(threads)
				defer p.Close()
				x := randVec(rand.New(rand.NewPCG(4, 4)), n*4864, 1)
				out := make([]float32, n*4864+151936)
				scratch := make([]byte, max(ActivationBytes(quant.Q8_0, 4864, n), ActivationBytes(quant.Q4_K, 4864, n)))
				for i := 0; i < b.N; i++ {
					qwen05Step(p, layers, output, x, n, 1, out, scratch)
				}
				sec := b.Elapsed().Seconds() / float64(b.N)
				b.ReportMetric(n/sec, "tok/s")
				b.ReportMetric(2*float64(params+output.Rows*output.Cols/n)*n/sec/1e9, "GFLOP/s")
			})
		}
	}
}

// BenchmarkBatchQwen05 runs the matrix products of one continuous-batching
// decode step of Qwen2.5-0.5B: B tokens of B sequences, every weight used
// by all of them and logits for each (the output projection with n = B),
// and reports aggregate tokens/s. The model-level figure (attention and
// the rest included) is engine's BenchmarkBatchDecode.
func BenchmarkBatchQwen05(b *testing.B) {
	for _, mix := range []string{"q8_0", "q4_k_m"} {
		layers, output, _ := qwen05Weights(mix)
		for _, n := range []int{1, 4, 8, 16, 32} {
			b.Run(fmt.Sprintf("%s/B=%d", mix, n), func(b *testing.B) {
				p := NewPool(runtime.NumCPU())
				defer p.Close()
				x := randVec(rand.New(rand.NewPCG(4, 4)), n*4864, 1)
				out := make([]float32, n*151936)
				scratch := make([]byte, max(ActivationBytes(quant.Q8_0, 4864, n), ActivationBytes(quant.Q4_K, 4864, n)))
				for i := 0; i < b.N; i++ {
					qwen05Step(p, layers, output, x, n, n, out, scratch)
				}
				b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "tok/s")
			})
		}
	}
}

// BenchmarkBatchKernels times the batched dot kernels of the active set on
// a chunk of weights that stays in L2, one thread, eight tokens: eight (in
// place), the tile kernel on repacked weights (two groups of four), the
// repacking alone, and four (two groups). It reports nanoseconds per
// (row, token, block of 32) product.
func BenchmarkBatchKernels(b *testing.B) {
	const rows, cols, n = 64, 896, 8
	rng := rand.New(rand.NewPCG(5, 5))
	for _, t := range []quant.Type{quant.Q8_0, quant.Q5_0} {
		k := active.dot(t)
		w := fastMatrix(rng, t, rows, cols)
		nb, arb := cols/32, 34*cols/32
		act, ad := make([]byte, n*arb), make([]float32, n*nb)
		for i := 0; i < n; i++ {
			active.quantizeRow(quant.Q8_0, randVec(rng, cols, 1), act[i*arb:(i+1)*arb])
			q8Scales(act[i*arb:(i+1)*arb], ad[i*nb:(i+1)*nb])
		}
		out := make([]float32, n*rows)
		pb := tileBytes(cols)
		packed := make([]byte, rows/2*pb)
		repack := func() {
			for p := 0; p < rows/2; p++ {
				k.tile.repack(cols, w.Data[2*p*w.RowBytes:], w.Data[(2*p+1)*w.RowBytes:], packed[p*pb:])
			}
		}
		variants := []struct {
			name string
			run  func()
		}{
			{"eight", func() { k.eight(cols, w.Data, w.RowBytes, rows, act, arb, ad, nb, out, rows) }},
			{"tile", func() {
				for i := 0; i < n; i += 4 {
					k.tile.run(cols, packed, rows/2, act[i*arb:], arb, ad[i*nb:], nb, out[i*rows:], rows)
				}
			}},
			{"repack", repack},
			{"four", func() {
				for i := 0; i < n; i += 4 {
					for r := 0; r < rows; r++ {
						k.four(cols, w.Data[r*w.RowBytes:], act[i*arb:], arb, ad[i*nb:], nb, out[i*rows+r:], rows)
					}
				}
			}},
		}
		repack()
		for _, v := range variants {
			if (v.name == "eight" && k.eight == nil) || (v.name != "eight" && v.name != "four" && k.tile.run == nil) {
				continue
			}
			b.Run(fmt.Sprintf("%s/%s", t, v.name), func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					v.run()
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(rows*n*nb), "ns/dot32")
			})
		}
	}
}

// BenchmarkSwiGLU times each kernel set's SwiGLU over one token's FFN
// activations of Qwen2.5-0.5B (4864).
func BenchmarkSwiGLU(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 5))
	gate, up := randVec(rng, 4864, 2), randVec(rng, 4864, 1)
	g := make([]float32, len(gate))
	for _, ks := range kernelSets {
		b.Run(ks.name, func(b *testing.B) {
			b.SetBytes(int64(8 * len(gate)))
			for i := 0; i < b.N; i++ {
				copy(g, gate)
				ks.swiglu(g, up)
			}
		})
	}
}
