package main

import (
	"bytes"
	"fmt"
	"strings"
)

// The emitter: Go assembler syntax for control flow, general-purpose
// arithmetic, loads and stores (which the Go arm64 assembler supports), and
// WORD-encoded instructions with their ARM syntax in a comment for the
// Advanced SIMD and scalar floating-point data processing it lacks. The
// encodings are checked against llvm-mc by encode_test.go.

// gen accumulates the assembly text and the Go declarations of the
// generated functions.
type gen struct {
	asm, stubs bytes.Buffer
	args       map[string]string // argument name -> "name+off(FP)" of the current function
	expSym     string            // the constants of exp, once declared
}

// V is a vector register V0..V31 (its low lanes are also the scalar
// registers B, H, S and D of the same number).
type V uint32

// arr is a vector arrangement.
type arr int

const (
	B8 arr = iota
	B16
	H4
	H8
	S2
	S4
	D2
)

var arrNames = [...]string{"8b", "16b", "4h", "8h", "2s", "4s", "2d"}

func (a arr) String() string { return arrNames[a] }

// q is the Q bit: 1 for 128-bit arrangements.
func (a arr) q() uint32 {
	switch a {
	case B16, H8, S4, D2:
		return 1
	}
	return 0
}

// size is the element size field: 0 bytes, 1 halves, 2 words, 3 doublewords.
func (a arr) size() uint32 {
	switch a {
	case B8, B16:
		return 0
	case H4, H8:
		return 1
	case S2, S4:
		return 2
	}
	return 3
}

// half returns the arrangement of the same element size in 64 bits.
func (a arr) half() arr {
	switch a {
	case B16:
		return B8
	case H8:
		return H4
	case S4:
		return S2
	}
	return a
}

// wide returns the 128-bit arrangement of elements twice the size.
func (a arr) wide() arr {
	switch a.size() {
	case 0:
		return H8
	case 1:
		return S4
	}
	return D2
}

// full returns the 128-bit arrangement of the same element size.
func (a arr) full() arr {
	switch a {
	case B8:
		return B16
	case H4:
		return H8
	case S2:
		return S4
	}
	return a
}

// scalar names the scalar register of an element size: b, h, s, d.
func scalar(size uint32) string { return string("bhsd"[size]) }

// op emits one line of Go assembly.
func (g *gen) op(format string, a ...any) {
	fmt.Fprintf(&g.asm, "\t"+format+"\n", a...)
}

// label emits a label.
func (g *gen) label(name string) { fmt.Fprintf(&g.asm, "%s:\n", name) }

// comment emits a comment line.
func (g *gen) comment(format string, a ...any) {
	fmt.Fprintf(&g.asm, "\t// "+format+"\n", a...)
}

// enc emits an encoded instruction with its ARM syntax.
func (g *gen) enc(w uint32, format string, a ...any) {
	fmt.Fprintf(&g.asm, "\tWORD\t$0x%08x\t// %s\n", w, fmt.Sprintf(format, a...))
}

func v(n V, a arr) string { return fmt.Sprintf("v%d.%s", n, a) }

func fields(d, n, m V) uint32 { return uint32(m)<<16 | uint32(n)<<5 | uint32(d) }

// three emits an integer instruction of the three-same group.
func (g *gen) three(name string, u, opc uint32, a arr, d, n, m V) {
	g.enc(0x0E200400|a.q()<<30|u<<29|a.size()<<22|opc<<11|fields(d, n, m), "%s %s, %s, %s", name, v(d, a), v(n, a), v(m, a))
}

func (g *gen) add(a arr, d, n, m V)   { g.three("add", 0, 0b10000, a, d, n, m) }
func (g *gen) sub(a arr, d, n, m V)   { g.three("sub", 1, 0b10000, a, d, n, m) }
func (g *gen) addp(a arr, d, n, m V)  { g.three("addp", 0, 0b10111, a, d, n, m) }
func (g *gen) smin(a arr, d, n, m V)  { g.three("smin", 0, 0b01101, a, d, n, m) }
func (g *gen) cmtst(a arr, d, n, m V) { g.three("cmtst", 0, 0b10001, a, d, n, m) }

// cmgt: d = all ones where n > m (signed).
func (g *gen) cmgt(a arr, d, n, m V) { g.three("cmgt", 0, 0b00110, a, d, n, m) }

