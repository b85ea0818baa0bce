package bench

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDropsOfInodeReadsTheLastColumn(t *testing.T) {
	table := filepath.Join(t.TempDir(), "udp")
	content := "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n" +
		"  12: 0100007F:A332 0100007F:A008 01 00000000:00000000 00:00000000 00000000     0        0 4242 2 0000000000000000 8511\n" +
		"  13: 0100007F:A333 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4243 2 0000000000000000 0\n"
	if err := os.WriteFile(table, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if n, ok := dropsOfInode(table, "4242"); !ok || n != 8511 {
		t.Errorf("drops of inode 4242 = %d, %v; want 8511", n, ok)
	}
	if _, ok := dropsOfInode(table, "999"); ok {
		t.Error("an absent inode was found")
	}
}
