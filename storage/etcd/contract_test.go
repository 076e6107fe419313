package etcd

import (
	"fmt"
	"testing"
	"time"

	"github.com/tokenkeeper/tokenkeeper/internal/etcdtest"
	"github.com/tokenkeeper/tokenkeeper/storage"
	"github.com/tokenkeeper/tokenkeeper/storage/storetest"
)

func TestContract(t *testing.T) {
	t.Parallel()
	c := etcdtest.Start(t, 1)
	n := 0
	storetest.Run(t, func(t *testing.T, hosts int) []storage.Store {
		n++
		prefix := fmt.Sprintf("/contract%d", n) // a fresh record for each case
		var ss []storage.Store
		for range hosts {
			ss = append(ss, newHost(t, c.URL(prefix), 5*time.Second, 0).s)
		}
		return ss
	})
}
