package train

import (
	"github.com/qilin-ai/qilin/kernels"
	"github.com/qilin-ai/qilin/quant"
)

const q8_0 = quant.Q8_0

func quantQ8_0(x []float32, dst []byte) error { return quant.Quantize(quant.Q8_0, x, dst) }

func dequant64(m kernels.Matrix) []float64 {
	v := make([]float32, m.Rows*m.Cols)
	if err := quant.Dequantize(m.Type, m.Data, v); err != nil {
		panic(err)
	}
	return to64(v)
}
