//go:build !unix

package etcd

const nonblock = 0
