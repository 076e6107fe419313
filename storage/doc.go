// Package storage decides where a tokenkeeper profile's files live and reads
// and writes them safely: atomic replacement, a pre-flight check that a save
// will succeed, moving an unusable file aside, permission warnings, and a
// cross-process lock. It knows nothing about OAuth.
//
// # Locations
//
// Resolve maps a profile to credentials.json (configuration), the token file
// refreshTokenObjectFile.json (state) and its lock file. With Options.Dir both
// files sit directly in that directory, the layout of the SAP Concur tutorial.
// Otherwise each root (Options.ConfigDir, Options.StateDir, or the XDG base
// directory plus "tokenkeeper", via github.com/adrg/xdg) holds one
// sub-directory per profile. All paths are absolute, and Paths records why
// each directory was chosen, because cron and systemd run with a bare
// environment in which $HOME or $XDG_* may be unset or different.
//
// Profile names match [A-Za-z0-9][A-Za-z0-9._-]* (at most 128 bytes): a name
// becomes a path component and must not climb out of its root.
//
// # Writing
//
// WriteFile writes a temporary file beside the target (mode 0600), fsyncs
// it, renames it over the target and fsyncs the directory, using
// github.com/google/renameio/v2. Readers therefore need no lock: they see the
// old file or the new one, never a torn one, and a crash leaves one or the
// other. A file is never truncated in place.
//
// Caveat: this is only as atomic as rename(2) is on the file system. It holds
// on local POSIX file systems (ext4, xfs, btrfs, apfs, tmpfs); it does not
// hold on NFS and other network file systems, nor across mount points.
//
// CheckSavable writes, fsyncs and removes a throw-away file of the expected
// size in the target's directory, so that a full disk, a read-only mount or
// missing permission is found before a refresh token (which may be single-use
// and rotate) is spent, not after.
//
// A kill -9 during WriteFile or CheckSavable leaves a dot-file beside the
// target ("." + name + digits, or + ".check-" + digits); nothing reads them.
// RemoveTemps, called by the holder of the lock that every writer holds,
// clears them, which matters on a nearly full disk.
//
// # Locking
//
// AcquireLock takes flock(2) (github.com/gofrs/flock) on a dedicated lock
// file beside the token file. flock locks belong to an open file description
// and are released by the kernel when the holder exits, even by kill -9, so
// there are no stale locks to break. The lock file is never deleted: deleting
// it would let two processes lock two different inodes at the same path.
// The holder writes "pid=… cmd=… since=…" into the file, purely so that a
// waiter that gives up can name it.
//
// Caveats: flock is advisory, so only cooperating processes are excluded. On
// Linux it works on NFS only as an emulation through fcntl locks (and not at
// all on some older servers); on the few systems where gofrs/flock itself
// uses fcntl (AIX, Solaris) a lock is per process rather than per descriptor,
// so two Locks on the same file in one process do not exclude each other.
// Callers serialise in-process users themselves (refresh.Manager does).
package storage
