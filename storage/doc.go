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
// directory plus "tokenkeeper": xdg_linux.go, adrg/xdg elsewhere) holds one
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
// On Windows (write_windows.go), where renameio does not work, the temporary
// file is created with a DACL of this user only, flushed, and moved over the
// target with MoveFileEx(REPLACE_EXISTING|WRITE_THROUGH); a directory cannot
// be flushed there, and the write-through move needs it not. Readers open
// files shared for deletion, and both sides retry a sharing violation for a
// moment (shareRetry): Windows refuses to replace a file that another process
// holds open without that sharing.
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
// # Reading
//
// Every file tokenkeeper reads goes through one reader (ReadFile, and the
// file store's Read): opened with O_NONBLOCK, so that a FIFO cannot hang a run;
// fstat'ed, so that only a regular file is read (a FIFO, device, socket or
// directory is a *RecordError naming the path, with a hint); and capped at
// MaxFileSize (1 MiB), so that /dev/zero or a 2 GB sparse file costs one MiB. A
// token file larger than the cap comes back cut, fails to parse, and is set
// aside as corrupt like any other.
//
// # The file store
//
// FileStore implements Store (the seam the lifecycle uses, shared with stores
// such as etcd) for a profile's token file. The token file may be a symbolic
// link to a regular file of this user (another user's file is refused): the
// lock is named after the resolved file, so two profile directories that reach
// one file through a link share one lock; the save check runs in the resolved
// file's directory; a save replaces the resolved file and the link stays. A
// dangling link is a *RecordError before the lock is taken, so before any
// request.
//
// # Locking
//
// AcquireLock takes flock(2) on a dedicated lock file beside the (resolved)
// token file. The lock file is opened with O_NOFOLLOW and must be a regular file
// owned by this user: a link planted in a shared directory would otherwise have
// the holder record written into whatever it points to. flock locks belong to
// an open file description and are released by the kernel when the holder
// exits, even by kill -9, so there are no stale locks to break. The lock file
// is never deleted: deleting it would let two processes lock two different
// inodes at the same path. The holder writes "pid=… cmd=… since=…" into the
// file, through the locked descriptor, purely so that a waiter that gives up
// can name it.
//
// Caveats: flock is advisory, so only cooperating processes are excluded. On
// Linux it works on NFS only as an emulation through fcntl locks (and not at
// all on some older servers). Two Locks on the same file in one process
// exclude each other (each has its own open file description), but callers
// serialise in-process users themselves anyway (refresh.Manager does).
//
// On Windows the lock is LockFileEx on one byte far beyond the holder record
// (Windows locks are mandatory: locking the record would stop a waiter from
// reading it), with the same timeout, holder text and release on exit; the
// lock file, too, is never deleted.
package storage
