package archive

import (
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/klauspost/compress/zstd"
)

// Parquet's zstd codec decodes a page with DecodeAll, which grows its
// output past the size the page header declares: a small hostile page
// could expand to gigabytes before the size mismatch is noticed. Segment
// pages are decoded here instead, by a decoder that stops at the largest
// page a segment may hold (spec §5). Compressing is left as it was.
func init() { compress.RegisterCodec(compress.Codecs.Zstd, newBoundedZstd()) }

func newBoundedZstd() boundedZstd {
	codec, err := compress.GetCodec(compress.Codecs.Zstd)
	if err != nil {
		panic(err)
	}
	if b, ok := codec.(boundedZstd); ok {
		codec = b.Codec
	}
	dec, err := zstd.NewReader(nil, zstd.WithDecoderMaxMemory(maxPayloadPage), zstd.WithDecoderMaxWindow(maxPayloadPage), zstd.WithDecoderConcurrency(0))
	if err != nil {
		panic(err)
	}
	return boundedZstd{Codec: codec, dec: dec}
}

type boundedZstd struct {
	compress.Codec
	dec *zstd.Decoder
}

func (z boundedZstd) DecodeWithError(dst, src []byte) ([]byte, error) {
	return z.dec.DecodeAll(src, dst[:0])
}

func (z boundedZstd) Decode(dst, src []byte) []byte {
	out, err := z.DecodeWithError(dst, src)
	if err != nil {
		panic(err)
	}
	return out
}
