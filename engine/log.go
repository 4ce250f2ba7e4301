package engine

import (
	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/report"
)

// logBlock is how many bytes of records a spill-backed Log gathers before
// writing them to the store as one block.
var logBlock = 256 << 10

// spillLog is a check.Log of a spilled run: records go to the run's store
// in blocks, so that a cross-object check's per-object records take no
// memory beyond one block. The engine calls Append (from Observe) and
// Each (from Finish) under the run's lock, as it does every spill write.
type spillLog struct {
	sp     *report.Spill
	buf    check.MemLog
	blocks []report.Block
	rd     []byte
	// err is the first error reading the records back, which the run
	// reports (Finish has no way to).
	err error
}

func (l *spillLog) Append(rec []byte) {
	l.buf.Append(rec)
	if b := l.buf.Bytes(); len(b) >= logBlock {
		l.blocks = append(l.blocks, l.sp.WriteBlock(b))
		l.buf.Reset()
	}
}

func (l *spillLog) Each(fn func(rec []byte) error) error {
	err := l.each(fn)
	if err != nil && l.err == nil {
		l.err = err
	}
	return err
}

func (l *spillLog) each(fn func(rec []byte) error) error {
	for _, b := range l.blocks {
		var err error
		if l.rd, err = l.sp.ReadBlock(b, l.rd); err != nil {
			return err
		}
		if err := check.EachRecord(l.rd, fn); err != nil {
			return err
		}
	}
	return l.buf.Each(fn)
}
