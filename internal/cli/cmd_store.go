package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/spf13/pflag"

	"github.com/tokenkeeper/tokenkeeper/refresh"
	"github.com/tokenkeeper/tokenkeeper/storage"
)

func storeCommand() *command {
	var force bool
	return &command{
		name: "store", args: "push|pull [--force]", summary: "move the profile's token record into the --store, or out of it",
		long: `Move the profile's token record between this host's token file and the shared
store given by --store (TOKENKEEPER_STORE), under both locks, so that no refresh
token ever has two homes.

push saves the token file's record in the store, then renames the file to
refreshTokenObjectFile.json.pushed-<time>: from then on this host uses the store.
pull saves the store's record in the token file, then moves the store's record to
PREFIX/<profile>/pulled-<time>: from then on no host renews it through the store.

Either refuses, changing nothing, when the destination already holds another
record, unless --force.`,
		example: `TOKENKEEPER_STORE=etcd://10.0.0.1:2379 tokenkeeper store push
tokenkeeper --store etcd://10.0.0.1:2379/acme --profile eu store pull`,
		maxArgs:   1,
		validArgs: func(*app) []string { return []string{"push", "pull"} },
		flags: func(fs *pflag.FlagSet) func(*app, []string) int {
			fs.BoolVar(&force, "force", false, "replace another record at the destination")
			return func(a *app, args []string) int { return a.cmdStore(args, force) }
		},
	}
}

func (a *app) cmdStore(args []string, force bool) int {
	if len(args) != 1 || (args[0] != "push" && args[0] != "pull") {
		push := "store push"
		if a.g.store == "" { // "store push" alone would stop at the missing --store next
			push = "--store etcd://HOST:PORT[/PREFIX] " + push
		}
		return a.usageError("store: say push or pull", "run "+a.cmdLine(push)+" to move the token file into the store")
	}
	shared, err := a.sharedStore(a.paths)
	if err != nil {
		return a.fail(storeError(err))
	}
	if shared == nil {
		return a.usageError("store "+args[0]+": no --store given", "give the store: "+a.cmdLine("--store etcd://HOST:PORT[/PREFIX] store "+args[0]))
	}
	if err := a.requireProfile(); err != nil {
		return a.fail(err)
	}
	file := storage.OpenFileStore(a.paths, a.log)
	from, to := storage.Store(file), storage.Store(shared)
	if args[0] == "pull" {
		from, to = to, from
	}
	where, err := a.moveRecord(a.ctx, from, to, force, args[0])
	if err != nil {
		return a.fail(err)
	}
	a.info("%sed: the record of %s is now in %s; the old place was moved to %s", args[0], from.Name(), to.Name(), where)
	return exitOK
}

// moveRecord saves from's record in to and then moves from's record aside,
// holding both locks throughout (the source's first).
func (a *app) moveRecord(ctx context.Context, from, to storage.Store, force bool, verb string) (string, error) {
	holder := refresh.HolderText("tokenkeeper store " + verb)
	lf, err := from.Lock(ctx, a.g.lockTimeout, holder)
	if err != nil {
		return "", storeError(err)
	}
	defer lf.Unlock()
	lt, err := to.Lock(ctx, a.g.lockTimeout, holder)
	if err != nil {
		return "", storeError(err)
	}
	defer lt.Unlock()
	data, err := lf.Read(ctx)
	if errors.Is(err, fs.ErrNotExist) {
		return "", &refresh.Error{Kind: refresh.KindUnexpected, Err: err, Msg: fmt.Sprintf("store %s: there is no record in %s", verb, from.Name()),
			Hint: "nothing to move; run " + a.cmdLine("status") + " to see where the record is"}
	}
	if err != nil {
		return "", storeError(err)
	}
	if _, err := refresh.ParseFile(data); err != nil {
		return "", &refresh.Error{Kind: refresh.KindUnexpected, Err: err, Msg: fmt.Sprintf("store %s: %s is not a token record: %v", verb, from.Name(), err),
			Hint: "run " + a.cmdLine("refresh") + " first, which sets an unreadable record aside"}
	}
	old, err := lt.Read(ctx)
	switch {
	case err == nil && !bytes.Equal(old, data) && !force:
		return "", &refresh.Error{Kind: refresh.KindUnexpected, Msg: fmt.Sprintf("store %s: %s already holds another record", verb, to.Name()),
			Hint: "keep one of the two: run " + a.cmdLine("store "+verb+" --force") + " to replace it, or move the other way"}
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return "", storeError(err)
	}
	if err := lt.CheckSavable(ctx, len(data)); err != nil {
		return "", storeError(err)
	}
	if err := lt.Save(ctx, data); err != nil {
		return "", storeError(err)
	}
	return setAsideAs(ctx, lf, verb+"ed", from.Name())
}

// setAsideAs moves the source's record aside under a name that says where it
// went: "pushed" for the token file, "pulled" for the store's key.
func setAsideAs(ctx context.Context, l storage.Locked, label, name string) (string, error) {
	if s, ok := l.(interface {
		SetAsideAs(context.Context, string, time.Time) (string, error)
	}); ok {
		return s.SetAsideAs(ctx, label, time.Now())
	}
	where, err := storage.MoveAsideAs(name, label, time.Now())
	return where, storeError(err)
}

// storeError gives a store's failure its kind: unreachable or busy is for
// now (75), a store that cannot be used as configured (a certificate, RBAC,
// a kubeconfig) is for a person to fix (78, with the store's hint),
// anything else unexpected.
func storeError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, storage.ErrUnavailable) || errors.Is(err, storage.ErrLockBusy) {
		return &refresh.Error{Kind: refresh.KindTemporary, Err: err, Msg: err.Error(), Hint: "run it again later"}
	}
	if ce := (*storage.ConfigError)(nil); errors.As(err, &ce) {
		return &refresh.Error{Kind: refresh.KindCredentials, Err: err, Msg: ce.Error(), Hint: ce.Hint, Next: refresh.NextRunAgain}
	}
	return &refresh.Error{Kind: refresh.KindUnexpected, Err: err, Msg: err.Error()}
}
