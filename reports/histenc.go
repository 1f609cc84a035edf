package reports

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"math"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// histEncoder writes window histograms in the HdrHistogram V2 compressed
// format, the one hdrhistogram.Decode (and every HdrHistogram library)
// reads. The library's own encoder sets up a new best-compression zlib
// writer for each histogram; for the thousands of windows of a long run that
// cost more than the last seconds of the simulation itself, so this one
// keeps one writer (default level) and its buffers for every window.
type histEncoder struct {
	dense *hdrhistogram.Histogram
	raw   bytes.Buffer
	zbuf  bytes.Buffer
	out   bytes.Buffer
	zw    *zlib.Writer
	varb  [binary.MaxVarintLen64]byte
}

// V2 format constants (see the HdrHistogram encoding specification).
const (
	v2Cookie           = 0x1c849303 | 0x10
	v2CompressedCookie = 0x1c849304 | 0x10
)

func newHistEncoder() *histEncoder {
	e := &histEncoder{dense: NewHist()}
	e.zw = zlib.NewWriter(&e.zbuf)
	return e
}

// encode returns p as base64 V2 compressed text; p must not be empty.
func (e *histEncoder) encode(p *hdrhistogram.PackedHistogram) string {
	e.dense.Reset()
	p.MergeInto(e.dense)
	s := e.dense.Export()
	// the payload: counts up to the last non-zero one as ZigZag LEB128
	// varints, a run of n > 1 zero counts as the single value -n
	last := len(s.Counts) - 1
	for last >= 0 && s.Counts[last] == 0 {
		last--
	}
	e.raw.Reset()
	var hdr [40]byte
	e.raw.Write(hdr[:]) // filled in below, once the payload's length is known
	zeros := int64(0)
	for i := 0; i <= last; i++ {
		c := s.Counts[i]
		if c == 0 {
			zeros++
			continue
		}
		if zeros > 0 {
			e.putCount(zeroRun(zeros))
			zeros = 0
		}
		e.putCount(c)
	}
	b := e.raw.Bytes()
	binary.BigEndian.PutUint32(b[0:], v2Cookie)
	binary.BigEndian.PutUint32(b[4:], uint32(len(b)-40))
	binary.BigEndian.PutUint32(b[8:], 0) // normalizing index offset
	binary.BigEndian.PutUint32(b[12:], uint32(s.SignificantFigures))
	binary.BigEndian.PutUint64(b[16:], uint64(s.LowestTrackableValue))
	binary.BigEndian.PutUint64(b[24:], uint64(s.HighestTrackableValue))
	binary.BigEndian.PutUint64(b[32:], math.Float64bits(1))

	e.zbuf.Reset()
	e.zw.Reset(&e.zbuf)
	e.zw.Write(b) // writes to a bytes.Buffer cannot fail
	e.zw.Close()
	e.out.Reset()
	var head [8]byte
	binary.BigEndian.PutUint32(head[0:], v2CompressedCookie)
	binary.BigEndian.PutUint32(head[4:], uint32(e.zbuf.Len()))
	e.out.Write(head[:])
	e.out.Write(e.zbuf.Bytes())
	return base64.StdEncoding.EncodeToString(e.out.Bytes())
}

// zeroRun is how V2 writes n consecutive zero counts.
func zeroRun(n int64) int64 {
	if n == 1 {
		return 0
	}
	return -n
}

// putCount appends one ZigZag LEB128 value. Counts below 2^55 take at most
// eight bytes, where V2's nine-byte variant and plain LEB128 agree.
func (e *histEncoder) putCount(v int64) {
	n := binary.PutUvarint(e.varb[:], uint64(v<<1)^uint64(v>>63))
	e.raw.Write(e.varb[:n])
}
