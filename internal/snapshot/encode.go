package snapshot

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// Encode writes s as a snapshot document that Parse reads back to the same
// account and Config: the SDK's ec2types structs under the CLI's keys, as
// Parse decodes them, indented so that a person can diff two runs. Name is
// not written; a snapshot is named by its file.
func (s *Snapshot) Encode(w io.Writer) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	// Descriptions and tag values are shown as written, not as \u003c escapes.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return fmt.Errorf("encoding the snapshot: %w", err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("writing the snapshot: %w", err)
	}
	return nil
}

// Save writes s to the file at path, replacing it, for Load to read back.
// The document is encoded in full before the file is touched, so a
// snapshot that cannot be encoded leaves an existing file as it was.
func (s *Snapshot) Save(path string) error {
	var buf bytes.Buffer
	if err := s.Encode(&buf); err != nil {
		return fmt.Errorf("saving the snapshot to %s: %w", path, err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		return fmt.Errorf("saving the snapshot: %w", err)
	}
	return nil
}
