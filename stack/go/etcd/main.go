// Command etcd is the etcd v3.5 server, built from its Go module for the local stack
// (Debian's etcd-server 3.4.23 is older than kube-apiserver 1.32 accepts).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