// logic emits a bitwise instruction on 16 bytes (the size field selects it).
func (g *gen) logic(name string, u, size uint32, d, n, m V) {
	g.enc(0x4E201C00|u<<29|size<<22|fields(d, n, m), "%s %s, %s, %s", name, v(d, B16), v(n, B16), v(m, B16))
}

func (g *gen) and(d, n, m V) { g.logic("and", 0, 0, d, n, m) }

// bsl: d = d ? n : m, bit by bit.
func (g *gen) bsl(d, n, m V) { g.logic("bsl", 1, 1, d, n, m) }

// bic: d = n &^ m.
func (g *gen) bic(d, n, m V) { g.logic("bic", 0, 1, d, n, m) }
func (g *gen) orr(d, n, m V) { g.logic("orr", 0, 2, d, n, m) }
func (g *gen) eor(d, n, m V) { g.logic("eor", 1, 0, d, n, m) }

// fthree emits a floating-point instruction of the three-same group on S2,
// S4 or D2.
func (g *gen) fthree(name string, u, a23, opc uint32, a arr, d, n, m V) {
	g.enc(0x0E200400|a.q()<<30|u<<29|a23<<23|(a.size()&1)<<22|opc<<11|fields(d, n, m), "%s %s, %s, %s", name, v(d, a), v(n, a), v(m, a))
}

func (g *gen) fadd(a arr, d, n, m V)  { g.fthree("fadd", 0, 0, 0b11010, a, d, n, m) }
func (g *gen) fsub(a arr, d, n, m V)  { g.fthree("fsub", 0, 1, 0b11010, a, d, n, m) }
func (g *gen) fmul(a arr, d, n, m V)  { g.fthree("fmul", 1, 0, 0b11011, a, d, n, m) }
func (g *gen) fmax(a arr, d, n, m V)  { g.fthree("fmax", 0, 0, 0b11110, a, d, n, m) }
func (g *gen) fdiv(a arr, d, n, m V)  { g.fthree("fdiv", 1, 0, 0b11111, a, d, n, m) }
func (g *gen) fcmgt(a arr, d, n, m V) { g.fthree("fcmgt", 1, 1, 0b11100, a, d, n, m) }

// fmla: d += n*m; fmls: d -= n*m, each lane rounded once.
func (g *gen) fmla(a arr, d, n, m V)  { g.fthree("fmla", 0, 0, 0b11001, a, d, n, m) }
func (g *gen) fmls(a arr, d, n, m V)  { g.fthree("fmls", 0, 1, 0b11001, a, d, n, m) }
func (g *gen) fcmeq(a arr, d, n, m V) { g.fthree("fcmeq", 0, 0, 0b11100, a, d, n, m) }

// long emits a three-different instruction: d (wide) from n and m of
// arrangement a, the upper halves ("2" form) when a is 128-bit.
func (g *gen) long(name string, u, opc uint32, a arr, d, n, m V) {
	suffix := ""
	if a.q() == 1 {
		suffix = "2"
	}
	g.enc(0x0E200000|a.q()<<30|u<<29|a.size()<<22|opc<<12|fields(d, n, m), "%s%s %s, %s, %s", name, suffix, v(d, a.wide()), v(n, a), v(m, a))
}

// smull: d = n * m widened; smlal: d += n * m widened.
func (g *gen) smull(a arr, d, n, m V) { g.long("smull", 0, 0b1100, a, d, n, m) }
func (g *gen) smlal(a arr, d, n, m V) { g.long("smlal", 0, 0b1000, a, d, n, m) }

// elemIndex returns the H, L and M bits and the Rm field of an element
// operand m[idx] of size (1: halves, m < 16; 2: words).
func elemIndex(size uint32, m V, idx int) uint32 {
	i := uint32(idx)
	switch size {
	case 1:
		if m > 15 || idx > 7 {
			panic(fmt.Sprintf("element operand v%d.h[%d]", m, idx))
		}
		return (i>>2)<<11 | (i>>1&1)<<21 | (i&1)<<20 | uint32(m)<<16
	case 2:
		if idx > 3 {
			panic(fmt.Sprintf("element operand v%d.s[%d]", m, idx))
		}
		return (i>>1)<<11 | (i&1)<<21 | uint32(m)<<16
	case 3:
		if idx > 1 {
			panic(fmt.Sprintf("element operand v%d.d[%d]", m, idx))
		}
		return i<<11 | uint32(m)<<16
	}
	panic("element size")
}

