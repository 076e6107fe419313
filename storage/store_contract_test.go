package storage_test

import (
	"github.com/tokenkeeper/tokenkeeper/internal/testfs"
	"path/filepath"
	"testing"

	"github.com/tokenkeeper/tokenkeeper/storage"
	"github.com/tokenkeeper/tokenkeeper/storage/storetest"
)

// TestFileStoreContract runs the Store contract (storage/storetest) against
// the file store: each "host" is a FileStore of the same token file, as each
// process opens it. storage/etcd runs the same cases against etcd.
func TestFileStoreContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T, n int) []storage.Store {
		dir := testfs.TempDir(t)
		p := storage.Paths{Profile: "p1", StateDir: dir, TokenFile: filepath.Join(dir, storage.TokenFileName)}
		p.LockFile = p.TokenFile + storage.LockSuffix
		var ss []storage.Store
		for range n {
			ss = append(ss, storage.OpenFileStore(p, nil))
		}
		return ss
	})
}
