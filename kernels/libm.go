package kernels

import "math"

// Single-precision exp, sin and cos with the bits of glibc's libm, which
// ggml-cpu calls (expf in the online softmax of its flash attention and in
// scalar SiLU, sinf and cosf for the RoPE angles). Go's math functions round
// correctly in float64, so float32(math.Exp(x)) is the correctly rounded
// result; glibc's single-precision routines are accurate to about 0.5 ulp
// but not correctly rounded (expf differs on about one input in 10^4, sinf
// and cosf on about one in 70 RoPE angles), and those last bits are part of
// what llama.cpp computes.
//
// The algorithms are those of glibc 2.28 and later (from Arm's optimized
// routines): evaluation in float64 with a table-driven range reduction and
// short polynomials. On x86-64 CPUs with FMA, glibc selects builds of them
// compiled with FMA contraction, so every multiply-add a + b*c below is one
// fused multiply-add (math.FMA), as in those builds; the constants are the
// table values of that libm. TestLibmKnownValues checks values taken from
// glibc 2.36 where Go's correctly rounded result differs.

// expf returns e**x as glibc's expf does.
func expf(x float32) float32 {
	const (
		invLn2N = 0x1.71547652b82fep+5 // 32/ln2
		shift   = 0x1.8p+52
		c0      = 0x1.c6af84b912394p-20 // polynomial for 2^(r/32), scaled
		c1      = 0x1.ebfce50fac4f3p-13
		c2      = 0x1.62e42ff0c52d6p-6
	)
	ix := math.Float32bits(x)
	if abstop := ix >> 20 & 0x7ff; abstop >= 0x42b { // |x| >= 88, or NaN
		switch {
		case ix == 0xff800000: // -Inf
			return 0
		case abstop >= 0x7f8: // +Inf, NaN
			return x + x
		case x > 0x1.62e42ep6: // overflow
			return float32(math.Inf(1))
		case x < -0x1.9fe368p6: // underflow to zero
			return 0
		}
	}
	xd := float64(x)
	kd := math.FMA(invLn2N, xd, shift)
	ki := math.Float64bits(kd)
	kd -= shift
	r := math.FMA(invLn2N, xd, -kd)
	t := exp2fTab[ki%32] + ki<<47
	s := math.Float64frombits(t)
	z := math.FMA(c0, r, c1)
	r2 := r * r
	y := math.FMA(c2, r, 1)
	y = math.FMA(z, r2, y)
	return float32(y * s)
}

// exp2fTab[i] is the bits of 2^(i/32) minus i<<47 (glibc's __exp2f_data.tab).
var exp2fTab = [32]uint64{
	0x3ff0000000000000, 0x3fefd9b0d3158574, 0x3fefb5586cf9890f, 0x3fef9301d0125b51,
	0x3fef72b83c7d517b, 0x3fef54873168b9aa, 0x3fef387a6e756238, 0x3fef1e9df51fdee1,
	0x3fef06fe0a31b715, 0x3feef1a7373aa9cb, 0x3feedea64c123422, 0x3feece086061892d,
	0x3feebfdad5362a27, 0x3feeb42b569d4f82, 0x3feeab07dd485429, 0x3feea47eb03a5585,
	0x3feea09e667f3bcd, 0x3fee9f75e8ec5f74, 0x3feea11473eb0187, 0x3feea589994cce13,
	0x3feeace5422aa0db, 0x3feeb737b0cdc5e5, 0x3feec49182a3f090, 0x3feed503b23e255d,
	0x3feee89f995ad3ad, 0x3feeff76f2fb5e47, 0x3fef199bdd85529c, 0x3fef3720dcef9069,
	0x3fef5818dcfba487, 0x3fef7c97337b9b5f, 0x3fefa4afa2a490da, 0x3fefd0765b6e4540,
}

// sincosPoly holds glibc's polynomials for sinf and cosf on [-pi/4, pi/4];
// the second entry negates the cosine.
type sincosPoly struct {
	c0, c1, c2, c3, c4 float64 // cosine
	s1, s2, s3         float64 // sine
}

