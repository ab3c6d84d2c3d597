package archive

import (
	"fmt"
	"strconv"
	"strings"
)

const blockSize = 512

// checkFraming checks the bytes that lie between two members' data (spec §2):
// the previous member's padding (pad bytes), then this member's header
// blocks and pax data. With end set, it checks the end of the archive
// instead: padding then exactly two zero blocks. archive/tar parses headers
// but tolerates bytes that carry no meaning (padding, the checksum field's
// terminator); ferry checks them too, so that any changed byte is detected.
// It returns the offset within b of the first bad byte.
func checkFraming(b []byte, pad int, end bool) (int, error) {
	if len(b) < pad {
		return len(b), fmt.Errorf("%w: padding cut short", ErrTruncated)
	}
	if i := firstNonZero(b[:pad]); i >= 0 {
		return i, fmt.Errorf("%w: non-zero padding after member data", ErrFraming)
	}
	i := pad
	if end {
		switch {
		case len(b)-i < 2*blockSize:
			return len(b), fmt.Errorf("%w: end-of-archive blocks missing", ErrTruncated)
		case len(b)-i > 2*blockSize:
			return i + 2*blockSize, fmt.Errorf("%w: data after the end-of-archive blocks", ErrFraming)
		}
		if j := firstNonZero(b[i:]); j >= 0 {
			return i + j, fmt.Errorf("%w: non-zero end-of-archive block", ErrFraming)
		}
		return 0, nil
	}
	for i < len(b) {
		if len(b)-i < blockSize {
			return len(b), fmt.Errorf("%w: header block cut short", ErrTruncated)
		}
		blk := b[i : i+blockSize]
		if j, err := checkHeaderBlock(blk); err != nil {
			return i + j, err
		}
		switch blk[156] {
		case 'x':
			size, err := parseOctal(blk[124:136])
			if err != nil || size > maxPaxSize {
				return i + 124, fmt.Errorf("%w: pax header size %q", ErrFraming, strings.TrimRight(string(blk[124:136]), "\x00 "))
			}
			i += blockSize
			padded := int((size + blockSize - 1) / blockSize * blockSize)
			if len(b)-i < padded {
				return len(b), fmt.Errorf("%w: pax header cut short", ErrTruncated)
			}
			if j := firstNonZero(b[i+int(size) : i+padded]); j >= 0 {
				return i + int(size) + j, fmt.Errorf("%w: non-zero padding after pax header", ErrFraming)
			}
			i += padded
		case '0':
			if i+blockSize != len(b) {
				return i, fmt.Errorf("%w: more than one file header before member data", ErrFraming)
			}
			return 0, nil
		default:
			return i + 156, fmt.Errorf("%w: tar entry type %q is not a regular file", ErrFraming, blk[156])
		}
	}
	return len(b), fmt.Errorf("%w: no file header before member data", ErrFraming)
}

// checkHeaderBlock checks a header block's checksum field: six octal
// digits, NUL, space, holding the unsigned sum of the block.
func checkHeaderBlock(blk []byte) (int, error) {
	field := blk[148:156]
	for k := 0; k < 6; k++ {
		if field[k] < '0' || field[k] > '7' {
			return 148 + k, fmt.Errorf("%w: header checksum field %q is not six octal digits", ErrFraming, field)
		}
	}
	if field[6] != 0 || field[7] != ' ' {
		return 154, fmt.Errorf("%w: header checksum field %q does not end in NUL and space", ErrFraming, field)
	}
	want, _ := strconv.ParseInt(string(field[:6]), 8, 64)
	var sum int64
	for k, c := range blk {
		if k >= 148 && k < 156 {
			c = ' '
		}
		sum += int64(c)
	}
	if sum != want {
		return 148, fmt.Errorf("%w: header checksum is %o, the block sums to %o", ErrFraming, want, sum)
	}
	return 0, nil
}

func parseOctal(b []byte) (int64, error) {
	s := strings.TrimRight(string(b), "\x00 ")
	s = strings.TrimLeft(s, " ")
	return strconv.ParseInt(s, 8, 64)
}

func firstNonZero(b []byte) int {
	for i, c := range b {
		if c != 0 {
			return i
		}
	}
	return -1
}

// padding is the number of zero bytes that follow size bytes of data.
func padding(size int64) int { return int(-size & (blockSize - 1)) }
