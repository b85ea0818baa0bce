// Package examples holds the files users copy to deploy the tunnel: client.json
// and server.json for -c, systemd units (systemd/), kernel settings
// (sysctl.d/) and a shadowsocks (SIP003) plugin setup (shadowsocks/). It has
// no code; its tests load the examples through the real config loader and
// check the units, so that the examples never rot.
package examples
