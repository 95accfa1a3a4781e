package sandbox

import (
	"errors"
	"fmt"
)

// maxTableElems bounds every table a guest module declares. wazero grows a
// table without a declared maximum up to 2^32 host words (32 GiB), outside the
// linear-memory limit, so a module must declare a maximum within this bound.
const maxTableElems = 1 << 20

// errBadModule is wrapped by checkModule's errors.
var errBadModule = errors.New("sandbox: module rejected")

// moduleInfo is what checkModule learns from a module's binary.
type moduleInfo struct {
	// minMemory is the largest initial size, in bytes, of a memory the module
	// defines.
	minMemory uint64
}

// checkModule walks the section headers of a WebAssembly binary and checks the
// resources the module declares before anything is compiled: every table must
// have a maximum no larger than maxTableElems. It reads only the type, table and
// memory sections; wazero validates the rest when it compiles.
func checkModule(b []byte) (moduleInfo, error) {
	var info moduleInfo
	if len(b) < 8 || string(b[:4]) != "\x00asm" {
		return info, fmt.Errorf("%w: not a WebAssembly binary", errBadModule)
	}
	if b[4] != 1 || b[5] != 0 || b[6] != 0 || b[7] != 0 {
		return info, fmt.Errorf("%w: unsupported binary version", errBadModule)
	}
	r := reader{b: b, off: 8}
	for !r.eof() {
		id, err := r.byte()
		if err != nil {
			return info, err
		}
		size, err := r.u32()
		if err != nil {
			return info, err
		}
		if uint64(size) > uint64(len(r.b)-r.off) {
			return info, fmt.Errorf("%w: section %d overruns the module", errBadModule, id)
		}
		sec := reader{b: r.b[r.off : r.off+int(size)]}
		r.off += int(size)
		switch id {
		case 4: // table
			if err := checkTables(&sec); err != nil {
				return info, err
			}
		case 5: // memory
			m, err := memoryMin(&sec)
			if err != nil {
				return info, err
			}
			info.minMemory = m
		}
	}
	return info, nil
}

func checkTables(r *reader) error {
	n, err := r.u32()
	if err != nil {
		return err
	}
	for i := uint32(0); i < n; i++ {
		if _, err := r.byte(); err != nil { // reference type
			return err
		}
		flag, err := r.byte()
		if err != nil {
			return err
		}
		if _, err := r.u32(); err != nil { // min
			return err
		}
		if flag&1 == 0 {
			return fmt.Errorf("%w: table %d has no maximum size", errBadModule, i)
		}
		max, err := r.u32()
		if err != nil {
			return err
		}
		if max > maxTableElems {
			return fmt.Errorf("%w: table %d maximum %d exceeds %d", errBadModule, i, max, maxTableElems)
		}
	}
	return nil
}

func memoryMin(r *reader) (uint64, error) {
	n, err := r.u32()
	if err != nil {
		return 0, err
	}
	var largest uint64
	for i := uint32(0); i < n; i++ {
		flag, err := r.byte()
		if err != nil {
			return 0, err
		}
		if flag&^0x03 != 0 { // memory64 and custom page sizes are refused
			return 0, fmt.Errorf("%w: unsupported memory flags %#x", errBadModule, flag)
		}
		minPages, err := r.u32()
		if err != nil {
			return 0, err
		}
		if flag&1 != 0 {
			if _, err := r.u32(); err != nil {
				return 0, err
			}
		}
		largest = max(largest, uint64(minPages)*pageSize)
	}
	return largest, nil
}

const pageSize = 65536

// reader decodes the LEB128 fields of a WebAssembly binary.
type reader struct {
	b   []byte
	off int
}

func (r *reader) eof() bool { return r.off >= len(r.b) }

func (r *reader) byte() (byte, error) {
	if r.off >= len(r.b) {
		return 0, fmt.Errorf("%w: truncated", errBadModule)
	}
	c := r.b[r.off]
	r.off++
	return c, nil
}

func (r *reader) u32() (uint32, error) {
	var v uint32
	for shift := uint(0); shift < 35; shift += 7 {
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		if shift == 28 && c&0x70 != 0 {
			return 0, fmt.Errorf("%w: integer overflow", errBadModule)
		}
		v |= uint32(c&0x7f) << shift
		if c&0x80 == 0 {
			return v, nil
		}
	}
	return 0, fmt.Errorf("%w: integer too long", errBadModule)
}
