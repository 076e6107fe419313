package testfs

import (
	"sync"

	"golang.org/x/sys/windows/registry"
)

const isWindows = true

// Wine reports whether this Windows is Wine: Wine keeps its own settings
// under HKLM\Software\Wine, which no Windows has.
var Wine = sync.OnceValue(func() bool {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, `Software\Wine`, registry.QUERY_VALUE)
	if err != nil {
		return false
	}
	k.Close()
	return true
})