var sincosPolys = [2]sincosPoly{
	{1, -0x1.ffffffd0c621cp-2, 0x1.55553e1068f19p-5, -0x1.6c087e89a359dp-10, 0x1.99343027bf8c3p-16,
		-0x1.555545995a603p-3, 0x1.1107605230bc4p-7, -0x1.994eb3774cf24p-13},
	{-1, 0x1.ffffffd0c621cp-2, -0x1.55553e1068f19p-5, 0x1.6c087e89a359dp-10, -0x1.99343027bf8c3p-16,
		-0x1.555545995a603p-3, 0x1.1107605230bc4p-7, -0x1.994eb3774cf24p-13},
}

// sinfPoly evaluates the sine (n even) or cosine (n odd) polynomial at x,
// with x2 = x*x.
func sinfPoly(x, x2 float64, p *sincosPoly, n int) float32 {
	if n&1 == 0 {
		x3 := x * x2
		s1 := math.FMA(x2, p.s3, p.s2)
		x7 := x3 * x2
		s := math.FMA(x3, p.s1, x)
		return float32(math.FMA(x7, s1, s))
	}
	x4 := x2 * x2
	c2 := math.FMA(x2, p.c4, p.c3)
	c1 := math.FMA(x2, p.c1, p.c0)
	x6 := x4 * x2
	c := math.FMA(x4, p.c2, c1)
	return float32(math.FMA(x6, c2, c))
}

// sincosSign is the sign of the sine in quadrants 0..3.
var sincosSign = [4]float64{1, -1, -1, 1}

// invPio4 holds 4/pi to 192 bits, 8 new bits per entry (glibc's __inv_pio4).
var invPio4 = [24]uint32{
	0xa2, 0xa2f9, 0xa2f983, 0xa2f9836e,
	0xf9836e4e, 0x836e4e44, 0x6e4e4415, 0x4e441529,
	0x441529fc, 0x1529fc27, 0x29fc2757, 0xfc2757d1,
	0x2757d1f5, 0x57d1f534, 0xd1f534dd, 0xf534ddc0,
	0x34ddc0db, 0xddc0db62, 0xc0db6295, 0xdb629599,
	0x6295993c, 0x95993c43, 0x993c4390, 0x3c439041,
}

// reduceFast returns x modulo pi/2 in [-pi/4, pi/4] and the quadrant, for
// |x| < 120: the quadrant from x*2/pi scaled by 2^24 and truncated.
func reduceFast(x float64) (float64, int) {
	const hpiInv, hpi = 0x1.45f306dc9c883p+23, 0x1.921fb54442d18p+0
	r := x * hpiInv
	n := (int32(r) + 0x800000) >> 24
	return math.FMA(-float64(n), hpi, x), int(n)
}

// reduceLarge reduces |x| >= 120 (bits xi, sign ignored) modulo pi/2 with
// a 32x96-bit product by 4/pi.
func reduceLarge(xi uint32) (float64, int) {
	arr := invPio4[(xi>>26)&15:]
	shift := (xi >> 23) & 7
	xi = (xi&0xffffff | 0x800000) << shift
	res0 := uint64(xi * arr[0])
	res1 := uint64(xi) * uint64(arr[4])
	res2 := uint64(xi) * uint64(arr[8])
	res0 = res2>>32 | res0<<32
	res0 += res1
	n := (res0 + 1<<61) >> 62
	res0 -= n << 62
	return float64(int64(res0)) * 0x1.921fb54442d18p-62, int(n)
}

// sinf returns sin(y) as glibc's sinf does.
func sinf(y float32) float32 { return sincosf(y, false) }

// cosf returns cos(y) as glibc's cosf does.
func cosf(y float32) float32 { return sincosf(y, true) }

func sincosf(y float32, cos bool) float32 {
	x := float64(y)
	odd := 0 // 1 for the cosine: the polynomial of the other parity
	if cos {
		odd = 1
	}
	p := &sincosPolys[0]
	iy := math.Float32bits(y)
	switch top := iy >> 20 & 0x7ff; {
	case top < 0x3f4: // |y| < pi/4
		if top < 0x398 { // |y| < 2^-12
			if cos {
				return 1
			}
			return y
		}
		return sinfPoly(x, x*x, p, odd)
	case top < 0x42f: // |y| < 120
		r, n := reduceFast(x)
		s := sincosSign[n&3]
		if n&2 != 0 {
			p = &sincosPolys[1]
		}
		return sinfPoly(r*s, r*r, p, n^odd)
	case top < 0x7f8:
		r, n := reduceLarge(iy)
		sign := int(iy >> 31)
		s := sincosSign[(n+sign)&3]
		if (n+sign)&2 != 0 {
			p = &sincosPolys[1]
		}
		return sinfPoly(r*s, r*r, p, n^odd)
	}
	return float32(math.NaN()) // Inf or NaN
}

