package sandbox

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func FuzzCheckModule(f *testing.F) {
	mods, _ := filepath.Glob(filepath.Join("testdata", "*.wasm"))
	for _, m := range mods {
		b, err := os.ReadFile(m)
		if err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("\x00asm\x01\x00\x00\x00\x04\x04\x01\x70\x00\x01"))                 // table without max
	f.Add([]byte("\x00asm\x01\x00\x00\x00\x05\x06\x01\x01\x80\x80\x04\x80\x80\x04")) // 4 GiB memory
	f.Add([]byte("\x00asm\x01\x00\x00\x00\x05\xff\xff\xff\xff\x0f"))                 // overlong section
	f.Fuzz(func(t *testing.T, b []byte) {
		info, err := checkModule(b)
		if err != nil {
			return
		}
		if info.minMemory > 65536*pageSize {
			t.Fatalf("minimum memory %d over the wasm32 maximum", info.minMemory)
		}
	})
}

// FuzzSessionOutput feeds arbitrary chunks through a session's output
// splitter: it must never panic, never keep more than the limit, and find the
// marker however the stream is cut.
func FuzzSessionOutput(f *testing.F) {
	f.Add([]byte("hello\n"), []byte("err"), uint8(3), 7)
	f.Add([]byte("\x1eabc 1"), []byte(""), uint8(1), 0)
	f.Add(bytes.Repeat([]byte("x"), 300), []byte("e"), uint8(50), 255)
	f.Fuzz(func(t *testing.T, out, errOut []byte, chunk uint8, code int) {
		code &= 0xff
		stopped := false
		o := &sessionOut{marker: []byte("\x1eabc "), limit: 256, stop: func() { stopped = true }}
		r := o.begin()
		stream := append(append([]byte(nil), out...), "\x1eabc "...)
		stream = append(stream, []byte(itoa(code)+"\n")...)
		n := int(chunk) + 1
		o.write(errOut, true)
		for len(stream) > 0 {
			k := min(n, len(stream))
			o.write(stream[:k], false)
			stream = stream[k:]
		}
		so, se, gotCode, hit, finished := o.end(r)
		if len(so) > 256 || len(se) > 256 {
			t.Fatalf("kept %d/%d bytes over the limit", len(so), len(se))
		}
		if hit != stopped {
			t.Fatalf("hit %v but stop called %v", hit, stopped)
		}
		if !hit && !bytes.Contains(out, []byte("\x1eabc ")) {
			if !finished || gotCode != code || !bytes.Equal(so, out) {
				t.Fatalf("finished %v code %d (want %d) stdout %q (want %q)", finished, gotCode, code, so, out)
			}
		}
	})
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}
