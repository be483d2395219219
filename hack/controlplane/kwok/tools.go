//go:build tools

// Package tools records the kwok main package built by `python -m localcluster build`.
package tools

import _ "sigs.k8s.io/kwok/cmd/kwok"