// longElem emits a long multiply by element: d (wide) op= n * m[idx].
func (g *gen) longElem(name string, base uint32, a arr, d, n, m V, idx int) {
	suffix := ""
	if a.q() == 1 {
		suffix = "2"
	}
	g.enc(base|a.q()<<30|a.size()<<22|elemIndex(a.size(), m, idx)|uint32(n)<<5|uint32(d), "%s%s %s, %s, v%d.%s[%d]", name, suffix, v(d, a.wide()), v(n, a), m, scalar(a.size()), idx)
}

// smlalElem: d (4 words) += n (4 halves, the upper ones for H8) * m.h[idx].
func (g *gen) smlalElem(a arr, d, n, m V, idx int) { g.longElem("smlal", 0x0F002000, a, d, n, m, idx) }

// smullElem: d (4 words) = n (4 halves, the upper ones for H8) * m.h[idx].
func (g *gen) smullElem(a arr, d, n, m V, idx int) { g.longElem("smull", 0x0F00A000, a, d, n, m, idx) }

// felem emits a floating-point multiply by element on S2, S4 or D2.
func (g *gen) felem(name string, base uint32, a arr, d, n, m V, idx int) {
	sz := a.size() & 1
	g.enc(base|a.q()<<30|sz<<22|elemIndex(a.size(), m, idx)|uint32(n)<<5|uint32(d), "%s %s, %s, v%d.%s[%d]", name, v(d, a), v(n, a), m, scalar(a.size()), idx)
}

// fmlsElem: d -= n * m[idx], each lane rounded once.
func (g *gen) fmlsElem(a arr, d, n, m V, idx int) { g.felem("fmls", 0x0F805000, a, d, n, m, idx) }

// fmlaElem: d += n * m.s[idx], each lane rounded once.
func (g *gen) fmlaElem(a arr, d, n, m V, idx int) { g.felem("fmla", 0x0F801000, a, d, n, m, idx) }

// fmulElem: d = n * m.s[idx].
func (g *gen) fmulElem(a arr, d, n, m V, idx int) { g.felem("fmul", 0x0F809000, a, d, n, m, idx) }

// misc emits a two-register-miscellaneous instruction with explicit
// arrangement text.
func (g *gen) misc(name string, u, size, opc, q uint32, d, n V, da, na arr) {
	g.enc(0x0E200800|q<<30|u<<29|size<<22|opc<<12|uint32(n)<<5|uint32(d), "%s %s, %s", name, v(d, da), v(n, na))
}

// saddlp: d (wide) = pairwise sums of n; sadalp adds them to d.
func (g *gen) saddlp(a arr, d, n V) {
	g.misc("saddlp", 0, a.size(), 0b00010, a.q(), d, n, wideOf(a), a)
}

// wideOf is the arrangement of the pairwise long sums of a.
func wideOf(a arr) arr {
	w := a.wide()
	if a.q() == 0 {
		return w.half()
	}
	return w
}

// xtn narrows a (wide, 128-bit) to its low halves: into the lower half of d,
// or with hi the upper half (xtn2).
func (g *gen) xtn(a arr, d, n V, hi bool) {
	na := []arr{H8, S4, D2}[a.size()]
	name, q, da := "xtn", uint32(0), a.half()
	if hi {
		name, q, da = "xtn2", 1, a.full()
	}
	g.misc(name, 0, a.size(), 0b10010, q, d, n, da, na)
}

// fcvtl widens the lower (or with hi the upper) floats of n: halves to
// words (toWords) or words to doublewords.
func (g *gen) fcvtl(d, n V, toWords, hi bool) {
	sz, da, na := uint32(0), S4, H4
	if !toWords {
		sz, da, na = 1, D2, S2
	}
	name, q := "fcvtl", uint32(0)
	if hi {
		name, q, na = "fcvtl2", 1, na.full()
	}
	g.misc(name, 0, sz, 0b10111, q, d, n, da, na)
}

// fcvtn narrows words to halves in the lower (or with hi upper) half of d,
// rounding to nearest even.
func (g *gen) fcvtn(d, n V, hi bool) {
	name, q, da := "fcvtn", uint32(0), H4
	if hi {
		name, q, da = "fcvtn2", 1, H8
	}
	g.misc(name, 0, 0, 0b10110, q, d, n, da, S4)
}

// widenH converts the 8 halves of a to floats in lo (0..3) and hi (4..7);
// narrowH converts them back to a, rounding to nearest even.
func (g *gen) widenH(lo, hi, a V) {
	g.fcvtl(lo, a, true, false)
	g.fcvtl(hi, a, true, true)
}

