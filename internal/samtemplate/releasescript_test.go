package samtemplate

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"debug/elf"
	"debug/macho"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/codexgate/codexgate/internal/testsupport"
	"github.com/codexgate/codexgate/shared/version"
)

// runRelease runs make release's script into a new temporary directory.
func runRelease(t *testing.T, root string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "release")
	cmd := exec.Command("bash", filepath.Join(root, "scripts", "release.sh"))
	cmd.Env = append(os.Environ(), "OUT="+out)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("release.sh: %v\n%s", err, stderr.String())
	}
	return out
}

// TestReleaseScript_Artefacts runs make release's script into a temporary
// directory and checks what a user downloads: the CLI for four platforms
// with the licence files, a Lambda zip per function with a static arm64
// bootstrap at its root, checksums that match, and the version linked in.
// A second run gives byte-identical artefacts.
func TestReleaseScript_Artefacts(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping cross-compiling four CLIs and three functions")
	}
	root := testsupport.RepoRoot(t)
	out := runRelease(t, root)
	v := version.Release
	fns, err := testsupport.Functions(root)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, p := range []string{"darwin_amd64", "darwin_arm64", "linux_amd64", "linux_arm64"} {
		want = append(want, fmt.Sprintf("codexgate_%s_%s.tar.gz", v, p))
	}
	for _, fn := range fns {
		want = append(want, fmt.Sprintf("%s_%s_linux_arm64.zip", fn, v))
	}
	slices.Sort(want)

	sums, err := os.ReadFile(filepath.Join(out, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, line := range strings.Split(strings.TrimSpace(string(sums)), "\n") {
		sum, name, ok := strings.Cut(line, "  ")
		if !ok {
			t.Fatalf("SHA256SUMS line %q", line)
		}
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := sha256.Sum256(b); hex.EncodeToString(got[:]) != sum {
			t.Errorf("%s: SHA256SUMS says %s, the file hashes to %x", name, sum, got)
		}
		listed = append(listed, name)
	}
	slices.Sort(listed)
	if !slices.Equal(listed, want) {
		t.Fatalf("SHA256SUMS lists %v, want %v", listed, want)
	}
	again, err := os.ReadFile(filepath.Join(runRelease(t, root), "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, sums) {
		t.Errorf("a second release differs:\n%s\nfirst:\n%s", again, sums)
	}

	for _, p := range [][2]string{{"linux", "amd64"}, {"linux", "arm64"}, {"darwin", "amd64"}, {"darwin", "arm64"}} {
		name := fmt.Sprintf("codexgate_%s_%s_%s", v, p[0], p[1])
		files := untar(t, filepath.Join(out, name+".tar.gz"))
		for _, f := range []string{"LICENSE", "NOTICE", "README.md", "codexgate"} {
			if files[name+"/"+f] == nil {
				t.Errorf("%s.tar.gz lacks %s/%s", name, name, f)
			}
		}
		bin := files[name+"/codexgate"]
		checkBinary(t, name, bin, p[0], p[1])
		if p[0] == runtime.GOOS && p[1] == runtime.GOARCH {
			exe := filepath.Join(t.TempDir(), "codexgate")
			if err := os.WriteFile(exe, bin, 0o755); err != nil {
				t.Fatal(err)
			}
			got, err := exec.Command(exe, "version").Output()
			if err != nil || !strings.HasPrefix(string(got), "codexgate "+v+" (") {
				t.Errorf("released codexgate version: %q, %v; want codexgate %s", got, err, v)
			}
		}
	}
	for _, fn := range fns {
		name := fmt.Sprintf("%s_%s_linux_arm64.zip", fn, v)
		zr, err := zip.OpenReader(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		if len(zr.File) != 1 || zr.File[0].Name != "bootstrap" || zr.File[0].Mode().Perm()&0o111 == 0 {
			t.Errorf("%s: want one executable entry named bootstrap, got %v", name, zr.File)
		} else {
			rc, _ := zr.File[0].Open()
			b, _ := io.ReadAll(rc)
			rc.Close()
			checkBinary(t, name, b, "linux", "arm64")
			if !bytes.Contains(b, []byte(v)) {
				t.Errorf("%s: the bootstrap does not contain the version %s", name, v)
			}
		}
		zr.Close()
	}
}

// untar reads a .tar.gz into memory: name → content.
func untar(t *testing.T, file string) map[string][]byte {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if h.Typeflag == tar.TypeReg {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			files[h.Name] = b
		}
	}
}

// checkBinary requires an executable for goos/goarch; a linux one must be
// static (what provided.al2023 runs, and what runs on any distribution).
func checkBinary(t *testing.T, name string, b []byte, goos, goarch string) {
	t.Helper()
	switch goos {
	case "linux":
		f, err := elf.NewFile(bytes.NewReader(b))
		if err != nil {
			t.Errorf("%s: not ELF: %v", name, err)
			return
		}
		want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[goarch]
		if f.Machine != want || f.Type != elf.ET_EXEC {
			t.Errorf("%s: %v %v, want an %v executable", name, f.Type, f.Machine, want)
		}
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Errorf("%s: dynamically linked", name)
			}
		}
	case "darwin":
		f, err := macho.NewFile(bytes.NewReader(b))
		if err != nil {
			t.Errorf("%s: not Mach-O: %v", name, err)
			return
		}
		want := map[string]macho.Cpu{"amd64": macho.CpuAmd64, "arm64": macho.CpuArm64}[goarch]
		if f.Cpu != want || f.Type != macho.TypeExec {
			t.Errorf("%s: %v %v, want an %v executable", name, f.Type, f.Cpu, want)
		}
	}
}