// powf returns x**y as glibc's powf does, for finite x > 0 and finite y
// with |y*log2(x)| < 126 (RoPE's freq_base**(-2/n_dims)); other arguments
// are left to math.Pow.
func powf(x, y float32) float32 {
	ix := math.Float32bits(x)
	if ix-0x00800000 >= 0x7f800000-0x00800000 || y == 0 || math.IsInf(float64(y), 0) || y != y {
		return float32(math.Pow(float64(x), float64(y)))
	}
	// log2(x) = log2(c) + log1p(z/c-1)/ln2 + k with x = 2^k z, z near c.
	const off = 0x3f330000
	tmp := ix - off
	i := (tmp >> 19) % 16
	top := tmp & 0xff800000
	z := float64(math.Float32frombits(ix - top))
	k := int32(top) >> 23
	r := math.FMA(z, powfLog2Tab[i].invc, -1)
	y0 := powfLog2Tab[i].logc + float64(k)
	r2 := r * r
	yl := math.FMA(powfLog2Poly[0], r, powfLog2Poly[1])
	p := math.FMA(powfLog2Poly[2], r, powfLog2Poly[3])
	r4 := r2 * r2
	q := math.FMA(powfLog2Poly[4], r, y0)
	q = math.FMA(p, r2, q)
	ylogx := float64(y) * math.FMA(yl, r4, q)
	if math.Float64bits(ylogx)>>47&0xffff >= math.Float64bits(126.0)>>47 {
		return float32(math.Pow(float64(x), float64(y)))
	}
	// 2^ylogx = 2^(k/32) * 2^r.
	const shift = 0x1.8p+52 / 32
	kd := ylogx + shift
	ki := math.Float64bits(kd)
	kd -= shift
	r = ylogx - kd
	s := math.Float64frombits(exp2fTab[ki%32] + ki<<47)
	zz := math.FMA(0x1.c6af84b912394p-5, r, 0x1.ebfce50fac4f3p-3)
	r2 = r * r
	yy := math.FMA(0x1.62e42ff0c52d6p-1, r, 1)
	yy = math.FMA(zz, r2, yy)
	return float32(yy * s)
}

// powfLog2Tab and powfLog2Poly are glibc's __powf_log2_data: 1/c and
// log2(c) for 16 subintervals, and the polynomial for log1p(r)/ln2.
var powfLog2Tab = [16]struct{ invc, logc float64 }{
	{0x1.661ec79f8f3bep+0, -0x1.efec65b963019p-2}, {0x1.571ed4aaf883dp+0, -0x1.b0b6832d4fca4p-2},
	{0x1.49539f0f010bp+0, -0x1.7418b0a1fb77bp-2}, {0x1.3c995b0b80385p+0, -0x1.39de91a6dcf7bp-2},
	{0x1.30d190c8864a5p+0, -0x1.01d9bf3f2b631p-2}, {0x1.25e227b0b8eap+0, -0x1.97c1d1b3b7afp-3},
	{0x1.1bb4a4a1a343fp+0, -0x1.2f9e393af3c9fp-3}, {0x1.12358f08ae5bap+0, -0x1.960cbbf788d5cp-4},
	{0x1.0953f419900a7p+0, -0x1.a6f9db6475fcep-5}, {0x1p+0, 0},
	{0x1.e608cfd9a47acp-1, 0x1.338ca9f24f53dp-4}, {0x1.ca4b31f026aap-1, 0x1.476a9543891bap-3},
	{0x1.b2036576afce6p-1, 0x1.e840b4ac4e4d2p-3}, {0x1.9c2d163a1aa2dp-1, 0x1.40645f0c6651cp-2},
	{0x1.886e6037841edp-1, 0x1.88e9c2c1b9ff8p-2}, {0x1.767dcf5534862p-1, 0x1.ce0a44eb17bccp-2},
}

var powfLog2Poly = [5]float64{
	0x1.27616c9496e0bp-2, -0x1.71969a075c67ap-2, 0x1.ec70a6ca7baddp-2, -0x1.7154748bef6c8p-1, 0x1.71547652ab82bp0,
}
