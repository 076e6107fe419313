// Package kube keeps a profile's token record in a Kubernetes Secret, locked
// by a coordination.k8s.io/v1 Lease, so that the pods and hosts of one
// cluster share one grant without a store of their own. Store implements
// storage.Store, as storage/etcd's does, with the same host files (read
// copy, pending answer) and the same rules; docs/kubernetes.md is the
// guide.
//
// # Transport
//
// Client speaks the API server's REST API (JSON) with net/http and
// encoding/json only; client-go was not used for the reason the etcd store
// does not link etcd's client: Go initialises every linked package at
// start-up, and `tokenkeeper token` with the file store must not pay for
// it. The server and credentials are found as kubectl finds them (Connect):
// KUBECONFIG when set; else in a pod, the service account's token (read
// again for every request: the kubelet rotates it) and CA; else
// ~/.kube/config — a kubeconfig at its current context (a bearer token, a
// token file or a client certificate; a CA file or data).
// An exec credential plugin or an auth provider is refused: running another
// program for a credential is out of this store's scope. The kubeconfig is
// read only when the store is used, by the package's own small YAML parser
// (kubeconfig_yaml.go: what kubectl and the tools that write kubeconfigs
// write; anything else refused at its line and column, with the conversion
// to JSON as the hint) or, when it starts with "{", by encoding/json: a YAML
// library would add its package initialisation to every run.
//
// # Objects
//
//	Secret PREFIX-<profile>                  data.record: the token file's JSON
//	Lease  PREFIX-<profile>                  the lock: holderIdentity = host, pid, command
//	Secret PREFIX-<profile>.<label>-<time>   a record set aside: corrupt, logged-out, pulled
//
// Every object carries app.kubernetes.io/managed-by=tokenkeeper and
// tokenkeeper/prefix=PREFIX (set-aside ones tokenkeeper/set-aside=LABEL
// instead): refresh --all lists the Secrets with the prefix's label,
// metadata only. A Secret or Lease created empty beforehand (by a manifest,
// so that the Role needs no create) is used as it is.
//
// # The lock
//
// The Lease's leaseDurationSeconds is storage.LeaseTTL(--timeout,
// --lock-timeout), the rule of every shared store: timeout + 15 s, below the
// lock timeout. A holder renews it every quarter of that; a waiter takes it
// when it is free
// (holderIdentity empty, as Unlock leaves it) or when it has not changed
// for a whole duration by the waiter's own clock — never by comparing
// renewTime with the local clock, so hosts' clocks need not agree. Taking
// it is an update conditional on the resourceVersion read: of two takers,
// one gets a 409 and waits on.
//
// # Failure model
//
// Kubernetes has no transaction over two objects: unlike the etcd store,
// whose save succeeds only while the lock key still carries the holder's
// lease, a save here cannot make itself conditional on the Lease. What
// holds instead:
//
//   - A save is an update of the Secret conditional on the resourceVersion
//     read under the lock. A 409 means another holder wrote: the Secret is
//     read again, and nothing is ever overwritten; the answer goes to the
//     host's pending file, which the next run pushes only if the Secret is
//     still the version it was meant to replace (else it is kept aside,
//     named in a warning).
//   - No refresh request is sent with less of the Lease left than the
//     request may take (Locked.Expires, as for etcd); no save is sent once
//     the Lease may have run out by this holder's own clock, nor when the
//     Lease, read just before the save, names another holder (a takeover
//     while the token request was out): the answer goes to the pending
//     file.
//   - What remains open is a holder paused (a stopped VM, a frozen
//     container) between that read of the Lease and its save reaching the
//     API server, longer than the rest of its Lease. Another holder may
//     meanwhile take the Lease and spend the same refresh token. The
//     paused holder's save still cannot overwrite a newer record (the
//     resourceVersion condition); but if it lands first, the other's is
//     refused and kept pending, and the endpoint may have rotated both
//     answers' refresh tokens: one of them is stale. With etcd the paused
//     save is refused outright. A duration of --timeout + 15 s makes such
//     a pause a long one.
//
// # Failures
//
// A request the API server does not answer within the store's Timeout
// fails with an error matching storage.ErrUnavailable (exit 75; a valid
// read copy is served meanwhile). A 401 or 403 is a *storage.ConfigError
// (exit 78) naming the verb and the resource RBAC refused.
package kube
