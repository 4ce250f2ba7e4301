//go:build linux

package procwatch

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// tinyELF returns a minimal static executable for this machine's
// architecture (amd64 or arm64): one loadable segment, no libraries, whose
// code sleeps for sleep (nanosleep, when sleep > 0; at most one second) and
// exits with status 0. Executing it costs the kernel's exec and exit
// alone, which lets a storm generator reach rates that shell loops of a
// dynamically linked /bin/true cannot (the dynamic loader costs more than
// the exec).
func tinyELF(sleep time.Duration) ([]byte, error) {
	if sleep < 0 || sleep >= time.Second {
		return nil, fmt.Errorf("sleep %v: want [0, 1s)", sleep)
	}
	ns := uint32(sleep.Nanoseconds())
	le := binary.LittleEndian
	var code []byte
	var machine uint16
	switch runtime.GOARCH {
	case "amd64":
		machine = 62 // EM_X86_64
		if ns > 0 {
			code = append(code, 0xb8, 0, 0, 0, 0) // mov eax, ns
			le.PutUint32(code[1:], ns)
			code = append(code,
				0x50,       // push rax            (tv_nsec)
				0x6a, 0x00, // push 0              (tv_sec)
				0x48, 0x89, 0xe7, // mov rdi, rsp
				0x31, 0xf6, // xor esi, esi
				0xb8, 35, 0, 0, 0, // mov eax, SYS_nanosleep
				0x0f, 0x05, // syscall
			)
		}
		code = append(code,
			0xb8, 60, 0, 0, 0, // mov eax, SYS_exit
			0x31, 0xff, // xor edi, edi
			0x0f, 0x05, // syscall
		)
	case "arm64":
		machine = 183 // EM_AARCH64
		var words []uint32
		if ns > 0 {
			words = append(words,
				0xd10043ff,                // sub sp, sp, #16
				0xd2800001|(ns&0xffff)<<5, // movz x1, #lo16(ns)
				0xf2a00001|(ns>>16)<<5,    // movk x1, #hi16(ns), lsl #16
				0xa90007ff,                // stp xzr, x1, [sp]   (tv_sec, tv_nsec)
				0x910003e0,                // mov x0, sp
				0xaa1f03e1,                // mov x1, xzr
				0xd2800008|101<<5,         // mov x8, #SYS_nanosleep
				0xd4000001,                // svc #0
			)
		}
		words = append(words,
			0xaa1f03e0,       // mov x0, xzr
			0xd2800008|93<<5, // mov x8, #SYS_exit
			0xd4000001,       // svc #0
		)
		for _, w := range words {
			code = le.AppendUint32(code, w)
		}
	default:
		return nil, fmt.Errorf("no tiny executable for %s (amd64 and arm64 only)", runtime.GOARCH)
	}
	const (
		base    = 0x400000
		ehdrLen = 64
		phdrLen = 56
	)
	b := make([]byte, ehdrLen+phdrLen, ehdrLen+phdrLen+len(code))
	copy(b, "\x7fELF\x02\x01\x01") // 64-bit, little-endian, version 1
	le.PutUint16(b[16:], 2)        // e_type: ET_EXEC
	le.PutUint16(b[18:], machine)
	le.PutUint32(b[20:], 1)                    // e_version
	le.PutUint64(b[24:], base+ehdrLen+phdrLen) // e_entry
	le.PutUint64(b[32:], ehdrLen)              // e_phoff
	le.PutUint16(b[52:], ehdrLen)              // e_ehsize
	le.PutUint16(b[54:], phdrLen)              // e_phentsize
	le.PutUint16(b[56:], 1)                    // e_phnum
	ph := b[ehdrLen:]
	le.PutUint32(ph[0:], 1) // PT_LOAD
	le.PutUint32(ph[4:], 5) // PF_R|PF_X
	le.PutUint64(ph[16:], base)
	le.PutUint64(ph[24:], base)
	b = append(b, code...)
	le.PutUint64(ph[32:], uint64(len(b))) // p_filesz
	le.PutUint64(ph[40:], uint64(len(b))) // p_memsz
	le.PutUint64(ph[48:], 0x10000)        // p_align (64 KiB pages too)
	return b, nil
}

// writeTinyELF writes tinyELF(sleep) to dir/name, or skips the test on
// other architectures.
func writeTinyELF(t testing.TB, dir, name string, sleep time.Duration) string {
	t.Helper()
	b, err := tinyELF(sleep)
	if err != nil {
		t.Skip(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// The tiny executables run and exit 0; the sleeping one lives as long as
// asked.
func TestTinyELF(t *testing.T) {
	dir := t.TempDir()
	for _, sleep := range []time.Duration{0, 20 * time.Millisecond} {
		exe := writeTinyELF(t, dir, fmt.Sprintf("tiny-%d", sleep), sleep)
		start := time.Now()
		pid, err := syscall.ForkExec(exe, []string{exe}, &syscall.ProcAttr{})
		if err != nil {
			t.Fatalf("exec %s (sleep %v): %v", exe, sleep, err)
		}
		var ws syscall.WaitStatus
		if _, err := syscall.Wait4(pid, &ws, 0, nil); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); !ws.Exited() || ws.ExitStatus() != 0 || took < sleep {
			t.Errorf("sleep %v: status %v after %v", sleep, ws, took)
		}
	}
}
