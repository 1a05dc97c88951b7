package mail

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spaceauth/spaceauth/internal/store"
)

// DirSender writes each message as an .eml file (development).
type DirSender struct {
	sender
	dir string
}

// NewDirSender writes into dir, creating it. from is the address of the
// From header.
func NewDirSender(dir, from string) (*DirSender, error) {
	sa, err := newSenderAddress(from)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("mail: mail directory: %w", err)
	}
	return &DirSender{sender: sa, dir: dir}, nil
}

// Send writes the message to a temporary file and renames it into place
// as <created-unix-nanos>-<id>.eml, so a reader never sees half a message.
// A crash between the rename and the worker's record writes the same file
// again.
func (d *DirSender) Send(ctx context.Context, m store.Mail) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	msg, err := d.build(m)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(d.dir, ".tmp-*.eml")
	if err != nil {
		return fmt.Errorf("mail dir: %w", err)
	}
	if _, err := msg.WriteTo(tmp); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("mail dir: write: %w", err)
	}
	if err := errors.Join(tmp.Sync(), tmp.Close()); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("mail dir: %w", err)
	}
	name := filepath.Join(d.dir, fmt.Sprintf("%d-%d.eml", m.CreatedAt.UnixNano(), m.ID))
	if err := os.Rename(tmp.Name(), name); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("mail dir: %w", err)
	}
	return nil
}