func (g *gen) narrowH(a, lo, hi V) {
	g.fcvtn(a, lo, false)
	g.fcvtn(a, hi, true)
}

// scvtf converts 4 int32 lanes to float32.
func (g *gen) scvtf(d, n V) { g.misc("scvtf", 0, 0, 0b11101, 1, d, n, S4, S4) }

// fcvtns converts 4 float32 lanes to int32, rounding to nearest even and
// saturating.
func (g *gen) fcvtns(d, n V) { g.misc("fcvtns", 0, 0, 0b11010, 1, d, n, S4, S4) }

// fabs clears the sign bits of 4 float32 lanes.
func (g *gen) fabs(d, n V) { g.misc("fabs", 0, 2, 0b01111, 1, d, n, S4, S4) }

// Floating-point two-register operations on 4S or 2D.

func (g *gen) fmisc(name string, u, hi, opc uint32, a arr, d, n V) {
	g.misc(name, u, hi<<1|a.size()&1, opc, 1, d, n, a, a)
}

// fneg negates; fabsv clears the sign bits.
func (g *gen) fneg(a arr, d, n V)  { g.fmisc("fneg", 1, 1, 0b01111, a, d, n) }
func (g *gen) fabsv(a arr, d, n V) { g.fmisc("fabs", 0, 1, 0b01111, a, d, n) }

// fcvtzs converts to integers rounding toward zero; scvtfv from signed
// integers.
func (g *gen) fcvtzs(a arr, d, n V) { g.fmisc("fcvtzs", 0, 1, 0b11011, a, d, n) }
func (g *gen) scvtfv(a arr, d, n V) { g.fmisc("scvtf", 0, 0, 0b11101, a, d, n) }

// fcmlt0: d = all ones where n < 0.
func (g *gen) fcmlt0(a arr, d, n V) {
	g.enc(0x0E20E800|a.q()<<30|1<<23|(a.size()&1)<<22|uint32(n)<<5|uint32(d), "fcmlt %s, %s, #0.0", v(d, a), v(n, a))
}

// fcvtnD narrows 2 doublewords of n to floats in the lower (or with hi
// upper) half of d, rounding to nearest even.
func (g *gen) fcvtnD(d, n V, hi bool) {
	name, q, da := "fcvtn", uint32(0), S2
	if hi {
		name, q, da = "fcvtn2", 1, S4
	}
	g.misc(name, 0, 1, 0b10110, q, d, n, da, D2)
}

// shll16 widens 4 halves (the upper ones with hi) to words shifted left by
// 16: bfloat16 to float32.
func (g *gen) shll16(d, n V, hi bool) {
	name, q, na := "shll", uint32(0), H4
	if hi {
		name, q, na = "shll2", 1, H8
	}
	g.enc(0x2E213800|q<<30|1<<22|uint32(n)<<5|uint32(d), "%s %s, %s, #16", name, v(d, S4), v(n, na))
}

// across emits an across-lanes reduction into scalar register d.
func (g *gen) across(name string, u, opc uint32, a arr, dsize uint32, d, n V) {
	g.enc(0x0E300800|a.q()<<30|u<<29|a.size()<<22|opc<<12|uint32(n)<<5|uint32(d), "%s %s%d, %s", name, scalar(dsize), d, v(n, a))
}

// addv: d = sum of the lanes (modulo the lane width).
func (g *gen) addv(a arr, d, n V) { g.across("addv", 0, 0b11011, a, a.size(), d, n) }

// saddlv: d = sum of the signed lanes, widened.
func (g *gen) saddlv(a arr, d, n V) { g.across("saddlv", 0, 0b00011, a, a.size()+1, d, n) }

// fmaxv: d = largest of 4 float32 lanes.
func (g *gen) fmaxv(d, n V) {
	g.enc(0x6E30F800|uint32(n)<<5|uint32(d), "fmaxv s%d, %s", d, v(n, S4))
}

// umaxv: d = largest unsigned lane.
func (g *gen) umaxv(a arr, d, n V) { g.across("umaxv", 1, 0b01010, a, a.size(), d, n) }

// shiftImm emits a shift by immediate with immh:immb given.
func (g *gen) shiftImm(name string, u, opc uint32, a arr, d, n V, immhb uint32, sh int, da, na arr) {
	g.enc(0x0F000400|a.q()<<30|u<<29|immhb<<16|opc<<11|uint32(n)<<5|uint32(d), "%s %s, %s, #%d", name, v(d, da), v(n, na), sh)
}

func esize(a arr) uint32 { return 8 << a.size() }

