module github.com/kcptun-go/tunnel

go 1.26.8

require (
	github.com/golang/snappy v1.0.0
	github.com/urfave/cli v1.22.16
	github.com/xtaci/kcp-go/v5 v5.6.72
	github.com/xtaci/qpp v1.1.18
	github.com/xtaci/smux v1.5.58
	golang.org/x/net v0.62.0
)

require (
	github.com/cpuguy83/go-md2man/v2 v2.0.5 // indirect
	github.com/klauspost/cpuid/v2 v2.2.6 // indirect
	github.com/klauspost/reedsolomon v1.12.0 // indirect
	github.com/pkg/errors v0.9.1 // indirect
	github.com/russross/blackfriday/v2 v2.1.0 // indirect
	github.com/tjfoc/gmsm v1.4.1 // indirect
	golang.org/x/crypto v0.59.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
	golang.org/x/time v0.14.0 // indirect
)
