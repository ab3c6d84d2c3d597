package archive

import (
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/klauspost/compress/zstd"
)

// Parquet's zstd codec decodes a page with DecodeAll, which grows its
// output past the size the page header declares: a small hostile page
// could expand to gigabytes before the size mismatch is noticed. Segment
// pages are decoded here instead, by a decoder that stops at the largest
// page a segment may hold (spec §5).
//
// Pages are compressed by one encoder that lives as long as the process.
// Parquet's codec takes its encoders from a sync.Pool, which every garbage
// collection empties, and each new encoder allocates and zeroes an 8 MB
// history: 88 MB of export's allocations at 40,000 pages. The options are
// the codec's own, so the pages are the same bytes.
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
	enc, err := zstd.NewWriter(nil, zstd.WithZeroFrames(true), zstd.WithEncoderLevel(zstd.EncoderLevelFromZstd(segmentLevel)),
		zstd.WithAllLitEntropyCompression(true))
	if err != nil {
		panic(err)
	}
	return boundedZstd{Codec: codec, dec: dec, enc: enc}
}

type boundedZstd struct {
	compress.Codec
	dec *zstd.Decoder
	enc *zstd.Encoder // at segmentLevel; safe for concurrent EncodeAll
}

func (z boundedZstd) EncodeLevel(dst, src []byte, level int) []byte {
	if level != segmentLevel {
		return z.Codec.EncodeLevel(dst, src, level)
	}
	return z.enc.EncodeAll(src, dst[:0])
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
