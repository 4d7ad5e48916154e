// Command etcd is etcd's own server entry point (etcdmain.Main, as in go.etcd.io/etcd/v3's
// main.go), built here so that its version is pinned by this module's go.mod.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
