package xlaplugin

import (
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
)

// MinAPIMinor is the oldest PJRT C API (0.MinAPIMinor) accepted: the oldest plugin embedtune was
// tested with (xla-cpu-pjrt 0.0.1). go-xla v0.4.5 is built for 0.104; plugins must provide every
// function it calls, which older ones may lack.
const MinAPIMinor = 81

// Plugin describes a PJRT plugin file that passed [Check].
type Plugin struct {
	Path               string
	APIMajor, APIMinor int
	Size               int64
}

// APIVersion returns "0.N".
func (p Plugin) APIVersion() string { return fmt.Sprintf("%d.%d", p.APIMajor, p.APIMinor) }

var elfMachines = map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64, "riscv64": elf.EM_RISCV, "ppc64le": elf.EM_PPC64, "s390x": elf.EM_S390}

// CheckFile looks at path without loading it: it must exist and be a complete 64-bit ELF shared
// library for this machine's architecture that exports GetPjrtApi. Errors name the file and the
// problem.
func CheckFile(path string) error {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("PJRT plugin %s does not exist", path)
	}
	if err != nil {
		return fmt.Errorf("PJRT plugin %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("PJRT plugin %s is not a file", path)
	}
	if need := elfHeaderExtent(path); need > fi.Size() {
		return fmt.Errorf("PJRT plugin %s is truncated: %d bytes, its ELF header describes %d (incomplete download or copy?)", path, fi.Size(), need)
	}
	f, err := elf.Open(path)
	if err != nil {
		if fi.Size() < 64 {
			return fmt.Errorf("PJRT plugin %s is not a shared library: %d bytes, too short for an ELF header (truncated download?)", path, fi.Size())
		}
		return fmt.Errorf("PJRT plugin %s is not a shared library (ELF): %v (damaged file?)", path, err)
	}
	defer f.Close()
	if want, ok := elfMachines[runtime.GOARCH]; ok && f.Machine != want {
		return fmt.Errorf("PJRT plugin %s is built for %s, but this machine is %s (install the plugin for %s)", path, machineName(f.Machine), runtime.GOARCH, runtime.GOARCH)
	}
	if f.Class != elf.ELFCLASS64 || f.Type != elf.ET_DYN {
		return fmt.Errorf("PJRT plugin %s is not a 64-bit shared library (class %s, type %s)", path, f.Class, f.Type)
	}
	need := int64(0)
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD {
			need = max(need, int64(p.Off+p.Filesz))
		}
	}
	for _, s := range f.Sections {
		if s.Type != elf.SHT_NOBITS {
			need = max(need, int64(s.Offset+s.FileSize))
		}
	}
	if need > fi.Size() {
		return fmt.Errorf("PJRT plugin %s is truncated: %d bytes, its ELF headers describe %d (incomplete download or copy?)", path, fi.Size(), need)
	}
	syms, err := f.DynamicSymbols()
	if err != nil {
		return fmt.Errorf("PJRT plugin %s: reading its symbols: %v (truncated or damaged file?)", path, err)
	}
	for _, s := range syms {
		if s.Name == "GetPjrtApi" && elf.ST_TYPE(s.Info) == elf.STT_FUNC && s.Section != elf.SHN_UNDEF {
			return nil
		}
	}
	return fmt.Errorf("PJRT plugin %s is a shared library but not a PJRT plugin: it does not export GetPjrtApi", path)
}

// elfHeaderExtent returns the end of the section header table a 64-bit little-endian ELF header
// points to (the section headers come last in the files linkers write), or 0 when path does not
// start with one.
func elfHeaderExtent(path string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	var h [64]byte
	if _, err := io.ReadFull(f, h[:]); err != nil || string(h[:4]) != elf.ELFMAG || h[4] != byte(elf.ELFCLASS64) || h[5] != byte(elf.ELFDATA2LSB) {
		return 0
	}
	shoff := binary.LittleEndian.Uint64(h[0x28:])
	shentsize, shnum := binary.LittleEndian.Uint16(h[0x3a:]), binary.LittleEndian.Uint16(h[0x3c:])
	return int64(shoff) + int64(shentsize)*int64(shnum)
}

func machineName(m elf.Machine) string {
	switch m {
	case elf.EM_X86_64:
		return "x86-64 (amd64)"
	case elf.EM_AARCH64:
		return "AArch64 (arm64)"
	}
	return m.String()
}
