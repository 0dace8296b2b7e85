package redisstore

import "testing"

func TestClusterReplicasUp(t *testing.T) {
	const (
		master = "a1 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-5460\n"
		other  = "b1 127.0.0.1:7001@17001 master - 0 0 2 connected 5461-10922\n"
	)
	tests := []struct {
		name  string
		table string
		want  int
	}{
		{"no replica", master + other, 0},
		{"two replicas", master + other +
			"r1 127.0.0.1:7003@17003 slave a1 0 0 1 connected\n" +
			"r2 127.0.0.1:7004@17004 slave a1 0 0 1 connected\n", 2},
		{"a replica of another master", master + other +
			"r3 127.0.0.1:7005@17005 slave b1 0 0 2 connected\n", 0},
		{"one failing, one suspected, one up", master + other +
			"r1 127.0.0.1:7003@17003 slave,fail a1 0 0 1 disconnected\n" +
			"r2 127.0.0.1:7004@17004 slave,fail? a1 0 0 1 connected\n" +
			"r4 127.0.0.1:7006@17006 slave a1 0 0 1 connected\n", 1},
		{"a dead former master", master + other +
			"d1 127.0.0.1:7007@17007 master,fail - 0 0 1 disconnected\n", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := clusterReplicasUp(tt.table); got != tt.want {
				t.Errorf("clusterReplicasUp = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestReplicasOnline(t *testing.T) {
	info := "# Replication\r\nrole:master\r\nconnected_slaves:2\r\n" +
		"slave0:ip=127.0.0.1,port=7003,state=online,offset=100,lag=0\r\n" +
		"slave1:ip=127.0.0.1,port=7004,state=wait_bgsave,offset=0,lag=0\r\nmaster_repl_offset:100\r\n"
	if got := replicasOnline(info); got != 1 {
		t.Errorf("replicasOnline = %d, want 1 (one online, one still synchronising)", got)
	}
}
