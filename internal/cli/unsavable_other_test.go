//go:build !linux

package cli

import "testing"

// The unsavable-result tests need Linux: tmpfs mounts and RLIMIT_FSIZE via sh.

func testUnsavable(t *testing.T, _ string)                 { t.Skip("needs Linux") }
func testLeftoversFreed(t *testing.T, _ string)            { t.Skip("needs Linux") }
func testDiskFillsDuringRequest(t *testing.T, _ string)    { t.Skip("needs Linux") }
func testStoreLostLockDiskFull(t *testing.T, _ string)     { t.Skip("needs Linux") }
func testLoginDeviceNearlyFullDisk(t *testing.T, _ string) { t.Skip("needs Linux") }
func testDiskFillsDuringBootstrap(t *testing.T, _ string)  { t.Skip("needs Linux") }