// ushr, sshr: d = n >> sh per lane (logical, arithmetic); shl: d = n << sh.
func (g *gen) ushr(a arr, d, n V, sh int) {
	g.shiftImm("ushr", 1, 0, a, d, n, 2*esize(a)-uint32(sh), sh, a, a)
}
func (g *gen) shl(a arr, d, n V, sh int) {
	g.shiftImm("shl", 0, 0b01010, a, d, n, esize(a)+uint32(sh), sh, a, a)
}

// sli shifts n left by sh and inserts it into d, keeping d's low sh bits
// of each lane.
func (g *gen) sli(a arr, d, n V, sh int) {
	g.shiftImm("sli", 1, 0b01010, a, d, n, esize(a)+uint32(sh), sh, a, a)
}

// sxtl, uxtl widen the lower (or for 128-bit a, upper) lanes of n.
func (g *gen) sxtl(a arr, d, n V) { g.extend("sxtl", 0, a, d, n) }
func (g *gen) uxtl(a arr, d, n V) { g.extend("uxtl", 1, a, d, n) }

func (g *gen) extend(name string, u uint32, a arr, d, n V) {
	if a.q() == 1 {
		name += "2"
	}
	g.enc(0x0F00A400|a.q()<<30|u<<29|esize(a)<<16|uint32(n)<<5|uint32(d), "%s %s, %s", name, v(d, a.wide()), v(n, a))
}

// movi16b sets 16 bytes to imm.
func (g *gen) movi16b(d V, imm uint8) {
	g.enc(0x4F00E400|uint32(imm>>5)<<16|uint32(imm&31)<<5|uint32(d), "movi %s, #%d", v(d, B16), imm)
}

// fmov1 sets the 4 floats of d to 1.
func (g *gen) fmov1(d V) { g.enc(0x4F03F600|uint32(d), "fmov %s, #1.0", v(d, S4)) }

// zero clears vector registers.
func (g *gen) zero(ds ...V) {
	for _, d := range ds {
		g.enc(0x6F00E400|uint32(d), "movi %s, #0", v(d, D2))
	}
}

// movi4s sets 4 words to imm8 << shift (shift 0, 8, 16 or 24).
func (g *gen) movi4s(d V, imm uint8, shift int) {
	g.enc(0x4F000400|uint32(imm>>5)<<16|uint32(shift/8*2)<<12|uint32(imm&31)<<5|uint32(d), "movi %s, #%d, lsl #%d", v(d, S4), imm, shift)
}

// imm5 encodes a lane index of element size.
func imm5(size uint32, idx int) uint32 { return (uint32(idx)<<1|1)<<size | 0 }

// dupElem: every lane of d = n.T[idx].
func (g *gen) dupElem(a arr, d, n V, idx int) {
	g.enc(0x0E000400|a.q()<<30|imm5(a.size(), idx)<<16|uint32(n)<<5|uint32(d), "dup %s, v%d.%s[%d]", v(d, a), n, scalar(a.size()), idx)
}

// dupGP: every lane of d = general register r.
func (g *gen) dupGP(a arr, d V, r int) {
	reg := "w"
	if a.size() == 3 {
		reg = "x"
	}
	g.enc(0x0E000C00|a.q()<<30|imm5(a.size(), 0)<<16|uint32(r)<<5|uint32(d), "dup %s, %s%d", v(d, a), reg, r)
}

// insGP: lane idx (of element size) of d = general register r.
func (g *gen) insGP(size uint32, d V, idx int, r int) {
	reg := "w"
	if size == 3 {
		reg = "x"
	}
	g.enc(0x4E001C00|imm5(size, idx)<<16|uint32(r)<<5|uint32(d), "mov v%d.%s[%d], %s%d", d, scalar(size), idx, reg, r)
}

// insElem: lane di of d = lane ni of n.
func (g *gen) insElem(size uint32, d V, di int, n V, ni int) {
	g.enc(0x6E000400|imm5(size, di)<<16|uint32(ni)<<(11+size)|uint32(n)<<5|uint32(d), "mov v%d.%s[%d], v%d.%s[%d]", d, scalar(size), di, n, scalar(size), ni)
}

// movScalar: scalar register d (of element size) = n.T[idx].
func (g *gen) movScalar(size uint32, d, n V, idx int) {
	g.enc(0x5E000400|imm5(size, idx)<<16|uint32(n)<<5|uint32(d), "mov %s%d, v%d.%s[%d]", scalar(size), d, n, scalar(size), idx)
}

