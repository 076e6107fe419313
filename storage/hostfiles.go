package storage

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

// HostFiles are a shared store's files on this host (docs/many-profiles.md,
// docs/kubernetes.md): the read copy of the record, served without the
// network while its token is valid, and the pending file, an answer whose
// save to the store failed (it may hold a refresh token just spent), pushed
// first by the next run. Every shared store keeps them the same way; only
// the version an answer was meant to replace is the store's own (etcd's
// revision, a Kubernetes resourceVersion), kept under its own key.
type HostFiles struct {
	Copy, Pending string
	// Store is the store's Name, written into the pending file. With
	// CheckStore a pending file written for another store is refused.
	Store      string
	CheckStore bool
	// BaseKey is the pending file's key for the version the answer
	// replaces ("base_revision", "base_resource_version").
	BaseKey string
	// What is the store's kind in messages ("etcd", "kubernetes"),
	// Version what it calls a record's version ("revision",
	// "resourceVersion").
	What, Version string
	Warn          func(string)
	// Supersedes, when set, tells whether a pending answer should replace
	// the record even though the store moved on since it was meant to
	// (SharedOptions.Supersedes).
	Supersedes func(pending, current []byte) bool
}

// Cap cuts v to MaxFileSize, as a token file is cut (docs/contract.md §1).
func (h *HostFiles) Cap(v []byte) []byte {
	if len(v) > MaxFileSize {
		return v[:MaxFileSize]
	}
	return v
}

// CheckSavable proves that a record of size bytes is one the store holds
// (MaxFileSize), and that the pending file could be written if its save failed:
// the space for it is reserved (Reserve) for Keep to write into; the
// caller releases it when no pending file is needed.
func (h *HostFiles) CheckSavable(size int) (*Reservation, error) {
	if size > MaxFileSize {
		return nil, fmt.Errorf("%s: a record of %d bytes is larger than %d", h.What, size, MaxFileSize)
	}
	// The pending file holds the record in base64 and a few keys.
	return Reserve(h.Pending, base64.StdEncoding.EncodedLen(size)+1024)
}

// ReadCopy is the host's read copy of the record.
func (h *HostFiles) ReadCopy() ([]byte, error) { return ReadRecord(h.Copy) }

// WriteCopy keeps the read copy equal to what the store holds. The copy is
// never the only copy of anything, so a failure to write it is not an
// error; a copy that could not be replaced is removed so that it cannot go
// on serving an older record.
func (h *HostFiles) WriteCopy(data []byte) {
	if old, err := ReadRecord(h.Copy); err == nil && bytes.Equal(old, data) {
		return
	}
	if err := ReplaceFile(h.Copy, data); err != nil {
		_ = RemoveIfExists(h.Copy)
		h.Notify(fmt.Sprintf("the read copy %s could not be written: %v", h.Copy, err))
	}
}

// DropCopy removes the read copy when the store holds no record: a copy
// left behind would go on serving one.
func (h *HostFiles) DropCopy() { _ = RemoveIfExists(h.Copy) }

// Notify passes msg to Warn, when there is one.
func (h *HostFiles) Notify(msg string) {
	if h.Warn != nil {
		h.Warn(msg)
	}
}

// ReadPending returns the pending answer, its version decoded into base (a
// pointer); an error matching fs.ErrNotExist when there is none.
func (h *HostFiles) ReadPending(base any) ([]byte, error) {
	data, err := ReadRecord(h.Pending)
	if err != nil {
		return nil, err
	}
	var p map[string]json.RawMessage
	var store string
	var record []byte
	ok := json.Unmarshal(data, &p) == nil && json.Unmarshal(p["record"], &record) == nil && len(record) > 0 &&
		json.Unmarshal(p["store"], &store) == nil && (!h.CheckStore || store == h.Store)
	if ok && p[h.BaseKey] != nil {
		ok = json.Unmarshal(p[h.BaseKey], base) == nil
	}
	if !ok {
		return nil, fmt.Errorf("%s: pending file %s is not one tokenkeeper wrote for %s", h.What, h.Pending, h.Store)
	}
	return h.Cap(record), nil
}

// WritePending keeps data in the pending file with the version it replaces,
// unless that file would be larger than ReadRecord reads whole (the record
// is base64, 4/3 of its size): one cut on reading would never parse, so
// never be pushed. It is written into the space r reserved, if any
// (ReplaceReserved), which it uses up.
func (h *HostFiles) WritePending(data []byte, base any, r *Reservation) error {
	b, _ := json.Marshal(map[string]any{"store": h.Store, h.BaseKey: base, "record": data})
	if len(b) > MaxFileSize {
		r.Release()
		return fmt.Errorf("%s: a pending file of %d bytes would be larger than %d", h.What, len(b), MaxFileSize)
	}
	return ReplaceReserved(h.Pending, b, r)
}

// Keep is what a failed save ends in: err, after data was kept in the
// pending file (with the version it was meant to replace; in the space r
// reserved, if any), or why it could not be.
func (h *HostFiles) Keep(data []byte, base any, err error, r *Reservation) error {
	if perr := h.WritePending(data, base, r); perr != nil {
		return fmt.Errorf("%w; the answer could not be kept either: %v", err, perr)
	}
	return fmt.Errorf("%w; the answer is kept in %s and will be pushed by the next run", err, h.Pending)
}

// RemoveIfExists removes path; one that is not there is no error.
func RemoveIfExists(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// Read is a shared store's read without its lock: an answer waiting in the
// pending file is pushed first (s's Lock, taken briefly, pushes it; when it
// cannot be taken, the pending answer is served, with a warning, and a
// later run pushes it); then the host's read copy is served when there is
// one (no network); else fetch reads the store and writes the copy.
func (h *HostFiles) Read(ctx context.Context, s Store, timeout time.Duration, fetch func(context.Context) ([]byte, error)) ([]byte, error) {
	var ignored json.RawMessage
	if pending, err := h.ReadPending(&ignored); err == nil {
		if perr := h.pushLocked(ctx, s, timeout); perr != nil {
			h.Notify(fmt.Sprintf("an answer saved in %s could not be pushed to %s yet: %v", h.Pending, h.Store, perr))
			return pending, nil
		}
	}
	if data, err := h.ReadCopy(); err == nil {
		return data, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	return fetch(ctx)
}

// pendingLockWait bounds the wait for the lock when a lock-free Read finds a
// pending answer: if another process holds it, the pending answer is served
// and pushed by a later run.
const pendingLockWait = 2 * time.Second

// pushLocked takes s's lock briefly to push the pending answer.
func (h *HostFiles) pushLocked(ctx context.Context, s Store, timeout time.Duration) error {
	l, err := s.Lock(ctx, min(timeout, pendingLockWait), "tokenkeeper (pushing a pending answer)")
	if err != nil {
		return err
	}
	defer l.Unlock()
	var ignored json.RawMessage
	if _, err := h.ReadPending(&ignored); errors.Is(err, fs.ErrNotExist) {
		return nil // Lock pushed it
	}
	return errors.New("still pending")
}
