package train

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// A checkpoint is a folder step-NNNNNNNN holding state.json (the step, the
// run's fingerprint and a SHA-256 of each buffer) and the raw little-endian
// float32 buffers params.f32, adam_m.f32, adam_v.f32. It is written into a
// temporary folder, synced and renamed into place; then the file "latest"
// is replaced (write, sync, rename) to name it. A crash at any moment
// leaves the previous checkpoint intact and named by "latest".

// checkpointState is state.json.
type checkpointState struct {
	Step        int               `json:"step"`
	Fingerprint json.RawMessage   `json:"fingerprint"`
	Tensors     []checkpointEntry `json:"tensors"`
	SHA256      map[string]string `json:"sha256"`
}

type checkpointEntry struct {
	Name string `json:"name"`
	Size int    `json:"size"`
}

// keepCheckpoints is how many checkpoints a folder keeps.
const keepCheckpoints = 2

var checkpointFiles = []string{"params.f32", "adam_m.f32", "adam_v.f32"}

// saveCheckpoint writes the trainer's state at its current step into dir.
func (t *Trainer) saveCheckpoint(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	name := fmt.Sprintf("step-%08d", t.step)
	tmp, err := os.MkdirTemp(dir, ".tmp-"+name+"-")
	if err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	defer os.RemoveAll(tmp) // after the rename there is nothing left to remove
	st := checkpointState{Step: t.step, Fingerprint: t.fingerprint, SHA256: map[string]string{}}
	for _, s := range t.m.params.specs {
		st.Tensors = append(st.Tensors, checkpointEntry{s.name, s.size()})
	}
	for i, buf := range [][]float32{t.m.params.data, t.opt.m.data, t.opt.v.data} {
		data := floatBytes(buf)
		sum := sha256.Sum256(data)
		st.SHA256[checkpointFiles[i]] = hex.EncodeToString(sum[:])
		if err := writeSynced(filepath.Join(tmp, checkpointFiles[i]), data); err != nil {
			return err
		}
	}
	js, err := json.MarshalIndent(st, "", " ")
	if err != nil {
		return err
	}
	if err := writeSynced(filepath.Join(tmp, "state.json"), js); err != nil {
		return err
	}
	final := filepath.Join(dir, name)
	os.RemoveAll(final)
	if err := os.Rename(tmp, final); err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	syncDir(dir)
	if err := replaceFile(filepath.Join(dir, "latest"), []byte(name+"\n")); err != nil {
		return err
	}
	pruneCheckpoints(dir, name)
	return nil
}

// loadCheckpoint restores the state of the latest checkpoint in dir; it
// fails when the checkpoint was made by a run with a different fingerprint
// or its buffers do not match their checksums.
func (t *Trainer) loadCheckpoint(dir string) error {
	latest, err := os.ReadFile(filepath.Join(dir, "latest"))
	if err != nil {
		return fmt.Errorf("train: --resume: no checkpoint in %s: %w", dir, err)
	}
	name := strings.TrimSpace(string(latest))
	if !strings.HasPrefix(name, "step-") || strings.ContainsAny(name, `/\`) {
		return fmt.Errorf("train: --resume: %s/latest names %q, not a checkpoint", dir, name)
	}
	cdir := filepath.Join(dir, name)
	js, err := os.ReadFile(filepath.Join(cdir, "state.json"))
	if err != nil {
		return fmt.Errorf("train: --resume: %w", err)
	}
	var st checkpointState
	if err := json.Unmarshal(js, &st); err != nil {
		return fmt.Errorf("train: --resume: %s: %w", filepath.Join(cdir, "state.json"), err)
	}
	if d := diffFingerprint(st.Fingerprint, t.fingerprint); d != "" {
		return fmt.Errorf("train: --resume: the checkpoint in %s was made with different settings (%s)", cdir, d)
	}
	if len(st.Tensors) != len(t.m.params.specs) {
		return fmt.Errorf("train: --resume: the checkpoint holds %d tensors, the model %d", len(st.Tensors), len(t.m.params.specs))
	}
	for i, e := range st.Tensors {
		if s := t.m.params.specs[i]; e.Name != s.name || e.Size != s.size() {
			return fmt.Errorf("train: --resume: checkpoint tensor %d is %s (%d), the model's %s (%d)", i, e.Name, e.Size, s.name, s.size())
		}
	}
	for i, buf := range [][]float32{t.m.params.data, t.opt.m.data, t.opt.v.data} {
		data, err := os.ReadFile(filepath.Join(cdir, checkpointFiles[i]))
		if err != nil {
			return fmt.Errorf("train: --resume: %w", err)
		}
		sum := sha256.Sum256(data)
		if hex.EncodeToString(sum[:]) != st.SHA256[checkpointFiles[i]] || len(data) != 4*len(buf) {
			return fmt.Errorf("train: --resume: %s is damaged (checksum or size mismatch)", filepath.Join(cdir, checkpointFiles[i]))
		}
		for j := range buf {
			buf[j] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*j:]))
		}
	}
	t.step = st.Step
	return nil
}

// diffFingerprint names the first setting that differs between two
// fingerprints ("" when they agree).
func diffFingerprint(a, b json.RawMessage) string {
	var ma, mb map[string]any
	if json.Unmarshal(a, &ma) != nil || json.Unmarshal(b, &mb) != nil {
		return "unreadable fingerprint"
	}
	keys := map[string]bool{}
	for k := range ma {
		keys[k] = true
	}
	for k := range mb {
		keys[k] = true
	}
	var names []string
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		x, _ := json.Marshal(ma[k])
		y, _ := json.Marshal(mb[k])
		if string(x) != string(y) {
			return fmt.Sprintf("%s: %s then, %s now", k, x, y)
		}
	}
	return ""
}

func floatBytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// writeSynced writes data to path and syncs it to disk.
func writeSynced(path string, data []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("train: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("train: %w", err)
	}
	return f.Close()
}

// replaceFile atomically replaces path with data.
func replaceFile(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := writeSynced(tmp, data); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	syncDir(filepath.Dir(path))
	return nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync() // not supported everywhere (Windows); the rename is what matters
		d.Close()
	}
}

// pruneCheckpoints removes all but the newest keepCheckpoints checkpoints,
// never the one named keep.
func pruneCheckpoints(dir, keep string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	var names []string
	for _, e := range ents {
		if e.IsDir() && strings.HasPrefix(e.Name(), "step-") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	for i := 0; i < len(names)-keepCheckpoints; i++ {
		if names[i] != keep {
			os.RemoveAll(filepath.Join(dir, names[i]))
		}
	}
}

// errStopped is returned by Run when its context is cancelled; the state
// was checkpointed first.
var errStopped = errors.New("train: stopped")