// perm emits zip/uzp/trn.
func (g *gen) perm(name string, opc uint32, a arr, d, n, m V) {
	g.enc(0x0E000800|a.q()<<30|a.size()<<22|opc<<12|fields(d, n, m), "%s %s, %s, %s", name, v(d, a), v(n, a), v(m, a))
}

func (g *gen) zip1(a arr, d, n, m V) { g.perm("zip1", 0b011, a, d, n, m) }
func (g *gen) zip2(a arr, d, n, m V) { g.perm("zip2", 0b111, a, d, n, m) }

// ext: d = bytes imm.. of the concatenation n:m (16 bytes).
func (g *gen) ext(d, n, m V, imm int) {
	g.enc(0x6E000000|uint32(imm)<<11|fields(d, n, m), "ext %s, %s, %s, #%d", v(d, B16), v(n, B16), v(m, B16), imm)
}

// tbl: d[i] = n[m[i]] (0 when m[i] > 15).
func (g *gen) tbl(d, n, m V) {
	g.enc(0x4E000000|fields(d, n, m), "tbl %s, {%s}, %s", v(d, B16), v(n, B16), v(m, B16))
}

// sdot: lane i of d (4 words) += sum of products of bytes 4i..4i+3 of n and m.
func (g *gen) sdot(d, n, m V) {
	g.enc(0x4E809400|fields(d, n, m), "sdot %s, %s, %s", v(d, S4), v(n, B16), v(m, B16))
}

// Scalar floating point. ftype: 0 single, 1 double, 3 half.

func fname(ftype uint32, n V) string {
	return fmt.Sprintf("%s%d", map[uint32]string{0: "s", 1: "d", 3: "h"}[ftype], n)
}

func (g *gen) fp2(name string, opc, ftype uint32, d, n, m V) {
	g.enc(0x1E200800|ftype<<22|opc<<12|fields(d, n, m), "%s %s, %s, %s", name, fname(ftype, d), fname(ftype, n), fname(ftype, m))
}

func (g *gen) fmuls(d, n, m V) { g.fp2("fmul", 0b0000, 0, d, n, m) }
func (g *gen) fdivs(d, n, m V) { g.fp2("fdiv", 0b0001, 0, d, n, m) }
func (g *gen) fadds(d, n, m V) { g.fp2("fadd", 0b0010, 0, d, n, m) }
func (g *gen) fsubs(d, n, m V) { g.fp2("fsub", 0b0011, 0, d, n, m) }
func (g *gen) faddd(d, n, m V) { g.fp2("fadd", 0b0010, 1, d, n, m) }

// fcvt converts scalar n of type from to d of type to.
func (g *gen) fcvt(to, from uint32, d, n V) {
	opc := map[uint32]uint32{0: 0, 1: 1, 3: 3}[to]
	g.enc(0x1E224000|from<<22|opc<<15|uint32(n)<<5|uint32(d), "fcvt %s, %s", fname(to, d), fname(from, n))
}

// scvtfs converts the int32 in the low lane of n to float32 d.
func (g *gen) scvtfs(d, n V) { g.enc(0x5E21D800|uint32(n)<<5|uint32(d), "scvtf s%d, s%d", d, n) }

// faddp2s: s d = n.s[0] + n.s[1]; faddp2d likewise for doublewords.
func (g *gen) faddp2s(d, n V) { g.enc(0x7E30D800|uint32(n)<<5|uint32(d), "faddp s%d, %s", d, v(n, S2)) }
func (g *gen) faddp2d(d, n V) { g.enc(0x7E70D800|uint32(n)<<5|uint32(d), "faddp d%d, %s", d, v(n, D2)) }

// fmovToGP moves the bits of s n to w r; fmovFromGP the other way.
func (g *gen) fmovToGP(r int, n V)   { g.enc(0x1E260000|uint32(n)<<5|uint32(r), "fmov w%d, s%d", r, n) }
func (g *gen) fmovFromGP(d V, r int) { g.enc(0x1E270000|uint32(r)<<5|uint32(d), "fmov s%d, w%d", d, r) }

// Go assembler register names.

func (n V) F() string   { return fmt.Sprintf("F%d", n) }
func (n V) B16() string { return fmt.Sprintf("V%d.B16", n) }

// list names vector registers as a Go register list of arrangement B16.
func list(vs ...V) string {
	s := make([]string, len(vs))
	for i, x := range vs {
		s[i] = x.B16()
	}
	return "[" + strings.Join(s, ", ") + "]"
}
