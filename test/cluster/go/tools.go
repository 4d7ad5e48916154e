//go:build tools

// Package tools keeps the control-plane commands in go.mod; they are built with
// `go build k8s.io/kubernetes/cmd/kube-apiserver` and so on (see ../build.sh).
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
)
